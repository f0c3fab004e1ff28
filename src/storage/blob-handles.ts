/**
 * A bounded cache of open blob descriptors. An operation borrows a handle for its
 * duration (`use`), so eviction, `forget` and `closeAll` never close a descriptor under
 * a read or write in progress: a borrowed handle is closed when its last borrower
 * returns it. Closing loses nothing: written pages stay in the page cache, and a later
 * fdatasync through a new descriptor flushes them (it syncs the file, not the fd).
 */
import type { FileHandle } from "node:fs/promises";

/** Opens a blob; `create`: make it if missing (else a missing blob throws ENOENT). */
export type BlobOpener = (name: string, create: boolean) => Promise<FileHandle>;

interface Slot {
  readonly handle: Promise<FileHandle>;
  users: number;
  /** Set once the slot left the cache: close when the last user is done. */
  retired: boolean;
}

/** Open descriptors by blob name, least recently used first. */
export class BlobHandles {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly maxOpen: number,
    private readonly opener: BlobOpener,
  ) {}

  /** Runs `fn` with the blob's handle, opening (and possibly creating) it first. */
  async use<T>(name: string, create: boolean, fn: (h: FileHandle) => Promise<T>): Promise<T> {
    const slot = this.acquire(name, create);
    try {
      return await fn(await slot.handle);
    } finally {
      slot.users--;
      if (slot.retired && slot.users === 0) await closeQuietly(slot.handle);
    }
  }

  /** Drops a blob's descriptor (before it is unlinked). */
  async forget(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (slot !== undefined) await this.retire(name, slot);
  }

  /** Closes every descriptor (those in use once their operation ends). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.slots].map(([name, slot]) => this.retire(name, slot)));
  }

  /** Descriptors currently cached (tests). */
  get openCount(): number {
    return this.slots.size;
  }

  private acquire(name: string, create: boolean): Slot {
    let slot = this.slots.get(name);
    if (slot !== undefined) {
      this.slots.delete(name); // re-inserted below: most recently used last
    } else {
      slot = { handle: this.opener(name, create), users: 0, retired: false };
      // A failed open must not stay cached; the error reaches the caller through `use`.
      slot.handle.catch(() => {
        if (this.slots.get(name) === slot) this.slots.delete(name);
      });
    }
    slot.users++;
    this.slots.set(name, slot);
    this.evict();
    return slot;
  }

  /** Closes the least recently used idle descriptors while more than maxOpen are open. */
  private evict(): void {
    for (const [name, slot] of this.slots) {
      if (this.slots.size <= this.maxOpen) return;
      if (slot.users === 0) void this.retire(name, slot);
    }
  }

  private async retire(name: string, slot: Slot): Promise<void> {
    if (this.slots.get(name) === slot) this.slots.delete(name);
    slot.retired = true;
    if (slot.users === 0) await closeQuietly(slot.handle);
  }
}

/** Closes a handle that may have failed to open; a close error loses nothing written. */
async function closeQuietly(handle: Promise<FileHandle>): Promise<void> {
  try {
    await (await handle).close();
  } catch {
    // The open failed (already reported to its caller) or the fd is gone already.
  }
}
