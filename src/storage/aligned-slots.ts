/**
 * Memory for direct I/O (O_DIRECT): the kernel moves the bytes straight between the
 * buffer and the device, so the buffer's address, the file offset and the length must all
 * be multiples of the device's logical block size. Node's Buffers come from malloc and sit
 * 16 bytes past a page boundary, so they cannot be used; a WebAssembly memory's backing
 * store is page-aligned, so slots cut from it at multiples of {@link DIRECT_ALIGN} are
 * aligned for every block size up to a page. A fixed pool of slots bounds the memory the
 * blob store's direct writes take (and how many run at once).
 */

/** Alignment of offsets, lengths and buffer addresses for direct I/O (4 KiB sectors too). */
export const DIRECT_ALIGN = 4096;

/** A WebAssembly memory page (the unit its size is given in). */
const WASM_PAGE_BYTES = 64 * 1024;

/** The engine's WebAssembly memory (its types live in the DOM library, not Node's). */
interface WasmMemoryConstructor {
  new (size: { initial: number; maximum: number }): { readonly buffer: ArrayBuffer };
}
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } })
  .WebAssembly.Memory;

/** Whether a write of `length` bytes at `offset` can go through a slot of `slotBytes`. */
export function isDirectWritable(offset: number, length: number, slotBytes: number): boolean {
  return (
    length > 0 && length <= slotBytes && offset % DIRECT_ALIGN === 0 && length % DIRECT_ALIGN === 0
  );
}

/** A fixed number of aligned buffers, lent one at a time; borrowers beyond that wait. */
export class AlignedSlots {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((slot: Buffer) => void)[] = [];

  /**
   * Throws (a RangeError from the engine) when the memory cannot be reserved, e.g. under
   * a small `ulimit -v`: the caller then writes through the page cache instead.
   */
  constructor(
    readonly count: number,
    /** Bytes per slot: a multiple of 64 KiB. */
    readonly slotBytes: number,
  ) {
    if (count < 1 || slotBytes < WASM_PAGE_BYTES || slotBytes % WASM_PAGE_BYTES !== 0) {
      throw new RangeError(`aligned slots: ${count} of ${slotBytes} bytes`);
    }
    const pages = (count * slotBytes) / WASM_PAGE_BYTES;
    const memory = new WasmMemory({ initial: pages, maximum: pages });
    for (let i = 0; i < count; i++) {
      this.free.push(Buffer.from(memory.buffer, i * slotBytes, slotBytes));
    }
  }

  /** A slot, as soon as one is free (first come, first served). */
  acquire(): Promise<Buffer> {
    const slot = this.free.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Returns a slot lent by {@link acquire}. */
  release(slot: Buffer): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(slot);
    else this.free.push(slot);
  }

  /** Slots not lent out (tests). */
  get idle(): number {
    return this.free.length;
  }
}
