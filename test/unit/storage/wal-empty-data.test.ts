/**
 * Regression: an entry with empty data (every new leader's no-op) must be stored with a
 * correct checksum whatever kind of empty array carries it. zlib's crc32 of a zero-length
 * array without a backing store returned 0 instead of the running checksum, so a leader's
 * WAL was refused as corrupt on its next start (found by kill -9 of a leader under load).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { Wal } from "../../../src/storage/index.ts";
import { tempDir } from "./fixtures.ts";

const EMPTY_FORMS: Record<string, () => Uint8Array> = {
  "new Uint8Array(0)": () => new Uint8Array(0),
  "Uint8Array over an empty ArrayBuffer": () => new Uint8Array(new ArrayBuffer(0)),
  "Buffer.alloc(0)": () => Buffer.alloc(0),
  "empty subarray": () => new Uint8Array(8).subarray(8),
};

for (const [name, make] of Object.entries(EMPTY_FORMS)) {
  test(`an entry whose data is ${name} survives a reopen`, async (t) => {
    const dir = join(await tempDir(t), "wal");
    const { wal } = await Wal.open(dir);
    const noop: Entry = { term: 1, index: 1, kind: EntryKind.Noop, data: make() };
    const next: Entry = { term: 1, index: 2, kind: EntryKind.Normal, data: Buffer.from("after") };
    await wal.save([noop], { term: 1, vote: 1, commit: 0 });
    await wal.save([next], null);
    await wal.close();
    const { wal: again, contents } = await Wal.open(dir);
    await again.close();
    assert.equal(contents.entries.length, 2);
    assert.equal(contents.entries[0]?.data.length, 0);
    assert.equal(Buffer.from(contents.entries[1]?.data ?? []).toString(), "after");
  });
}
