/**
 * Backup and restore on real processes (issue 19, docs/backup.md): `dfs snapshot save`
 * taken while a checked write workload runs against a 3-node cluster, restored with
 * `dfs snapshot restore` into a NEW 3-node cluster whose content must equal the state at
 * the backup's index as derived from the recorded history (every acknowledged put,
 * delete and file upload with its log index): the same keys, the same SHA-256 of every
 * value and file. Every write acknowledged before the save began must be in it (the
 * backup is linearizable); none acknowledged at a later index may be. Then damage:
 * flipped bits and cuts are refused with exit 7 and one line; a non-empty data dir is
 * refused with 6 and an id missing from --peers with 2.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type ClientReadableStream, credentials, status as GrpcStatus } from "@grpc/grpc-js";
import { DfsError } from "../../src/api/index.ts";
import type { DfsClient } from "../../src/client/index.ts";
import { freePorts, LocalCluster, REPO_ROOT, waitFor } from "../../src/cluster/index.ts";
import { DfsClient as DfsStub, type SnapshotSaveResponse } from "../../src/gen/dfs.ts";
import { seededRandom } from "../support/rng.ts";

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the `dfs` command as its own process. */
function runDfs(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    proc.on("error", reject);
    proc.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** One acknowledged write: where it applied and what it left (null: the key is gone). */
interface Acked {
  readonly key: string;
  readonly index: number;
  readonly sha256: string | null;
  /** When the acknowledgement arrived (performance.now()). */
  readonly at: number;
}

const SEED = Number(process.env.DFS_TEST_SEED ?? Date.now() % 100_000);

/** Random puts, deletes and 1.5 MiB file uploads over a few hundred keys until stopped. */
class Workload {
  readonly history: Acked[] = [];
  readonly failures: string[] = [];
  private running = true;
  private readonly done: Promise<unknown>;

  constructor(client: DfsClient, workers: number) {
    this.done = Promise.all(
      Array.from({ length: workers }, (_, w) =>
        this.worker(client, seededRandom(SEED * 31 + w), w),
      ),
    );
  }

  private async worker(client: DfsClient, rnd: () => number, w: number): Promise<void> {
    for (let i = 0; this.running; i++) {
      const roll = rnd();
      const key = roll < 0.05 ? `f/${Math.floor(rnd() * 8)}` : `w/${Math.floor(rnd() * 200)}`;
      try {
        if (roll < 0.05) {
          const bytes = Buffer.alloc(1536 * 1024, `${w}-${i}-`);
          const r = await client.upload(key, bytes);
          this.record(key, r.index, r.sha256);
        } else if (roll < 0.15) {
          const r = await client.delete(key).catch((err: unknown) => {
            // Deleting a key that is not there changes nothing: no state to record.
            if (err instanceof DfsError && err.code === "not_found") return null;
            throw err;
          });
          if (r !== null) this.record(key, r.index, null);
        } else {
          const value = Buffer.from(`${w}-${i}-`.repeat(1 + Math.floor(rnd() * 300)));
          const r = await client.put(key, value);
          this.record(key, r.index, sha(value));
        }
      } catch (err) {
        this.failures.push(`${key}: ${String(err)}`);
      }
    }
  }

  private record(key: string, index: number, sha256: string | null): void {
    this.history.push({ key, index, sha256, at: performance.now() });
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** The state at `index` derived from acknowledged writes: key → SHA-256 of its content. */
function stateAt(history: readonly Acked[], index: number): Map<string, string> {
  const last = new Map<string, Acked>();
  for (const op of history) {
    if (op.index > index) continue;
    const prev = last.get(op.key);
    if (prev === undefined || op.index > prev.index) last.set(op.key, op);
  }
  const state = new Map<string, string>();
  for (const [key, op] of last) if (op.sha256 !== null) state.set(key, op.sha256);
  return state;
}

/** Every key of a cluster with its content's SHA-256, read linearizably. */
async function contentOf(client: DfsClient): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of client.list("", { recursive: true }))
    if (!e.isDir && e.info !== undefined) out.set(e.name, e.info.sha256);
  return out;
}

/** SHA-256 of the bytes a download of `key` streams (not the stored metadata). */
async function downloadedSha(client: DfsClient, key: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of (await client.download(key)).chunks) hash.update(chunk);
  return hash.digest("hex");
}

