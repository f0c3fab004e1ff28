/**
 * Attacks on a node's data dir, against real server processes:
 *
 * - a second server on the same data dir from another PID namespace (two containers
 *   sharing a volume) is refused with exit 6, and the first keeps serving;
 * - a truncated state/store.mdb refuses to start with exit 7 and one line, no signal;
 * - a store on a read-only mount exits 6 (the data dir's problem, not corruption);
 * - a bit flip in the WAL's last record, the one that carried a new term and vote, does
 *   not bring the node back with an older term; a damaged HARDSTATE copy that the WAL
 *   proves was complete is exit 7;
 * - folders are 0700 and files 0600.
 *
 * Every damaged node is restored (its data dir from a copy taken while it was down, or
 * restarted normally) and must then hold every acknowledged write while the cluster
 * keeps serving.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cp, readdir, readFile, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LocalCluster, REPO_ROOT, type ServerProcess, waitFor } from "../../src/cluster/index.ts";
import { type Acked, assertNodeHolds, caughtUp, writeAcked } from "../support/acked-writes.ts";

/** unshare works here (root, or user namespaces allowed); otherwise the lock test is skipped. */
const CAN_UNSHARE =
  spawnSync("unshare", ["-p", "-f", "--mount-proc", "-n", "-m", "true"], { stdio: "ignore" })
    .status === 0;

let cluster: LocalCluster;
const acked: Acked = new Map();

before(async () => {
  cluster = await LocalCluster.start();
  await writeAcked(cluster, acked, "before", 300);
});

after(async () => {
  await cluster?.destroy();
});

