/**
 * `--force-new-cluster` at the unit level (src/server/force-new-cluster.ts): the new
 * configuration (this node alone, every other member removed), the log kept whole and
 * committed, and crash safety of its one WAL write: the segment is cut at every byte of
 * what that write added, as a crash would, and each cut must reopen either to the old state
 * (no new configuration committed) or to the new one (committed), never anything else;
 * forcing again from any of them works.
 */
import assert from "node:assert/strict";
import { cpSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import pino from "pino";
import { StartupError } from "../../../src/api/index.ts";
import {
  decodeMembership,
  type Entry,
  EntryKind,
  encodeMembership,
  type Membership,
} from "../../../src/raft/index.ts";
import type { NodeConfig } from "../../../src/server/config.ts";
import { FORCE_MARKER_FILE } from "../../../src/server/force-marker.ts";
import {
  checkForceNewCluster,
  forceNewCluster,
  soleMember,
} from "../../../src/server/force-new-cluster.ts";
import { recoverLog } from "../../../src/server/recover-log.ts";
import { Wal, type WalContents } from "../../../src/storage/index.ts";

const silent = pino({ level: "silent" });

const member = (id: number, learner = false) => ({
  id,
  learner,
  peerAddr: `127.0.0.1:${60000 + id}`,
  clientAddr: `127.0.0.1:${50000 + id}`,
  identity: id.toString(16).padStart(32, "0"),
});

const THREE: Membership = { members: [member(1), member(2), member(3)], removed: [9] };

function config(dataDir: string, extra: Partial<NodeConfig> = {}): NodeConfig {
  return {
    id: 3,
    peers: [1, 2, 3].map((id) => ({ id, host: "127.0.0.1", port: 50000 + id })),
    dataDir,
    forceNewCluster: true,
    ...extra,
  };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-fnc-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A WAL of 12 entries (a configuration at 1, normal entries after), commit 9. */
async function writeLog(walDir: string): Promise<void> {
  const { wal } = await Wal.open(walDir);
  const entries: Entry[] = [
    { term: 1, index: 1, kind: EntryKind.Config, data: encodeMembership(THREE) },
    ...Array.from({ length: 11 }, (_, i) => ({
      term: i < 6 ? 1 : 2,
      index: i + 2,
      kind: EntryKind.Normal,
      data: Buffer.from(`entry ${i + 2}`),
    })),
  ];
  await wal.save(entries, { term: 2, vote: 1, commit: 9 });
  await wal.close();
}

/** Forces the node on the WAL in `walDir` (store applied at 7, with THREE). */
async function force(dataDir: string, walDir: string) {
  const { wal, contents } = await Wal.open(walDir);
  try {
    const recovered = recoverLog(contents, { appliedIndex: 7, appliedTerm: 1 }, dataDir);
    return await forceNewCluster({
      config: config(dataDir),
      wal,
      contents,
      recovered,
      storeMembership: THREE,
      logger: silent,
    });
  } finally {
    await wal.close();
  }
}

/** The configuration the core would have in force: the last one at or below commit. */
function committedConfig(contents: WalContents): Membership | null {
  let found: Membership | null = null;
  for (const e of contents.entries) {
    if (e.index > contents.hardState.commit || e.kind !== EntryKind.Config) continue;
    found = decodeMembership(e.data);
  }
  return found;
}

test("the survivor becomes the only voter; the others are removed for good; nothing is dropped", async (t) => {
  const dir = await tempDir(t);
  const walDir = join(dir, "wal");
  await writeLog(walDir);
  const recovered = await force(dir, walDir);
  assert.equal(recovered.log.committed, 13, "every entry committed, the new configuration too");
  assert.equal(recovered.log.entries.length, 13);
  const { wal, contents } = await Wal.open(walDir);
  await wal.close();
  assert.equal(contents.hardState.commit, 13);
  assert.equal(contents.hardState.term, 2, "the term is kept");
  assert.equal(contents.entries.at(-1)?.term, 2);
  assert.deepEqual(committedConfig(contents), {
    members: [member(3)],
    removed: [1, 2, 9],
  });
  for (let i = 2; i <= 12; i++)
    assert.equal(Buffer.from(contents.entries[i - 1]?.data ?? []).toString(), `entry ${i}`);
});

test("a learner is made a voter; a node that is not a member is refused", () => {
  const withLearner: Membership = { members: [member(1), member(3, true)], removed: [] };
  assert.deepEqual(soleMember(withLearner, 3, "/d"), { members: [member(3)], removed: [1] });
  assert.throws(
    () => soleMember({ members: [member(1), member(2)], removed: [3] }, 3, "/d"),
    (e: unknown) => e instanceof StartupError && /node 3 is not a member/.test(e.message),
  );
});

test("refused with --join and on an empty data dir, before the dir is touched", async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(
    checkForceNewCluster(config(dir, { join: ["127.0.0.1:1"] })),
    (e: unknown) => e instanceof StartupError && e.kind === "config" && /--join/.test(e.message),
  );
  await assert.rejects(
    checkForceNewCluster(config(join(dir, "nothing-here"))),
    (e: unknown) =>
      e instanceof StartupError &&
      e.kind === "data_dir" &&
      /is empty \(no meta\.json\)/.test(e.message),
  );
  assert.deepEqual(readdirSync(dir), [], "nothing created");
});

test("a crash at any byte of the forcing write leaves the old state or the new one", async (t) => {
  const dir = await tempDir(t);
  const walDir = join(dir, "wal");
  await writeLog(walDir);
  const segment = readdirSync(walDir).find((f) => f.endsWith(".wal")) as string;
  const before = statSync(join(walDir, segment)).size;
  const pristine = join(dir, "pristine");
  cpSync(walDir, pristine, { recursive: true });
  await force(dir, walDir);
  const after = statSync(join(walDir, segment)).size;
  assert.ok(after > before);
  const outcomes = { old: 0, uncommitted: 0, new: 0 };
  for (let cut = before; cut <= after; cut++) {
    const copy = join(dir, `cut-${cut}`);
    cpSync(walDir, copy, { recursive: true });
    cpSync(join(pristine, "HARDSTATE"), join(copy, "HARDSTATE")); // the file is not what is cut
    truncateSync(join(copy, segment), cut);
    const { wal, contents } = await Wal.open(copy);
    await wal.close();
    const inForce = committedConfig(contents);
    if (contents.hardState.commit === 13) {
      assert.deepEqual(
        inForce?.members.map((m) => m.id),
        [3],
        `cut ${cut}`,
      );
      outcomes.new++;
    } else {
      assert.deepEqual(inForce, THREE, `cut ${cut}: the old configuration in force`);
      assert.equal(contents.hardState.commit, 9, `cut ${cut}`);
      if (contents.entries.length === 13) outcomes.uncommitted++;
      else outcomes.old++;
    }
    // Forcing again from whatever the crash left works, and ends in the new state. (The
    // record is written after the WAL write is durable: a crash during it leaves none.)
    rmSync(join(dir, FORCE_MARKER_FILE), { force: true });
    const again = await force(dir, copy);
    assert.equal(again.log.committed, again.log.entries.length);
    await rm(copy, { recursive: true, force: true });
  }
  process.stdout.write(
    `# ${after - before + 1} cuts: ${outcomes.old} old, ${outcomes.uncommitted} with the entry but not its commit (old configuration in force), ${outcomes.new} new\n`,
  );
  assert.equal(outcomes.new, 1, "only the complete write is the new state");
});

test("left on at a restart: nothing while the forced configuration holds, refused once it changed", async (t) => {
  const dir = await tempDir(t);
  const walDir = join(dir, "wal");
  await writeLog(walDir);
  await force(dir, walDir);
  const again = await force(dir, walDir);
  assert.equal(again.log.entries.length, 13, "no second configuration entry");
  const reopened = await Wal.open(walDir);
  assert.equal(reopened.contents.entries.length, 13);
  // Members added back: node 4 joins the forced cluster.
  const grown: Membership = { members: [member(3), member(4)], removed: [1, 2, 9] };
  const add = { term: 2, index: 14, kind: EntryKind.Config, data: encodeMembership(grown) };
  await reopened.wal.save([add], { term: 2, vote: 1, commit: 14 });
  await reopened.wal.close();
  await assert.rejects(
    force(dir, walDir),
    (e: unknown) =>
      e instanceof StartupError &&
      e.kind === "config" &&
      /already applied here at index 13 .*now 3, 4.*would remove them/.test(e.message),
  );
  const after = await Wal.open(walDir);
  await after.wal.close();
  assert.equal(after.contents.entries.length, 14, "the log is untouched");
  // Deleting the record forces again (after another majority loss).
  rmSync(join(dir, FORCE_MARKER_FILE));
  const forced = await force(dir, walDir);
  assert.equal(forced.log.entries.length, 15);
});

test("a force-new-cluster record that does not parse is refused with its path", async (t) => {
  const dir = await tempDir(t);
  const walDir = join(dir, "wal");
  await writeLog(walDir);
  for (const junk of [
    "{",
    '{"index":0,"at":"x","membership":{"members":[],"removed":[]}}',
    "null",
  ]) {
    await writeFile(join(dir, FORCE_MARKER_FILE), junk);
    await assert.rejects(
      force(dir, walDir),
      (e: unknown) =>
        e instanceof StartupError &&
        e.kind === "data_dir" &&
        e.message.includes(join(dir, FORCE_MARKER_FILE)),
      junk,
    );
  }
});
