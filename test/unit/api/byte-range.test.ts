/**
 * Range math (src/api/byte-range.ts) on every edge a ranged read meets: the first byte,
 * the last, a range inside one chunk, across a chunk boundary, ending exactly on one, an
 * empty range, a length past the end, an offset past the end. Checked against a plain
 * model (slicing an array of bytes) over every small case, and on 1 MiB chunks.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { chunksOf, DfsError, resolveSpan, sliceOfChunk } from "../../../src/api/index.ts";

const MiB = 1024 * 1024;

/** The bytes the chunk math selects from `content` cut in chunks of `chunk` bytes. */
function readThroughChunks(content: Buffer, chunk: number, offset: number, length?: number) {
  const span = resolveSpan(content.length, offset, length);
  const { first, last } = chunksOf(span, chunk);
  const parts: Buffer[] = [];
  const touched: number[] = [];
  for (let seq = first; seq <= last; seq++) {
    touched.push(seq);
    const data = content.subarray(seq * chunk, (seq + 1) * chunk);
    const part = sliceOfChunk(span, seq, chunk);
    parts.push(data.subarray(part.start, part.end));
  }
  return { bytes: Buffer.concat(parts), touched };
}

test("every range of every small content equals a plain slice, touching only needed chunks", () => {
  for (const chunk of [1, 3, 4]) {
    for (let size = 0; size <= 13; size++) {
      const content = Buffer.from(Array.from({ length: size }, (_, i) => i + 1));
      for (let offset = 0; offset <= size; offset++) {
        for (const length of [undefined, 0, 1, 2, 3, 5, 100]) {
          const { bytes, touched } = readThroughChunks(content, chunk, offset, length);
          const end = length === undefined ? size : Math.min(size, offset + length);
          const where = `chunk ${chunk} size ${size} offset ${offset} length ${length}`;
          assert.deepEqual(bytes, content.subarray(offset, end), where);
          const needed = [];
          for (let seq = 0; seq * chunk < size; seq++)
            if (offset < end && seq * chunk < end && (seq + 1) * chunk > offset) needed.push(seq);
          assert.deepEqual(touched, needed, `${where}: chunks read`);
        }
      }
    }
  }
});

test("1 MiB chunks: first byte, last byte, across a boundary, ending on one", () => {
  const size = 3 * MiB + 5;
  assert.deepEqual(chunksOf(resolveSpan(size, 0, 1), MiB), { first: 0, last: 0 });
  assert.deepEqual(chunksOf(resolveSpan(size, size - 1, 1), MiB), { first: 3, last: 3 });
  assert.deepEqual(chunksOf(resolveSpan(size, MiB - 1, 2), MiB), { first: 0, last: 1 });
  assert.deepEqual(chunksOf(resolveSpan(size, MiB, MiB), MiB), { first: 1, last: 1 });
  assert.deepEqual(chunksOf(resolveSpan(size, 2 * MiB), MiB), { first: 2, last: 3 });
  assert.deepEqual(sliceOfChunk(resolveSpan(size, MiB - 1, 2), 1, MiB), { start: 0, end: 1 });
});

test("empty ranges read no chunk; a length past the end is cut there", () => {
  assert.deepEqual(chunksOf(resolveSpan(10, 10), 4), { first: 0, last: -1 });
  assert.deepEqual(chunksOf(resolveSpan(10, 3, 0), 4), { first: 0, last: -1 });
  assert.deepEqual(chunksOf(resolveSpan(0, 0), 4), { first: 0, last: -1 });
  assert.deepEqual(resolveSpan(10, 8, 1000), { start: 8, end: 10 });
});

test("an offset past the end, negative or fractional numbers are invalid_argument", () => {
  for (const [offset, length] of [
    [11, undefined],
    [-1, undefined],
    [0.5, undefined],
    [0, -1],
    [0, 1.5],
  ] as const) {
    assert.throws(
      () => resolveSpan(10, offset, length),
      (e: unknown) => e instanceof DfsError && e.code === "invalid_argument",
      `offset ${offset} length ${length}`,
    );
  }
  assert.match(
    (() => {
      try {
        resolveSpan(10, 11);
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })(),
    /range offset 11 is past the end \(the content has 10 bytes\)/,
  );
});
