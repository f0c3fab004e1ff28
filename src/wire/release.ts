/**
 * Giving a large buffer's memory back at once, instead of at V8's next full collection.
 *
 * A Buffer's bytes live outside V8's heap; V8 frees them only when it collects the
 * Buffer, and it starts a full collection only once about 64 MB more of them exist than
 * after the last one. A leader streaming a file allocates several MiB of buffers per MiB
 * (bench/README.md, sessions 6 and 7), so up to ~64 MB of dead ones sat in its anonymous
 * memory at any moment, and glibc then kept the pages. A buffer whose last reader is
 * known (a peer batch once HTTP/2 has written it, an upload message once its chunk was
 * copied into the command) is detached there: its memory goes back to the allocator,
 * which hands the same warm pages to the next buffer of that size.
 */

/** What Node 22+ offers natively (ES2024); Node 20 has it behind a flag only. */
interface Transferable {
  transfer?: (length: number) => ArrayBuffer;
}

/**
 * Releases the memory under `buf` if `buf` spans its whole ArrayBuffer but for at most
 * `slack` bytes (a message's framing around its payload). The caller promises that no
 * other view of that ArrayBuffer is read afterwards: every view of it reads as empty
 * from now on. Returns the bytes released (0: not owned, too small to matter, or shared).
 */
export function releaseBuffer(buf: Uint8Array, slack = 0): number {
  const ab = buf.buffer;
  if (!(ab instanceof ArrayBuffer)) return 0; // shared memory is never ours alone
  const size = ab.byteLength;
  if (size < MIN_RELEASE_BYTES || buf.byteLength + slack < size) return 0;
  const transfer = (ab as Transferable).transfer;
  if (typeof transfer === "function") {
    transfer.call(ab, 0); // detaches and frees at once
  } else {
    // Node 20: moving the memory to a new ArrayBuffer detaches this one; the new one is
    // dropped at once and dies young, so the next scavenge frees it (milliseconds).
    structuredClone(ab, { transfer: [ab] });
  }
  return size;
}

/**
 * Smallest buffer worth releasing: Node pools Buffers under 4 KiB in shared 8 KiB slabs
 * (never ours alone), and small ones die young and cheaply anyway.
 */
export const MIN_RELEASE_BYTES = 64 * 1024;
