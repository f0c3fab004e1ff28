/**
 * The byte format in which a state-machine snapshot travels: a sequence of the store's
 * own records, grouped into chunks of about {@link IMAGE_CHUNK_BYTES} so that neither side
 * ever holds the whole snapshot in memory. A record never spans two chunks.
 *
 *     record: u32 keyBytes | u32 valueBytes | key (UTF-8) | value
 */

/** Target size of one chunk (one gRPC message): large enough to stream fast, small enough to stay cheap. */
export const IMAGE_CHUNK_BYTES = 1024 * 1024;

/** One record of the store, as it is shipped. */
export interface ImageRecord {
  readonly key: string;
  readonly value: Buffer;
}

/** Groups records into chunks; `add` returns a full chunk when one is ready. */
export class ImageChunker {
  private parts: Buffer[] = [];
  private bytes = 0;

  /** Adds a record; returns a chunk to send if the current one is full. */
  add(record: ImageRecord): Buffer | null {
    const key = Buffer.from(record.key);
    const size = 8 + key.length + record.value.length;
    const ready = this.bytes > 0 && this.bytes + size > IMAGE_CHUNK_BYTES ? this.flush() : null;
    const header = Buffer.allocUnsafe(8);
    header.writeUInt32LE(key.length, 0);
    header.writeUInt32LE(record.value.length, 4);
    this.parts.push(header, key, Buffer.from(record.value));
    this.bytes += size;
    return ready;
  }

  /** The last, partly filled chunk (null if empty). */
  flush(): Buffer | null {
    if (this.bytes === 0) return null;
    const chunk = Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    return chunk;
  }
}

/** Splits a chunk back into records; throws on a malformed chunk. */
export function parseChunk(chunk: Buffer): ImageRecord[] {
  const records: ImageRecord[] = [];
  let p = 0;
  while (p < chunk.length) {
    if (p + 8 > chunk.length) throw new Error(`snapshot chunk: truncated record header at ${p}`);
    const keyBytes = chunk.readUInt32LE(p);
    const valueBytes = chunk.readUInt32LE(p + 4);
    const end = p + 8 + keyBytes + valueBytes;
    if (end > chunk.length) throw new Error(`snapshot chunk: record at ${p} runs past the chunk`);
    const key = chunk.subarray(p + 8, p + 8 + keyBytes).toString();
    records.push({ key, value: chunk.subarray(p + 8 + keyBytes, end) });
    p = end;
  }
  return records;
}
