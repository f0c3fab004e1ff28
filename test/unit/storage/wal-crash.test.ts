/**
 * The WAL's named crash points (DFS_CRASH_AT, src/storage/crash-point.ts), each reached in
 * a child process that is killed there: the name is the one the crash tests and plants
 * use, the point lies between the steps it names, and a WAL killed there reopens with
 * everything acknowledged before the step (and, where the step was durable, after it).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { HardState } from "../../../src/raft/types.ts";
import { Wal } from "../../../src/storage/index.ts";
import { entries, plain, segName, tempDir } from "./fixtures.ts";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./wal-crash-child.ts", import.meta.url));
const HS: HardState = { term: 1, vote: 1, commit: 30 };

/**
 * Entries 1..30 of term 1, six to a segment of 200 bytes (segments 0..4, the last one
 * starting at index 24), so that compact(27) rotates and then deletes segments 0..3.
 */
async function writeLog(dir: string): Promise<void> {
  const { wal } = await Wal.open(dir, { segmentBytes: 200 });
  for (let i = 1; i <= 30; i += 3) await wal.save(entries(i, i + 2, 1), HS);
  await wal.close();
}

/** Runs the child's `step` with DFS_CRASH_AT=`point`; returns its signal (or exit code). */
async function runChild(dir: string, step: string, point: string): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, dir, step], {
    cwd: REPO,
    env: { ...process.env, DFS_CRASH_AT: point },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += String(chunk);
  });
  const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
  return signal ?? `exit ${code} ${out.trim()}`;
}

async function reopen(dir: string) {
  const { wal, contents } = await Wal.open(dir, { segmentBytes: 200 });
  const count = wal.segmentCount();
  await wal.close();
  return { ...contents, count };
}

test("hardstate-written: killed after the vote file, before the WAL write", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir);
  assert.equal(await runChild(dir, "vote", "hardstate-written"), "SIGKILL");
  const got = await reopen(dir);
  // the new term and vote were durable (and may have been sent); the entry was not
  assert.deepEqual(got.hardState, { term: 2, vote: 3, commit: 30 });
  assert.deepEqual(plain(got.entries), plain(entries(1, 30, 1)));
});

test("vote-saved: killed after the WAL write that carried the new vote", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir);
  assert.equal(await runChild(dir, "vote", "vote-saved"), "SIGKILL");
  const got = await reopen(dir);
  assert.deepEqual(got.hardState, { term: 2, vote: 3, commit: 30 });
  assert.equal(got.entries.length, 31);
  assert.deepEqual(got.entries.at(-1)?.term, 2);
});

test("a save that keeps term and vote passes neither vote crash point", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir);
  for (const point of ["hardstate-written", "vote-saved"]) {
    assert.equal(await runChild(dir, "commit", point), "exit 0 done", point);
  }
  const got = await reopen(dir);
  assert.deepEqual(got.hardState, { term: 1, vote: 1, commit: 31 });
  assert.deepEqual(got.entries.at(-1)?.index, 31);
});

test("compact-rotated: killed after the new segment, before any deletion", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir);
  const before = (await readdir(dir)).filter((n) => n.endsWith(".wal")).length;
  assert.equal(await runChild(dir, "compact", "compact-rotated"), "SIGKILL");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
  assert.equal(names.length, before + 1, "rotated, nothing deleted");
  const got = await reopen(dir);
  assert.equal(got.offset, 0);
  assert.deepEqual(plain(got.entries), plain(entries(1, 30, 1)));
  assert.deepEqual(got.hardState, HS);
});

test("segment-deleted: killed after deleting the first old segment", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir);
  assert.equal(await runChild(dir, "compact", "segment-deleted"), "SIGKILL");
  const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
  assert.ok(!names.includes(segName(0)), "segment 0 deleted");
  assert.ok(names.includes(segName(1)), "segment 1 not yet deleted");
  const got = await reopen(dir);
  assert.ok(got.offset <= 27, `offset ${got.offset}`);
  assert.deepEqual(plain(got.entries.filter((e) => e.index > 27)), plain(entries(28, 30, 1)));
  assert.deepEqual(got.hardState, HS);
});

test("reset-rotated: killed after the reset segment, before deleting the old ones", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir);
  assert.equal(await runChild(dir, "reset", "reset-rotated"), "SIGKILL");
  const got = await reopen(dir);
  assert.deepEqual(
    { offset: got.offset, offsetTerm: got.offsetTerm, entries: got.entries, hs: got.hardState },
    { offset: 50, offsetTerm: 4, entries: [], hs: HS },
  );
});

test("with no crash point chosen, every step completes", async (t) => {
  const dir = await tempDir(t);
  await writeLog(dir);
  assert.equal(await runChild(dir, "vote", ""), "exit 0 done");
  assert.equal(await runChild(dir, "compact", ""), "exit 0 done");
  const got = await reopen(dir);
  assert.equal(got.offset, 24);
  assert.deepEqual(got.entries.at(-1)?.index, 31);
  assert.deepEqual(got.hardState, { term: 2, vote: 3, commit: 30 });
});

test("the same steps in this process (DFS_CRASH_AT unset) pass every point", async (t) => {
  // Also what lets a mutation run see that these tests reach the crash points: the
  // children's coverage is not recorded.
  assert.equal(process.env.DFS_CRASH_AT, undefined);
  const dir = await tempDir(t);
  await writeLog(dir);
  const { wal } = await Wal.open(dir, { segmentBytes: 200 });
  await wal.save(entries(31, 31, 2), { term: 2, vote: 3, commit: 30 });
  await wal.compact(27);
  await wal.reset(50, 4);
  await wal.close();
  const got = await reopen(dir);
  assert.deepEqual([got.offset, got.offsetTerm, got.entries.length, got.count], [50, 4, 0, 1]);
});
