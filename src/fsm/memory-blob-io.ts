/**
 * A {@link BlobIo} in memory, every write durable at once: the in-memory store's default
 * and the unit tests'. (The simulator models lost and torn writes with a BlobIo of its
 * own.)
 */
import { assertBlobName, type BlobIo } from "../storage/index.ts";

/** Blobs as growable buffers in a Map. */
export class MemoryBlobIo implements BlobIo {
  private readonly files = new Map<string, Buffer>();

  async write(name: string, offset: number, data: Uint8Array): Promise<void> {
    assertBlobName(name);
    const old = this.files.get(name) ?? Buffer.alloc(0);
    const end = offset + data.byteLength;
    const next = end > old.length ? Buffer.alloc(end) : old;
    if (next !== old) old.copy(next);
    next.set(data, offset);
    this.files.set(name, next);
  }

  async sync(names: readonly string[]): Promise<void> {
    for (const name of names) assertBlobName(name);
  }

  async read(name: string, offset: number, length: number): Promise<Buffer> {
    const file = this.files.get(name);
    if (file === undefined) throw new Error(`blob ${name} does not exist`);
    if (offset + length > file.length)
      throw new Error(`blob ${name} holds ${file.length} bytes, read wants ${offset + length}`);
    return Buffer.from(file.subarray(offset, offset + length));
  }

  async size(name: string): Promise<number | undefined> {
    return this.files.get(name)?.length;
  }

  async unlink(name: string): Promise<void> {
    this.files.delete(name);
  }

  async list(): Promise<string[]> {
    return [...this.files.keys()];
  }

  async closeAll(): Promise<void> {}
}
