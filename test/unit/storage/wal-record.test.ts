/**
 * The record codec on its own (src/storage/wal-record.ts): framing verdicts at every
 * boundary, and every way a payload whose checksum matched can still make no sense. The
 * WAL tests reach these only through whole files, where a checksum failure comes first;
 * mutation testing (docs/mutation.md) showed the decoder's own checks unpinned.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crc32 } from "node:zlib";
import { EntryKind } from "../../../src/raft/types.ts";
import {
  decodePayload,
  encodeBatch,
  encodeSegmentHeader,
  MAX_PAYLOAD_BYTES,
  RecordType,
  readFrame,
  readU64,
  SEGMENT_HEADER_BYTES,
} from "../../../src/storage/wal-record.ts";
import { SEGMENT_HEADER } from "./fixtures.ts";

/** A framed record of `type` around `payload`, with a correct checksum. */
function frame(type: number, payload: Buffer): Buffer {
  const buf = Buffer.alloc(9 + payload.length);
  buf.writeUInt32LE(payload.length, 0);
  buf.writeUInt8(type, 8);
  payload.copy(buf, 9);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** u64 values as the WAL writes them (two u32 halves, low first). */
function u64s(...values: number[]): Buffer {
  const buf = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => {
    buf.writeUInt32LE(v % 2 ** 32, 8 * i);
    buf.writeUInt32LE(Math.floor(v / 2 ** 32), 8 * i + 4);
  });
  return buf;
}

/** A u64 whose high word is above a safe integer's. */
const UNSAFE = Buffer.from([0, 0, 0, 0, 0, 0, 0x20, 0]);

