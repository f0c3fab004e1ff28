/**
 * The file-transfer codecs (src/wire/bulk-codecs.ts) speak exactly the generated codec's
 * protobuf: every message either encodes decodes back to itself through the other, and
 * a data-only message comes out as a view of the bytes it was decoded from, never a copy.
 * Random messages come from a seeded Rng; a failure prints its seed and replay command.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { DownloadResponse, UploadRequest } from "../../../src/gen/dfs.ts";
import {
  decodeDownloadResponse,
  decodeUploadRequest,
  encodeDownloadResponse,
  encodeUploadRequest,
  soleBytesField,
} from "../../../src/wire/index.ts";
import { Rng } from "../../support/rng.ts";

const SEEDS = 300;

function bytes(rng: Rng, max: number): Buffer {
  const lengths = [0, 1, 127, 128, 16_383, 16_384, rng.int(max + 1)];
  const out = Buffer.alloc(lengths[rng.int(lengths.length)] as number);
  for (let i = 0; i < out.length; i += 97) out[i] = rng.int(256);
  return out;
}

function randomDownload(rng: Rng): DownloadResponse {
  const info = rng.chance(0.3)
    ? {
        size: rng.int(1 << 30),
        sha256: bytes(rng, 32),
        version: rng.int(1000),
        modIndex: rng.int(1000),
        modTimeMs: rng.int(2 ** 31),
        chunks: rng.int(5000),
        metadata: (rng.chance(0.5) ? { "content-type": "text/plain" } : {}) as Record<
          string,
          string
        >,
      }
    : undefined;
  return { info, data: bytes(rng, 70_000) };
}

function randomUpload(rng: Rng): UploadRequest {
  const middle = rng.chance(0.6);
  return {
    key: middle || rng.chance(0.5) ? "" : `dir/key-${rng.int(100)}`,
    ifVersion: !middle && rng.chance(0.3) ? rng.int(50) : undefined,
    session:
      !middle && rng.chance(0.3)
        ? { clientId: `c${rng.int(9)}`, sequence: 1 + rng.int(99), firstIncomplete: 1 }
        : undefined,
    data: bytes(rng, 70_000),
    sha256: !middle && rng.chance(0.5) ? bytes(rng, 32) : Buffer.alloc(0),
    done: !middle && rng.chance(0.5),
    metadata: !middle && rng.chance(0.3) ? { a: "b" } : {},
  };
}

function roundTrips<M>(
  name: string,
  random: (rng: Rng) => M,
  ours: { encode: (m: M) => Buffer; decode: (b: Buffer) => M },
  generated: { encode: (m: M) => { finish(): Uint8Array }; decode: (b: Uint8Array) => M },
): void {
  test(`${name}: ours and the generated codec agree both ways (${SEEDS} seeds)`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const message = random(new Rng(seed));
      const replay = `seed ${seed}: node --import tsx --test --test-name-pattern="${name}" test/unit/wire/bulk-codecs.test.ts`;
      const mine = ours.encode(message);
      const theirs = Buffer.from(generated.encode(message).finish());
      assert.deepEqual(mine, theirs, `same bytes on the wire, ${replay}`);
      assert.deepEqual(ours.decode(theirs), generated.decode(theirs), replay);
      assert.deepEqual(generated.decode(mine), message, replay);
    }
  });
}

roundTrips(
  "Download",
  randomDownload,
  {
    encode: encodeDownloadResponse,
    decode: decodeDownloadResponse,
  },
  DownloadResponse,
);
roundTrips(
  "Upload",
  randomUpload,
  {
    encode: encodeUploadRequest,
    decode: decodeUploadRequest,
  },
  UploadRequest,
);

test("a data-only message decodes to a view of its own bytes, not a copy", () => {
  const data = Buffer.alloc(1 << 20, 7);
  const down = encodeDownloadResponse({ info: undefined, data });
  const decoded = decodeDownloadResponse(down).data;
  assert.equal(decoded.buffer, down.buffer);
  assert.equal(decoded.byteOffset, down.byteOffset + down.length - data.length);
  const up = encodeUploadRequest(UploadRequest.fromPartial({ data }));
  assert.equal(decodeUploadRequest(up).data.buffer, up.buffer);
});

test("only one field spanning the whole message is read as data-only", () => {
  const only = Buffer.from([18, 3, 1, 2, 3]);
  assert.deepEqual(soleBytesField(only, 2), Buffer.from([1, 2, 3]));
  // a non-minimal length varint is still protobuf
  assert.deepEqual(
    soleBytesField(Buffer.from([18, 0x83, 0x00, 1, 2, 3]), 2),
    Buffer.from([1, 2, 3]),
  );
  assert.equal(soleBytesField(Buffer.from([18, 2, 1, 2, 3]), 2), undefined, "trailing byte");
  assert.equal(soleBytesField(Buffer.from([18, 4, 1, 2, 3]), 2), undefined, "short data");
  assert.equal(soleBytesField(Buffer.from([18, 3, 1, 2, 3, 18, 0]), 2), undefined, "repeated");
  assert.equal(soleBytesField(Buffer.from([34, 3, 1, 2, 3]), 2), undefined, "other field");
  assert.equal(soleBytesField(Buffer.from([18]), 2), undefined, "no length");
  const endless = Buffer.from([18, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  assert.equal(soleBytesField(endless, 2), undefined, "a length longer than 5 bytes");
  // a malformed message still fails in the generated decoder, as before
  assert.throws(() => decodeDownloadResponse(Buffer.from([18, 9, 1])));
});
