/**
 * `dfs defrag` on real processes (issue 19, docs/backup.md#giving-disk-space-back): a
 * 3-node cluster stores ~200 MiB of files, deletes most of them, and the deleted files'
 * blobs go by themselves (issue 22: files' bytes are in blobs, not in the store);
 * `dfs defrag` over every node, while a writer keeps writing and a reader keeps reading,
 * leaves each node's disk use under 10 % of its peak. Every kept file
 * and every acknowledged write reads back, and once stopped the nodes' stores have equal
 * digests. A node killed -9 in the middle of its defrag (just after switching to the copy,
 * and between the two renames of the swap: `DFS_CRASH_AT=defrag-switched`,
 * `defrag-aside`) restarts with everything and defrags fine after.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { LmdbStore } from "../../src/fsm/index.ts";
import { downloadAll, sha256Hex } from "../support/file-data.ts";
import { runDfs } from "../unit/cli/run-dfs.ts";

const FILES = 50;
const FILE_BYTES = 4 * 1024 * 1024; // 50 × 4 MiB = 200 MiB
/** Files kept (not deleted): their content must survive every defrag. */
const KEPT = new Set([0, 17, 33]);

/** A node's disk use for files: its store file and its blobs (issue 22: files' bytes). */
function diskBytes(dataDir: string): number {
  const dir = join(dataDir, "blobs");
  let blobs = 0;
  try {
    for (const name of readdirSync(dir)) blobs += statSync(join(dir, name)).size;
  } catch {
    // no blobs yet
  }
  return storeBytes(dataDir) + blobs;
}

function storeBytes(dataDir: string): number {
  try {
    return statSync(join(dataDir, "state", "store.mdb")).size;
  } catch {
    return 0;
  }
}

/**
 * Small puts and small uploads until stopped. Per key: the value (or file SHA-256) of its
 * last acknowledged write, and those of later writes whose outcome is unknown (a failed
 * call may still have been applied): the key must end holding one of them.
 */
class Writer {
  readonly expected = new Map<string, Set<string>>();
  private stopped = false;
  private readonly done: Promise<void>;
  constructor(private readonly client: DfsClient) {
    this.done = Promise.all([this.puts(), this.uploads()]).then(() => {});
  }
  private note(key: string, value: string, acked: boolean): void {
    const set = this.expected.get(key) ?? new Set<string>();
    if (acked) set.clear();
    set.add(value);
    this.expected.set(key, set);
  }
  private async puts(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const key = `writer/k${i % 300}`;
      const value = `w${i}`;
      try {
        await this.client.put(key, Buffer.from(value));
        this.note(key, value, true);
      } catch {
        this.note(key, value, false);
      }
    }
  }
  private async uploads(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      const key = `writer/f${i % 20}`;
      const bytes = randomBytes(64 * 1024 + (i % 7) * 1000);
      try {
        await this.client.upload(key, bytes);
        this.note(key, sha256Hex(bytes), true);
      } catch {
        this.note(key, sha256Hex(bytes), false);
      }
    }
  }
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