describe("WAL record codec", () => {
  test("readU64 reads both halves and refuses values past a safe integer", () => {
    assert.equal(readU64(u64s(2 ** 40 + 7), 0), 2 ** 40 + 7);
    assert.equal(readU64(u64s(Number.MAX_SAFE_INTEGER), 0), Number.MAX_SAFE_INTEGER);
    assert.equal(readU64(UNSAFE, 0), -1);
  });

  test("a segment header is 58 bytes: log start then hard state, each with its checksum", () => {
    assert.equal(SEGMENT_HEADER_BYTES, SEGMENT_HEADER);
    const h = encodeSegmentHeader(6, 2, { term: 3, vote: 1, commit: 5 });
    assert.equal(h.length, SEGMENT_HEADER_BYTES);
    const first = readFrame(h, 0);
    assert.ok(first.ok);
    assert.deepEqual(decodePayload(first.type, first.payload), {
      ok: true,
      record: { type: RecordType.LogStart, prevIndex: 6, prevTerm: 2 },
    });
    const second = readFrame(h, first.end);
    assert.ok(second.ok);
    assert.equal(second.end, SEGMENT_HEADER_BYTES);
    assert.deepEqual(decodePayload(second.type, second.payload), {
      ok: true,
      record: { type: RecordType.HardState, hardState: { term: 3, vote: 1, commit: 5 } },
    });
  });

  test("a batch references entry data and hands no empty buffer to writev", () => {
    const data = new Uint8Array([1, 2, 3]);
    const empty = new Uint8Array(0);
    const { buffers, bytes } = encodeBatch(
      [
        { term: 1, index: 1, kind: EntryKind.Noop, data: empty },
        { term: 1, index: 2, kind: EntryKind.Normal, data },
      ],
      null,
    );
    assert.equal(buffers.length, 3, "header, header, data: the no-op has no data buffer");
    assert.ok(buffers.every((b) => b.length > 0));
    assert.equal(buffers[2], data, "data is referenced, not copied");
    assert.equal(bytes, 26 + 26 + 3);
  });

  describe("framing", () => {
    test("a record with an empty payload that ends the buffer is complete", () => {
      const f = readFrame(frame(9, Buffer.alloc(0)), 0);
      assert.deepEqual(f.ok && [f.type, f.payload.length, f.end], [9, 0, 9]);
    });

    test("fewer than 9 bytes left is a truncated header", () => {
      assert.deepEqual(readFrame(Buffer.alloc(8), 0), {
        ok: false,
        reason: "truncated header",
        end: null,
      });
      assert.deepEqual(readFrame(frame(2, u64s(1, 2, 3)), 40), {
        ok: false,
        reason: "truncated header",
        end: null,
      });
    });

    test("a length past MAX_PAYLOAD_BYTES is absurd; up to it, a record that runs past the end", () => {
      const header = Buffer.alloc(9);
      header.writeUInt32LE(MAX_PAYLOAD_BYTES + 1, 0);
      assert.deepEqual(readFrame(header, 0), {
        ok: false,
        reason: `absurd record length ${MAX_PAYLOAD_BYTES + 1}`,
        end: null,
      });
      header.writeUInt32LE(MAX_PAYLOAD_BYTES, 0);
      assert.deepEqual(readFrame(header, 0), {
        ok: false,
        reason: "record runs past end of file",
        end: null,
      });
    });

    test("a record one byte longer than the buffer runs past the end, even if a checksum fits", () => {
      const rec = frame(2, u64s(1, 2, 3));
      const cut = rec.subarray(0, rec.length - 1);
      assert.deepEqual(readFrame(cut, 0), {
        ok: false,
        reason: "record runs past end of file",
        end: null,
      });
    });

    test("a checksum mismatch reports where the record ends", () => {
      const rec = frame(2, u64s(1, 2, 3));
      rec[12] = (rec[12] as number) ^ 1;
      assert.deepEqual(readFrame(rec, 0), { ok: false, reason: "checksum mismatch", end: 33 });
    });
  });

  describe("payloads", () => {
    const entry = (term: number, index: number, kind: number, data = Buffer.alloc(0)) =>
      Buffer.concat([u64s(term, index), Buffer.from([kind]), data]);

    test("an entry decodes with its data copied", () => {
      const payload = entry(4, 9, EntryKind.Normal, Buffer.from([7, 8]));
      const d = decodePayload(RecordType.Entry, payload);
      assert.ok(d.ok && d.record.type === RecordType.Entry);
      assert.deepEqual(d.record.entry, {
        term: 4,
        index: 9,
        kind: EntryKind.Normal,
        data: new Uint8Array([7, 8]),
      });
      payload[17] = 0;
      assert.equal(d.record.entry.data[0], 7, "not a view of the segment buffer");
    });

    test("an entry of term 0 at index 1 is fine; index 0 or an unsafe number is not", () => {
      assert.equal(decodePayload(RecordType.Entry, entry(0, 1, EntryKind.Noop)).ok, true);
      assert.deepEqual(decodePayload(RecordType.Entry, entry(1, 0, EntryKind.Normal)), {
        ok: false,
        reason: "invalid entry term 1 / index 0",
      });
      const unsafeTerm = Buffer.concat([UNSAFE, u64s(3), Buffer.from([1])]);
      assert.deepEqual(decodePayload(RecordType.Entry, unsafeTerm), {
        ok: false,
        reason: "invalid entry term -1 / index 3",
      });
    });

    test("an entry too short or of an unknown kind is refused", () => {
      assert.deepEqual(decodePayload(RecordType.Entry, Buffer.alloc(16)), {
        ok: false,
        reason: "entry payload too short (16 bytes)",
      });
      assert.deepEqual(decodePayload(RecordType.Entry, entry(1, 1, 9)), {
        ok: false,
        reason: "unknown entry kind 9",
      });
    });

    test("a hard state is exactly 24 bytes of safe numbers", () => {
      assert.deepEqual(decodePayload(RecordType.HardState, Buffer.alloc(23)), {
        ok: false,
        reason: "hard-state payload of 23 bytes",
      });
      for (const at of [0, 8, 16]) {
        const payload = u64s(1, 2, 3);
        UNSAFE.copy(payload, at);
        assert.deepEqual(decodePayload(RecordType.HardState, payload), {
          ok: false,
          reason: "hard-state value out of range",
        });
      }
    });

    test("a log start is exactly 16 bytes of safe numbers", () => {
      assert.deepEqual(decodePayload(RecordType.LogStart, Buffer.alloc(24)), {
        ok: false,
        reason: "log-start payload of 24 bytes",
      });
      for (const at of [0, 8]) {
        const payload = u64s(5, 2);
        UNSAFE.copy(payload, at);
        assert.deepEqual(decodePayload(RecordType.LogStart, payload), {
          ok: false,
          reason: "log-start value out of range",
        });
      }
    });

    test("an unknown record type is refused whatever its payload", () => {
      for (const type of [0, 4, 255]) {
        assert.deepEqual(decodePayload(type, u64s(5, 2)), {
          ok: false,
          reason: `unknown record type ${type}`,
        });
      }
    });
  });
});
