/**
 * The write path's order (issue 22): every chunk's bytes are written and synced in its
 * blob strictly before the WAL write that names them, the WAL gets only stored forms,
 * and the core swaps in the stored forms only after it was advanced.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeCommand, encodeCommand, StoredFormError } from "../../../src/fsm/index.ts";
import { type Entry, EntryKind, type HardState } from "../../../src/raft/index.ts";
import { BlobLogWriter } from "../../../src/server/loop/blob-log-writer.ts";
import type { LogWriter } from "../../../src/server/loop/ports.ts";
import type { BlobIo } from "../../../src/storage/index.ts";

const U1 = "11111111111111111111111111111111";
const U2 = "22222222222222222222222222222222";
const MiB = 1024 * 1024;

function chunkEntry(index: number, uploadId: string, seq: number, data: Buffer): Entry {
  const payload = encodeCommand({ op: "upload_chunk", uploadId, seq, data, timeMs: 5 });
  return { term: 2, index, kind: EntryKind.Normal, data: payload };
}

function putEntry(index: number): Entry {
  const payload = encodeCommand({ op: "put", key: `k${index}`, value: Buffer.from("v") });
  return { term: 2, index, kind: EntryKind.Normal, data: payload };
}

/** Fakes that record calls into one list; blob writes and syncs finish on the next tick. */
function fakes() {
  const events: string[] = [];
  const walSaves: { entries: readonly Entry[]; hs: HardState | null }[] = [];
  const later = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const blobs: BlobIo = {
    write: async (name, offset, data) => {
      await later();
      events.push(`write ${name.slice(0, 2)}@${offset / MiB} ${data.length}`);
    },
    sync: async (names) => {
      await later();
      events.push(`sync ${[...names].map((n) => n.slice(0, 2)).join(",")}`);
    },
    read: async () => Buffer.alloc(0),
    size: async () => undefined,
    unlink: async () => {},
    list: async () => [],
    closeAll: async () => {},
  };
  const wal: LogWriter = {
    save: async (entries, hs) => {
      events.push(`wal.save ${entries.map((e) => e.index).join(",")}`);
      walSaves.push({ entries, hs });
    },
    compact: async (i) => void events.push(`wal.compact ${i}`),
    reset: async (i, t) => void events.push(`wal.reset ${i} ${t}`),
  };
  const replaced: Entry[][] = [];
  const core = {
    replacePersisted: (entries: readonly Entry[]): number => {
      events.push(`core.replace ${entries.map((e) => e.index).join(",")}`);
      replaced.push([...entries]);
      return entries.length;
    },
  };
  return { events, walSaves, replaced, writer: new BlobLogWriter({ wal, blobs, core }) };
}

test("blob writes, then one sync of every touched blob, then the WAL with stored forms", async () => {
  const f = fakes();
  const entries = [
    chunkEntry(5, U1, 0, Buffer.alloc(MiB, 1)),
    putEntry(6),
    chunkEntry(7, U1, 1, Buffer.alloc(10, 2)),
    chunkEntry(8, U2, 4, Buffer.alloc(3, 3)),
  ];
  const hs = { term: 2, vote: 1, commit: 4 };
  await f.writer.save(entries, hs);
  assert.deepEqual(f.events, [
    "write 11@0 1048576",
    "write 11@1 10",
    "write 22@4 3",
    "sync 11,22",
    "wal.save 5,6,7,8",
  ]);
  const [saved] = f.walSaves;
  assert.ok(saved !== undefined);
  assert.equal(saved.hs, hs);
  assert.deepEqual(
    saved.entries.map((e) => [e.term, e.index, e.kind]),
    entries.map((e) => [e.term, e.index, e.kind]),
  );
  assert.equal(saved.entries[1], entries[1], "a put goes to the WAL as it is");
  for (const i of [0, 2, 3]) {
    const c = decodeCommand((saved.entries[i] as Entry).data);
    assert.ok(c?.op === "upload_chunk" && c.data.length === 0 && c.stored !== undefined);
  }
  assert.ok(
    saved.entries.every((e) => e.data.length < 200),
    "no chunk bytes in the WAL",
  );
});

test("the core gets the stored forms only after advance, once", async () => {
  const f = fakes();
  await f.writer.save([chunkEntry(5, U1, 0, Buffer.from("a"))], null);
  await f.writer.save([putEntry(6), chunkEntry(7, U1, 1, Buffer.from("b"))], null);
  assert.equal(f.replaced.length, 0);
  f.writer.afterAdvance();
  f.writer.afterAdvance();
  assert.deepEqual(
    f.replaced.map((batch) => batch.map((e) => e.index)),
    [[5, 7]],
  );
  assert.deepEqual(f.replaced[0], [f.walSaves[0]?.entries[0], f.walSaves[1]?.entries[1]]);
});

test("a save without chunks touches no blob", async () => {
  const f = fakes();
  await f.writer.save([putEntry(1)], { term: 1, vote: 0, commit: 0 });
  await f.writer.save([], { term: 2, vote: 0, commit: 0 });
  assert.deepEqual(f.events, ["wal.save 1", "wal.save "]);
  f.writer.afterAdvance();
  assert.equal(f.replaced.length, 0);
});

test("a failed blob sync writes nothing to the WAL", async () => {
  const f = fakes();
  const failing = new BlobLogWriter({
    wal: { save: async () => void f.events.push("wal.save") },
    blobs: {
      write: async () => {},
      sync: async () => {
        throw new Error("EIO");
      },
    } as unknown as BlobIo,
    core: { replacePersisted: () => 0 },
  });
  await assert.rejects(failing.save([chunkEntry(1, U1, 0, Buffer.from("x"))], null), /EIO/);
  assert.deepEqual(f.events, []);
});

test("an entry already in the stored form is refused, never persisted", async () => {
  const f = fakes();
  await f.writer.save([chunkEntry(1, U1, 0, Buffer.from("x"))], null);
  const stored = f.walSaves[0]?.entries[0] as Entry;
  await assert.rejects(f.writer.save([{ ...stored, index: 2 }], null), StoredFormError);
  assert.equal(f.walSaves.length, 1);
});

test("compact and reset go to the WAL; a reset forgets stored forms not yet handed over", async () => {
  const f = fakes();
  await f.writer.save([chunkEntry(3, U1, 0, Buffer.from("x"))], null);
  await f.writer.reset(10, 4);
  f.writer.afterAdvance();
  await f.writer.compact(10);
  assert.equal(f.replaced.length, 0);
  assert.deepEqual(f.events.slice(-2), ["wal.reset 10 4", "wal.compact 10"]);
});