describe("dfs defrag gives deleted files' space back, online", { timeout: 600_000 }, () => {
  let cluster: LocalCluster;
  const peak = new Map<number, number>();
  const kept = new Map<string, string>();
  let sampler: NodeJS.Timeout | undefined;

  before(async () => {
    cluster = await LocalCluster.start();
    sampler = setInterval(() => {
      for (const n of cluster.nodes)
        peak.set(n.id, Math.max(peak.get(n.id) ?? 0, diskBytes(n.dataDir)));
    }, 100);
  });
  after(async () => {
    clearInterval(sampler);
    await cluster?.destroy();
  });

  const dfs = (args: readonly string[]) =>
    runDfs([...args, "--timeout", "300000"], { killAfterMs: 320_000 });

  it("stores 200 MiB of files and deletes all but three: the blobs go by themselves", async () => {
    const client = cluster.client(cluster.endpoints(), 120_000);
    try {
      for (let i = 0; i < FILES; i++) {
        const bytes = randomBytes(FILE_BYTES);
        await client.upload(`big/f${i}`, bytes);
        if (KEPT.has(i)) kept.set(`big/f${i}`, sha256Hex(bytes));
      }
      for (let i = 0; i < FILES; i++) if (!KEPT.has(i)) await client.delete(`big/f${i}`);
    } finally {
      client.close();
    }
    await caughtUp(cluster);
    for (const n of cluster.nodes) {
      const top = peak.get(n.id) ?? 0;
      assert.ok(top >= 150 * 1024 * 1024, `node ${n.id} peak`);
      // Files' bytes are in blobs, unlinked once dead (docs/architecture.md#the-blob-store).
      await waitFor(
        `node ${n.id}'s dead blobs to go`,
        async () => (diskBytes(n.dataDir) < top / 5 ? true : undefined),
        60_000,
        250,
      );
      process.stdout.write(
        `# node ${n.id}: ${mib(top)} on disk at its peak, ${mib(diskBytes(n.dataDir))} after the deletes\n`,
      );
    }
  });

  for (const step of ["switched", "aside"]) {
    it(`a node killed -9 at defrag step '${step}' restarts whole and defrags after`, async () => {
      const victim = cluster.node(3);
      await cluster.stopNode(3);
      cluster.envForNextStart(3, { ...process.env, DFS_CRASH_AT: `defrag-${step}` });
      await cluster.restart(3);
      const run = await dfs(["defrag", "--endpoints", victim.address]);
      assert.notEqual(run.code, 0, "the node died during its defrag");
      const how = victim.state === "stopped" ? victim.unexpectedExit : await cluster.exited(3);
      assert.equal(how, "SIGKILL", victim.stderr.slice(-2000));
      // Without DFS_CRASH_AT: the old store is in place again (state.old/ renamed back,
      // the copy deleted), and the WAL replays what the copy had taken meanwhile.
      await cluster.restart(3);
      await caughtUp(cluster);
      await assertKeptFiles(cluster, [victim.address]);
      assert.ok(storeBytes(victim.dataDir) > 0, "the old store is back");
    });
  }

  it("dfs defrag on every node while a writer writes: each store under 10 % of its peak", async () => {
    const client = cluster.client(cluster.endpoints(), 10_000);
    const writer = new Writer(client);
    const reads = keepReading(cluster);
    try {
      await waitFor(
        "the writer's first writes",
        async () => writer.expected.size >= 20 || undefined,
      );
      const run = await dfs([
        ...["defrag", "--endpoints", cluster.endpoints().join(",")],
        "--json",
      ]);
      assert.equal(run.code, 0, `dfs defrag: ${run.stderr}\n${cluster.logs(2000)}`);
      const rows = JSON.parse(run.stdout.toString()) as {
        endpoint: string;
        ok: boolean;
        bytesBefore: number;
        bytesAfter: number;
        durationMs: number;
      }[];
      assert.equal(rows.length, 3);
      for (const row of rows) {
        process.stdout.write(
          `# defrag ${row.endpoint}: ${mib(row.bytesBefore)} -> ${mib(row.bytesAfter)} in ${row.durationMs} ms\n`,
        );
        // The store holds chunk records (length, CRC), not bytes: little to give back.
        assert.ok(row.ok && row.bytesAfter <= row.bytesBefore, JSON.stringify(row));
      }
      await new Promise((resolve) => setTimeout(resolve, 500)); // writes go on after it too
    } finally {
      await writer.stop();
      client.close();
      await reads.stop();
    }
    assert.ok(writer.expected.size >= 20, `the writer wrote (${writer.expected.size} keys)`);
    assert.deepEqual(reads.failures, [], "reads kept working during the defrags");
    await caughtUp(cluster);
    for (const n of cluster.nodes) {
      const now = diskBytes(n.dataDir);
      const top = peak.get(n.id) ?? 0;
      process.stdout.write(
        `# node ${n.id}: store file ${mib(now)}, ${((100 * now) / top).toFixed(1)} % of its peak ${mib(top)}\n`,
      );
      assert.ok(now < top / 10, `node ${n.id}: ${now} bytes, peak ${top}`);
    }
    await assertKeptFiles(cluster, cluster.endpoints());
    const check = cluster.client();
    try {
      for (const [key, allowed] of writer.expected) {
        const got = key.startsWith("writer/f")
          ? sha256Hex(await downloadAll(check, key))
          : Buffer.from((await check.get(key)).value).toString();
        assert.ok(allowed.has(got), `${key}: ${got} is not its last acknowledged write`);
      }
    } finally {
      check.close();
    }
  });

  it("once stopped, every node's store has the same digest", async () => {
    await caughtUp(cluster);
    await cluster.stop(10_000);
    const digests = new Map<number, string>();
    for (const n of cluster.nodes) {
      const store = await LmdbStore.open(n.dataDir);
      try {
        digests.set(n.id, store.digest());
      } finally {
        await store.close();
      }
    }
    process.stdout.write(
      `# digests: ${[...digests].map(([id, d]) => `${id}=${d.slice(0, 12)}`).join(" ")}\n`,
    );
    assert.equal(new Set(digests.values()).size, 1, "equal digests");
  });

  async function assertKeptFiles(c: LocalCluster, endpoints: readonly string[]): Promise<void> {
    for (const endpoint of endpoints) {
      const client = c.client([endpoint]);
      try {
        for (const [key, sha] of kept)
          assert.equal(sha256Hex(await downloadAll(client, key, true)), sha, `${endpoint} ${key}`);
      } finally {
        client.close();
      }
    }
  }

  /** Serializable reads of the kept files from every node until stopped; failures recorded. */
  function keepReading(c: LocalCluster): { failures: string[]; stop(): Promise<void> } {
    const failures: string[] = [];
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        for (const endpoint of c.endpoints()) {
          const client = c.client([endpoint]);
          try {
            for (const [key, sha] of kept) {
              const got = sha256Hex(await downloadAll(client, key, true));
              if (got !== sha) failures.push(`${endpoint} ${key}: wrong content`);
            }
          } catch (err) {
            failures.push(`${endpoint}: ${(err as Error).message}`);
          } finally {
            client.close();
          }
        }
      }
    })();
    return {
      failures,
      stop: async () => {
        stopped = true;
        await loop;
      },
    };
  }
});

/** Waits until every running node applied what the leader has committed now. */
async function caughtUp(cluster: LocalCluster): Promise<void> {
  const leader = cluster.node(await cluster.waitForLeader());
  const target = (await cluster.status(leader))?.commitIndex ?? 0;
  for (const n of cluster.nodes) {
    await waitFor(
      `node ${n.id} to apply ${target}`,
      async () => ((await cluster.status(n))?.appliedIndex ?? 0) >= target || undefined,
      60_000,
    );
  }
  // The write-behind reaches LMDB within 100 ms of applying.
  await new Promise((resolve) => setTimeout(resolve, 300));
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
