/**
 * Exact-size protobuf writing for the messages that carry values (peer batches, log
 * commands). The generated encoders grow a buffer by doubling and copy the result out of
 * it, and the generated gRPC serializers copy it once more: a 1 MiB value became ~4 MiB of
 * fresh buffers per encode, and that garbage drove the servers' mark-compact GCs. Here the
 * size is computed first and the bytes are written once into a buffer of exactly that size.
 * Output is byte-identical to the generated encoders (proto3: default values omitted,
 * fields in declaration order), which the tests check.
 */

/** Protobuf wire types used here. */
const VARINT = 0;
const LEN = 2;

/** Bytes of `n` (an integer in [0, 2^53)) as a varint. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Bytes of an unsigned integer field; 0 when the value is the default (omitted). */
export function uintFieldSize(field: number, n: number): number {
  return n === 0 ? 0 : varintSize(field << 3) + varintSize(n);
}

/** Bytes of a field that is always written (a proto3 `optional` that is set). */
export function presentUintFieldSize(field: number, n: number): number {
  return varintSize(field << 3) + varintSize(n);
}

/** Bytes of a length-delimited field with a payload of `length` bytes (0: omitted). */
export function bytesFieldSize(field: number, length: number): number {
  return length === 0 ? 0 : lengthDelimitedSize(field, length);
}

/** Bytes of an embedded message (always written, even when empty). */
export function lengthDelimitedSize(field: number, length: number): number {
  return varintSize(field << 3) + varintSize(length) + length;
}

/** Writes fields into a buffer of exactly the size computed with the functions above. */
export class ProtoWriter {
  /** The buffer being filled; {@link finish} checks that it was filled exactly. */
  readonly buf: Buffer;
  private pos = 0;

  /** `into`: a buffer of exactly `size` bytes to fill (default: a new one). */
  constructor(size: number, into?: Buffer) {
    if (into !== undefined && into.length !== size) {
      throw new Error(`protobuf buffer of ${into.length} bytes for a ${size}-byte message`);
    }
    this.buf = into ?? Buffer.allocUnsafe(size);
  }

  /** A bare varint (no tag). */
  varint(n: number): this {
    const buf = this.buf;
    while (n >= 128) {
      buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    buf[this.pos++] = n;
    return this;
  }

  /** An unsigned integer field, omitted when 0. */
  uint(field: number, n: number): this {
    return n === 0 ? this : this.varint((field << 3) | VARINT).varint(n);
  }

  /** An unsigned integer field written even when 0 (a set proto3 `optional`). */
  presentUint(field: number, n: number): this {
    return this.varint((field << 3) | VARINT).varint(n);
  }

  /** A bool field, omitted when false. */
  bool(field: number, b: boolean): this {
    return b ? this.varint((field << 3) | VARINT).varint(1) : this;
  }

  /** A bytes field, omitted when empty. */
  bytes(field: number, data: Uint8Array): this {
    if (data.length === 0) return this;
    this.lengthPrefix(field, data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  /** A string field of `byteLength` UTF-8 bytes, omitted when empty. */
  string(field: number, s: string, byteLength: number): this {
    if (byteLength === 0) return this;
    this.lengthPrefix(field, byteLength);
    this.pos += this.buf.write(s, this.pos, "utf8");
    return this;
  }

  /** Bytes copied as they are (already encoded fields, e.g. the rest of a payload). */
  raw(data: Uint8Array): this {
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  /** The tag and length of an embedded message whose fields the caller writes next. */
  lengthPrefix(field: number, length: number): this {
    return this.varint((field << 3) | LEN).varint(length);
  }

  /** The filled buffer; throws if the sizes computed beforehand were wrong (a bug). */
  finish(): Buffer {
    if (this.pos !== this.buf.length) {
      throw new Error(`protobuf size mismatch: wrote ${this.pos} of ${this.buf.length} bytes`);
    }
    return this.buf;
  }
}

/** Bytes of `s` in UTF-8. */
export function utf8Length(s: string): number {
  return s.length === 0 ? 0 : Buffer.byteLength(s, "utf8");
}