describe("backup during a checked workload, restored into a new cluster", {
  timeout: 600_000,
}, () => {
  let source: LocalCluster;
  let restored: LocalCluster | undefined;
  let dir: string;
  let file: string;
  let backupIndex = 0;
  const history: Acked[] = [];

  before(async () => {
    console.log(`# backup test seed ${SEED} (replay: DFS_TEST_SEED=${SEED})`);
    dir = await mkdtemp(join(tmpdir(), "dfs-backup-it-"));
    file = join(dir, "cluster.dfsbak");
    source = await LocalCluster.start();
  });
  after(async () => {
    await source?.destroy();
    await restored?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("save while writes go on: a consistent cut at its index, holding every earlier ack", async () => {
    const client = source.client();
    try {
      for (let i = 0; i < 3; i++) {
        const bytes = Buffer.alloc(3 * 1024 * 1024 + i, `seed-file-${i}`);
        const r = await client.upload(`seed/file-${i}`, bytes);
        history.push({ key: `seed/file-${i}`, index: r.index, sha256: r.sha256, at: 0 });
      }
      const workload = new Workload(client, 8);
      while (workload.history.length < 300 && workload.failures.length === 0)
        await new Promise((r) => setTimeout(r, 50)); // poll: enough history before the save
      const started = performance.now();
      const saved = await runDfs([
        "snapshot",
        "save",
        file,
        "--endpoints",
        source.endpoints().join(","),
      ]);
      const ackedAfterSave = workload.history.length;
      while (workload.history.length < ackedAfterSave + 100 && workload.failures.length === 0)
        await new Promise((r) => setTimeout(r, 50)); // writes keep being acknowledged after it
      await workload.stop();
      history.push(...workload.history);
      assert.equal(saved.code, 0, saved.stderr);
      assert.deepEqual(workload.failures, [], "a healthy cluster acknowledges every write");
      const status = await runDfs(["snapshot", "status", file, "--json"]);
      assert.equal(status.code, 0, status.stderr);
      const facts = JSON.parse(status.stdout) as Record<string, unknown>;
      backupIndex = facts.index as number;
      assert.match(saved.stdout, new RegExp(`^saved .* index ${backupIndex} `));
      const before = history.filter((op) => op.at < started);
      const late = before.filter((op) => op.index > backupIndex);
      assert.deepEqual(late, [], "every write acknowledged before the save is in it");
      assert.ok(
        history.some((op) => op.index > backupIndex),
        "writes went on past the backup's index (the cut is inside the workload)",
      );
      const expected = stateAt(history, backupIndex);
      const past = history.filter((op) => op.index > backupIndex).length;
      console.log(
        `# backup at index ${backupIndex}: ${history.length - past} acknowledged writes in it, ${past} after it, ${expected.size} keys`,
      );
      assert.equal(facts.keys, expected.size, "the trailer counts the keys of that state");
      const { members } = facts as { members: { id: number }[] };
      assert.deepEqual(members.map((m) => m.id).sort(), [1, 2, 3]);
    } finally {
      client.close();
    }
  });

  it("--serializable saves from the node given, a follower too, as it is", async () => {
    const leader = await source.waitForLeader();
    const follower = source.nodes.find((n) => n.id !== leader);
    assert.ok(follower !== undefined);
    const own = join(dir, "follower.dfsbak");
    const saved = await runDfs([
      "snapshot",
      "save",
      own,
      "--serializable",
      "--endpoints",
      follower.address,
    ]);
    assert.equal(saved.code, 0, saved.stderr);
    const status = await runDfs(["snapshot", "status", own, "--json"]);
    const facts = JSON.parse(status.stdout) as { nodeId: number; index: number };
    assert.equal(facts.nodeId, follower.id);
    assert.ok(facts.index >= backupIndex, "the follower had applied past the first backup");
  });

  it("restores into a new 3-node cluster holding exactly the state at the backup's index", async () => {
    restored = await LocalCluster.create();
    const peers = restored.peersFlag();
    for (const node of restored.nodes) {
      const r = await runDfs([
        "snapshot",
        "restore",
        file,
        "--data-dir",
        node.dataDir,
        "--id",
        String(node.id),
        "--peers",
        peers,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`member ${node.id} of new cluster [0-9a-f]{16} at index ${backupIndex} `),
      );
    }
    await restored.spawnAll();
    await restored.waitForLeader(60_000);
    const client = restored.client();
    try {
      const expected = stateAt(history, backupIndex);
      const actual = await contentOf(client);
      assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), "the same keys");
      for (const [key, digest] of expected)
        assert.equal(await downloadedSha(client, key), digest, `SHA-256 of the bytes of ${key}`);
      const put = await client.put("after/restore", Buffer.from("new cluster takes writes"));
      assert.ok(put.index > backupIndex, "its log continues after the backup's index");
      const [a, b] = [await source.status(source.node(1)), await restored.status(restored.node(1))];
      assert.notEqual(a?.clusterId, b?.clusterId, "a new cluster id, never the old one");
    } finally {
      client.close();
    }
  });

  it("flipped bits and cuts are refused with exit 7 and one line; restore leaves nothing", async () => {
    const bytes = await readFile(file);
    const rnd = seededRandom(SEED);
    const offsets = [3, 12, bytes.length >> 1, bytes.length - 50, bytes.length - 5];
    offsets.push(Math.floor(rnd() * bytes.length), Math.floor(rnd() * bytes.length));
    const bad = join(dir, "bad.dfsbak");
    const refused = async (what: string, args: string[]) => {
      const r = await runDfs(args);
      assert.equal(r.code, 7, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /^dfs: error: backup .* is damaged: .*\n$/, what);
    };
    for (const offset of offsets) {
      const copy = Buffer.from(bytes);
      copy[offset] = (copy[offset] as number) ^ (1 << Math.floor(rnd() * 8));
      await writeFile(bad, copy);
      await refused(`bit flip at ${offset}`, ["snapshot", "status", bad]);
    }
    for (const length of [100, bytes.length >> 1, bytes.length - 1]) {
      await writeFile(bad, bytes);
      await truncate(bad, length);
      await refused(`cut to ${length}`, ["snapshot", "status", bad]);
    }
    const target = join(dir, "never");
    await refused("restore of a cut file", [
      "snapshot",
      "restore",
      bad,
      "--data-dir",
      target,
      "--id",
      "1",
      "--peers",
      "1@127.0.0.1:1",
    ]);
    await assert.rejects(readdir(target), /ENOENT/, "the data dir was not even created");
  });

  it("refused: a non-empty data dir (6), an id not in --peers (2), a restored dir under other --peers (6)", async () => {
    const used = join(dir, "used");
    await mkdir(used);
    await writeFile(join(used, "something"), "x");
    const restore = (dataDir: string, id: string) =>
      runDfs([
        "snapshot",
        "restore",
        file,
        "--data-dir",
        dataDir,
        "--id",
        id,
        "--peers",
        "1@127.0.0.1:1,2@127.0.0.1:2",
      ]);
    const nonEmpty = await restore(used, "1");
    assert.equal(nonEmpty.code, 6, nonEmpty.stderr);
    assert.match(nonEmpty.stderr, /^dfs: error: data dir .* is not empty .*\n$/);
    assert.deepEqual(await readdir(used), ["something"], "left as it was");
    const stranger = await restore(join(dir, "fresh"), "3");
    assert.equal(stranger.code, 2, stranger.stderr);
    assert.match(stranger.stderr, /^dfs: error: --id 3 is not one of the --peers ids .*\n$/);
    // A restored data dir belongs to the cluster of its --peers: another list is refused.
    const restoredDir = join(dir, "restored-alone");
    assert.equal((await restore(restoredDir, "1")).code, 0);
    const [port, other] = await freePorts(2);
    const server = await runDfs([
      "server",
      "--id",
      "1",
      "--port",
      String(port),
      "--peers",
      `1@127.0.0.1:${port},2@127.0.0.1:${other}`,
      "--data-dir",
      restoredDir,
    ]);
    assert.equal(server.code, 6, server.stderr);
    assert.match(server.stderr, /belongs to cluster [0-9a-f]{16}, not cluster/);
  });

  it("backups nobody reads hold at most 2 slots; a third is refused; cancelling frees one", async () => {
    const client = source.client();
    try {
      // Big enough that an unread stream fills gRPC's buffers and waits for its reader.
      await client.upload("big/one", Buffer.alloc(48 * 1024 * 1024, "big"));
    } finally {
      client.close();
    }
    const node = source.node(1);
    const stub = new DfsStub(node.address, credentials.createInsecure());
    const open = () => stub.snapshotSave({ serializable: true });
    const firstMessage = (call: ClientReadableStream<SnapshotSaveResponse>) =>
      new Promise<SnapshotSaveResponse>((resolve, reject) => {
        call.once("data", (m: SnapshotSaveResponse) => {
          call.pause(); // read the header, then nothing more
          resolve(m);
        });
        call.once("error", reject);
      });
    const held = [open(), open()];
    try {
      for (const call of held) assert.ok((await firstMessage(call)).header !== undefined);
      const third = open();
      await assert.rejects(firstMessage(third), (err: { code?: number; details?: string }) => {
        assert.equal(err.code, GrpcStatus.RESOURCE_EXHAUSTED, String(err.details));
        assert.match(String(err.details), /already streaming/);
        return true;
      });
      held[0]?.cancel();
      await waitFor(
        "a backup slot to come free after a cancel",
        async () => {
          const call = open();
          try {
            return (await firstMessage(call)).header !== undefined || undefined;
          } catch {
            return undefined;
          } finally {
            call.cancel();
          }
        },
        20_000,
      );
      const writer = source.client();
      try {
        const put = await writer.put("still/serving", Buffer.from("yes"));
        assert.ok(put.index > 0, "the node keeps serving meanwhile");
      } finally {
        writer.close();
      }
    } finally {
      for (const call of held) call.cancel();
      stub.close();
    }
  });
});