/** Runs `command` to its end (60 s at most); its exit code or signal and its stderr. */
async function runToExit(
  command: string,
  args: string[],
): Promise<{ outcome: string; stderr: string }> {
  const proc: ChildProcess = spawn(command, args, {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    const outcome = await waitFor(
      `${command} to exit`,
      () => proc.signalCode ?? (proc.exitCode === null ? undefined : `exit ${proc.exitCode}`),
      60_000,
    );
    return { outcome, stderr };
  } finally {
    proc.kill("SIGKILL");
  }
}

/** The node's command line as the cluster runs it, to run the same server another way. */
function serverCommand(node: ServerProcess): string[] {
  const line = cluster.commandLine(node);
  return [line.command, ...line.args];
}

/** Asserts `stderr` is exactly one `dfs: error:` line matching `pattern`. */
function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`);
  assert.match(lines[0] ?? "", /^dfs: error: /);
  assert.match(lines[0] ?? "", pattern);
}

/** A follower's id (the leader is left alone so the cluster keeps serving). */
async function followers(): Promise<number[]> {
  const leader = await cluster.waitForLeader();
  return cluster.nodes.map((n) => n.id).filter((id) => id !== leader);
}

/** Starts node `id` through the cluster (fresh stderr) and waits for its process to end. */
async function startExpectingExit(id: number): Promise<{ outcome: string; stderr: string }> {
  const node = cluster.node(id);
  node.stderr = "";
  cluster.spawn(node);
  const outcome = await cluster.exited(id);
  return { outcome, stderr: node.stderr };
}

/** Restarts node `id` and checks it holds every acknowledged write, with new ones coming in. */
async function assertRecovered(id: number, tag: string): Promise<void> {
  await cluster.restart(id);
  await assertAllHold(tag);
}

/** New writes are acknowledged, and every running node holds every acknowledged write. */
async function assertAllHold(tag: string): Promise<void> {
  await writeAcked(cluster, acked, tag, 100);
  for (const n of cluster.nodes) {
    if (n.proc === null) continue;
    await caughtUp(cluster, n.id);
    await assertNodeHolds(cluster, n.id, acked);
  }
}

/** Kills node `id` and keeps a copy of its data dir; returns a function that puts it back. */
async function killAndBackUp(id: number): Promise<() => Promise<void>> {
  await cluster.kill(id);
  const dir = cluster.node(id).dataDir;
  await cp(dir, `${dir}.bak`, { recursive: true });
  return async () => {
    await rm(dir, { recursive: true, force: true });
    await rename(`${dir}.bak`, dir);
  };
}

test("the data dir is 0700 and every file and folder in it owner-only", async () => {
  const dir = cluster.node(1).dataDir;
  assert.equal((await stat(dir)).mode & 0o777, 0o700, dir);
  const walk = async (at: string): Promise<string[]> => {
    const found: string[] = [];
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      const mode = (await stat(path)).mode & 0o777;
      const want = entry.isDirectory() ? 0o700 : 0o600;
      if (mode !== want) found.push(`${path}: ${mode.toString(8)}`);
      if (entry.isDirectory()) found.push(...(await walk(path)));
    }
    return found;
  };
  assert.deepEqual(await walk(dir), []);
  for (const name of ["LOCK", "meta.json", "wal/HARDSTATE", "state/store.mdb"])
    await stat(join(dir, name));
});

test("a second server on the same data dir from another PID namespace is refused (exit 6)", {
  skip: !CAN_UNSHARE && "cannot create namespaces here",
}, async () => {
  const target = cluster.node(await cluster.waitForLeader());
  // Own PID namespace (our pids mean nothing there) and own network namespace (its port
  // is free there): only the data dir lock can stop it.
  const { outcome, stderr } = await runToExit("unshare", [
    "-p",
    "-f",
    "--mount-proc",
    "--kill-child",
    "-n",
    ...serverCommand(target),
  ]);
  assert.equal(outcome, "exit 6", stderr);
  assertOneLine(stderr, new RegExp(`data dir ${target.dataDir} is in use by process \\d+ `));
  // The holder was not disturbed: it still serves, and nothing acknowledged is lost.
  assert.ok((await cluster.status(target)) !== undefined, "the first server still answers");
  await writeAcked(cluster, acked, "after-second-server", 100);
  for (const n of cluster.nodes) {
    await caughtUp(cluster, n.id);
    await assertNodeHolds(cluster, n.id, acked);
  }
});

test("a truncated state/store.mdb: exit 7 and one line, never a signal", async () => {
  const [id] = await followers();
  assert.ok(id !== undefined);
  const restore = await killAndBackUp(id);
  const store = join(cluster.node(id).dataDir, "state", "store.mdb");
  const size = (await stat(store)).size;
  for (const length of [Math.floor(size / 2), Math.floor(size / 4), 3000]) {
    await truncate(store, length);
    const { outcome, stderr } = await startExpectingExit(id);
    assert.equal(outcome, "exit 7", `truncated to ${length} of ${size}: ${stderr}`);
    assertOneLine(stderr, /corrupt state store: .*store\.mdb: (truncated|only)/);
  }
  await restore();
  await assertRecovered(id, "after-truncated-store");
});

test("a state store on a read-only mount: exit 6 (data dir), not corrupt", {
  skip: !CAN_UNSHARE && "cannot create mount namespaces here",
}, async () => {
  const [id] = await followers();
  assert.ok(id !== undefined);
  await cluster.kill(id);
  const node = cluster.node(id);
  const state = join(node.dataDir, "state");
  const { outcome, stderr } = await runToExit("unshare", [
    "-m",
    "sh",
    "-c",
    'mount --bind -o ro "$1" "$1" && shift && exec "$@"',
    "sh",
    state,
    ...serverCommand(node),
  ]);
  assert.equal(outcome, "exit 6", stderr);
  assertOneLine(stderr, /cannot use the state store in .*: .*read-only file system/i);
  await assertRecovered(id, "after-read-only-store");
});

/** The records of a WAL segment (documented format: u32 length, u32 crc, u8 type, payload). */
function records(buf: Buffer): { start: number; type: number; end: number }[] {
  const found: { start: number; type: number; end: number }[] = [];
  for (let at = 0; at + 9 <= buf.length; ) {
    const end = at + 9 + buf.readUInt32LE(at);
    if (end > buf.length) break;
    found.push({ start: at, type: buf[at + 8] as number, end });
    at = end;
  }
  return found;
}

async function lastSegment(dataDir: string): Promise<string> {
  const names = (await readdir(join(dataDir, "wal"))).filter((n) => n.endsWith(".wal")).sort();
  return join(dataDir, "wal", names.at(-1) as string);
}

test("a bit flip in the WAL's last record, a new term and vote: the node keeps that term", async () => {
  const leader = await cluster.waitForLeader();
  const [id, other] = await followers();
  assert.ok(id !== undefined && other !== undefined);
  // Make `id` die right after the WAL write that carries its next term and vote.
  await cluster.kill(id);
  cluster.envForNextStart(id, { DFS_CRASH_AT: "vote-saved" });
  await cluster.restart(id);
  await caughtUp(cluster, id);
  await cluster.kill(leader); // an election: `id` votes or campaigns, saves, and dies
  assert.equal(await cluster.exited(id), "SIGKILL", cluster.logs());
  await cluster.kill(other); // alone at restart, it cannot learn the term from anyone
  const segment = await lastSegment(cluster.node(id).dataDir);
  const buf = await readFile(segment);
  const last = records(buf).at(-1);
  assert.ok(
    last !== undefined && last.type === 2 && last.end === buf.length,
    "ends with a hard state",
  );
  const term = buf.readUInt32LE(last.start + 9) + buf.readUInt32LE(last.start + 13) * 2 ** 32;
  buf[last.start + 9] = (buf[last.start + 9] as number) ^ 1; // flip the term's lowest bit
  await writeFile(segment, buf);
  cluster.node(id).stderr = "";
  await cluster.restart(id);
  const status = await cluster.status(cluster.node(id));
  assert.equal(status?.term, term, "the term it had acknowledged, not an older one");
  assert.match(
    cluster.node(id).stderr,
    /cut off a torn write at the end of the WAL/,
    "never silent",
  );
  await cluster.restart(leader);
  await cluster.restart(other);
  await cluster.waitForLeader();
  await assertAllHold("after-wal-flip");
});

test("the newest HARDSTATE copy damaged after the WAL acknowledged it: exit 7, named", async () => {
  const [id] = await followers();
  assert.ok(id !== undefined);
  const restore = await killAndBackUp(id);
  const path = join(cluster.node(id).dataDir, "wal", "HARDSTATE");
  const buf = await readFile(path);
  // Two slots at 0 and 4096: u32 magic, u32 crc, u64 seq, u64 term, u64 vote.
  const seq = (at: number) => buf.readUInt32LE(at + 8) + buf.readUInt32LE(at + 12) * 2 ** 32;
  const newest = seq(4096) > seq(0) ? 4096 : 0;
  buf[newest + 16] = (buf[newest + 16] as number) ^ 0x04;
  await writeFile(path, buf);
  const { outcome, stderr } = await startExpectingExit(id);
  assert.equal(outcome, "exit 7", stderr);
  assertOneLine(stderr, /corrupt WAL: .*HARDSTATE at byte offset \d+: /);
  await restore();
  await assertRecovered(id, "after-hardstate-flip");
});
