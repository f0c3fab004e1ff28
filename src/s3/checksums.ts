/**
 * The payload checksums S3 clients send: `Content-MD5` and `x-amz-checksum-<algorithm>`
 * (in a header, or announced by `x-amz-trailer` and sent after an aws-chunked body).
 * Each is computed while the body streams through, never over a buffered copy.
 */
import { createHash, type Hash } from "node:crypto";
import { crc32 } from "node:zlib";
import { S3Error } from "./errors.ts";

/** A running checksum: update with each piece, then the base64 value S3 uses. */
export interface Checksum {
  update(data: Buffer): void;
  base64(): string;
}

/** The algorithms of `x-amz-checksum-*` this gateway verifies. */
export const CHECKSUM_ALGORITHMS = ["crc32", "crc32c", "sha1", "sha256", "crc64nvme"] as const;
/** One of {@link CHECKSUM_ALGORITHMS}. */
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** A fresh running checksum of `algorithm`. */
export function newChecksum(algorithm: ChecksumAlgorithm): Checksum {
  switch (algorithm) {
    case "crc32": {
      let value = 0;
      return {
        update: (d) => {
          value = crc32(d, value);
        },
        base64: () => u32(value),
      };
    }
    case "crc32c": {
      let value = 0;
      return {
        update: (d) => {
          value = crc32c(d, value);
        },
        base64: () => u32(value),
      };
    }
    case "crc64nvme": {
      let value = 0n;
      return {
        update: (d) => {
          value = crc64nvme(d, value);
        },
        base64: () => {
          const b = Buffer.alloc(8);
          b.writeBigUInt64BE(value);
          return b.toString("base64");
        },
      };
    }
    default:
      return hashChecksum(createHash(algorithm));
  }
}

/** The algorithm named by a header `x-amz-checksum-<name>`, or null. */
export function checksumAlgorithmOf(header: string): ChecksumAlgorithm | null {
  const name = header.toLowerCase().replace(/^x-amz-checksum-/, "");
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(name)
    ? (name as ChecksumAlgorithm)
    : null;
}

/** Throws BadDigest when `actual` (base64) differs from what the client sent. */
export function expectChecksum(what: string, sent: string, actual: string): void {
  if (sent.trim() !== actual)
    throw new S3Error(
      what === "Content-MD5" ? "BadDigest" : "BadDigest",
      `The ${what} you specified did not match the calculated checksum (sent ${sent.trim()}, computed ${actual}).`,
      400,
    );
}

function hashChecksum(hash: Hash): Checksum {
  return { update: (d) => hash.update(d), base64: () => hash.digest("base64") };
}

function u32(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b.toString("base64");
}

const CRC32C_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  return t;
})();

/** CRC-32C (Castagnoli), continuing from `previous`. */
export function crc32c(data: Buffer, previous = 0): number {
  let c = ~previous;
  for (const byte of data) c = (CRC32C_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

const CRC64_TABLE = (() => {
  const poly = 0x9a6c9329ac4bc9b5n;
  const t: bigint[] = [];
  for (let i = 0n; i < 256n; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1n ? poly ^ (c >> 1n) : c >> 1n;
    t.push(c);
  }
  return t;
})();

/** CRC-64/NVME, continuing from `previous` (slow: BigInt; rarely asked for). */
export function crc64nvme(data: Buffer, previous = 0n): bigint {
  const mask = 0xffffffffffffffffn;
  let c = ~previous & mask;
  for (const byte of data)
    c = (CRC64_TABLE[Number((c ^ BigInt(byte)) & 0xffn)] as bigint) ^ (c >> 8n);
  return ~c & mask;
}
