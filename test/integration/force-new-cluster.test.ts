/**
 * Majority loss and `dfs server --force-new-cluster` on real processes (issue 19,
 * docs/backup.md#majority-loss): a 3-node cluster takes a stream of writes whose
 * acknowledgements are recorded; the leader and one follower are killed mid-stream and
 * their data dirs deleted; the survivor, killed too, restarts with --force-new-cluster.
 * Every acknowledged write the survivor had applied must read back (the promise); the
 * acknowledged writes it had not applied are counted and each one explained (in its
 * kept log tail, or never reached it). Then `dfs member add` grows it back to 3 voters
 * that all hold the data; and when that cluster loses its majority too, a member that had
 * joined with --join is forced the same way (started with --peers naming only itself).
 * The flag's refusals (with --join, on an empty data dir) are checked too.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MemberStatus } from "../../src/cli/member-api.ts";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { assertOneLineError, type DfsRun, runDfs } from "../unit/cli/run-dfs.ts";

/** One acknowledged write: unique key, its value and the log index it was applied at. */
interface AckedWrite {
  readonly key: string;
  readonly value: string;
  readonly index: number;
}

/** Puts unique keys with `workers` in flight until stopped; records every acknowledgement. */
class AckedWriter {
  readonly acked: AckedWrite[] = [];
  private stopped = false;
  private next = 0;
  private readonly done: Promise<void>;

  constructor(
    private readonly client: DfsClient,
    workers: number,
  ) {
    this.done = Promise.all(Array.from({ length: workers }, () => this.worker())).then(() => {});
  }

  private async worker(): Promise<void> {
    while (!this.stopped) {
      const i = this.next++;
      const key = `fnc/${i}`;
      const value = `value-${i}-${"x".repeat(i % 200)}`;
      try {
        const { index } = await this.client.put(key, Buffer.from(value));
        this.acked.push({ key, value, index });
      } catch {
        // Not acknowledged (the cluster is losing its majority): outcome unknown.
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

describe("majority loss: --force-new-cluster on the survivor", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  let survivor = 0;

  before(async () => {
    // Small snapshots: the members added at the end catch up through a snapshot of the
    // forced store, not only by appends.
    cluster = await LocalCluster.start({
      serverArgs: ["--snapshot-entries", "200", "--snapshot-keep", "50"],
    });
  });
  after(async () => {
    await cluster?.destroy();
  });

  const dfs = (args: readonly string[]): Promise<DfsRun> =>
    runDfs([...args, "--endpoints", cluster.endpoints().join(","), "--timeout", "20000"], {
      killAfterMs: 60_000,
    });
  const ok = async (args: readonly string[]): Promise<string> => {
    const run = await dfs(args);
    assert.equal(run.code, 0, `dfs ${args.join(" ")}: ${run.stderr}\n${cluster.logs(1500)}`);
    return run.stdout.toString();
  };
  const members = async (): Promise<MemberStatus[]> =>
    JSON.parse(await ok(["member", "list", "--json"])) as MemberStatus[];

  let writes: AckedWrite[] = [];
  let appliedAtLoss = 0;
  let lastAtLoss = 0;

  it("loses two of three nodes for good in the middle of a write stream", async () => {
    const leader = await cluster.waitForLeader();
    survivor = cluster.ids().find((id) => id !== leader) as number;
    const doomed = cluster.ids().filter((id) => id !== survivor);
    const client = cluster.client(cluster.endpoints(), 3_000);
    const writer = new AckedWriter(client, 8);
    await waitFor("500 acknowledged writes", async () => writer.acked.length >= 500 || undefined);
    // Both at once, while writes are in flight: the survivor's log may end past the commit
    // index it knows, and some acknowledged writes may never have reached it.
    await Promise.all(doomed.map((id) => cluster.kill(id)));
    await writer.stop();
    client.close();
    writes = writer.acked;
    const status = await cluster.status(cluster.node(survivor));
    assert.ok(status !== undefined, "the survivor answers status");
    appliedAtLoss = status.appliedIndex;
    lastAtLoss = status.lastIndex;
    process.stdout.write(
      `# ${writes.length} acknowledged writes; survivor ${survivor}: applied ${appliedAtLoss}, commit ${status.commitIndex}, last ${lastAtLoss}\n`,
    );
    // The survivor alone cannot serve a linearizable read or a write: no majority.
    const alone = await runDfs(
      [
        "get",
        writes[0]?.key ?? "x",
        "--endpoints",
        cluster.node(survivor).address,
        "--timeout",
        "2000",
      ],
      { killAfterMs: 30_000 },
    );
    assert.equal(alone.code, 3, `no majority, unavailable: ${alone.stderr}`);
    for (const id of doomed) {
      await cluster.retire(id);
      await rm(cluster.node(id).dataDir, { recursive: true, force: true });
    }
    await cluster.kill(survivor); // and the survivor crashes too, before the operator acts
  });

  it("refuses --force-new-cluster with --join, and on an empty data dir", async () => {
    const node = cluster.node(survivor);
    const withJoin = await runDfs([
      ...["server", "--id", String(survivor), "--port", String(node.port)],
      ...["--peers", node.peerEntry, "--data-dir", node.dataDir],
      ...["--join", "127.0.0.1:1", "--force-new-cluster"],
    ]);
    assertOneLineError(withJoin, 2, /--force-new-cluster cannot be combined with --join/);
    const empty = await mkdtemp(join(tmpdir(), "dfs-fnc-empty-"));
    try {
      const run = await runDfs([
        ...["server", "--id", String(survivor), "--port", String(node.port)],
        ...["--peers", cluster.peersFlag(), "--data-dir", join(empty, "d")],
        "--force-new-cluster",
      ]);
      assertOneLineError(run, 6, /--force-new-cluster needs the data dir of a surviving member/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("restarts the survivor as a one-member cluster holding what it had applied", async () => {
    await cluster.restart(survivor, ["--force-new-cluster"]);
    assert.equal(await cluster.waitForLeader(), survivor);
    const list = await members();
    assert.deepEqual(
      list.map((m) => [m.id, m.learner]),
      [[survivor, false]],
      "the survivor is the only member, a voter",
    );
    const client = cluster.client();
    try {
      const missing: AckedWrite[] = [];
      for (const w of writes) {
        let got: string | null = null;
        try {
          got = Buffer.from((await client.get(w.key)).value).toString();
        } catch (err) {
          if ((err as { kind?: string }).kind !== "not_found") throw err;
        }
        if (got === null) missing.push(w);
        else assert.equal(got, w.value, w.key);
      }
      const lostApplied = missing.filter((w) => w.index <= appliedAtLoss);
      assert.deepEqual(lostApplied, [], "every acknowledged write the survivor applied reads back");
      const inTail = writes.filter((w) => w.index > appliedAtLoss && w.index <= lastAtLoss);
      const gap =
        missing.length === 0
          ? "none missing"
          : `${missing.length} missing, all past the survivor's last index ${lastAtLoss}: ` +
            "acknowledged by the two lost nodes, never received by the survivor";
      process.stdout.write(
        `# read back ${writes.length - missing.length}/${writes.length} acknowledged writes; ` +
          `${inTail.length} of them were in the survivor's log past its applied index ${appliedAtLoss} (kept and committed); ${gap}\n`,
      );
      for (const w of missing) assert.ok(w.index > lastAtLoss, `${w.key}@${w.index} missing`);
      assert.ok((await client.put("after-force", Buffer.from("ok"))).index > lastAtLoss);
    } finally {
      client.close();
    }
  });

  it("grows back to 3 voters with dfs member add, every member holding the data", async () => {
    const first = (await cluster.status(cluster.node(survivor)))?.firstIndex ?? 0;
    assert.ok(
      first > 1,
      `the survivor's log is compacted (first index ${first}): joiners need a snapshot`,
    );
    for (const id of [4, 5]) {
      const node = await cluster.startJoining(id);
      await ok([
        ...["member", "add", String(id), "--learner"],
        ...["--peer-addr", node.peerAddress, "--client-addr", node.address],
      ]);
      await waitFor(
        `member ${id} promoted`,
        async () => {
          const run = await dfs(["member", "promote", String(id)]);
          if (run.code === 0) return true;
          assert.equal(run.code, 13, `promote ${id}: ${run.stderr}`);
          return undefined;
        },
        60_000,
        500,
      );
    }
    const list = await members();
    assert.deepEqual(
      list.map((m) => [m.id, m.learner]).sort(),
      [
        [survivor, false],
        [4, false],
        [5, false],
      ].sort(),
    );
    const leader = cluster.node(await cluster.waitForLeader());
    const commit = (await cluster.status(leader))?.commitIndex ?? 0;
    for (const id of [4, 5]) {
      await waitFor(`node ${id} applies ${commit}`, async () => {
        return ((await cluster.status(cluster.node(id)))?.appliedIndex ?? 0) >= commit || undefined;
      });
      const client = cluster.client([cluster.node(id).address]);
      try {
        const sample = writes.filter((w) => w.index <= appliedAtLoss).slice(-50);
        for (const w of sample) {
          const got = await client.get(w.key, { serializable: true });
          assert.equal(Buffer.from(got.value).toString(), w.value, `node ${id}: ${w.key}`);
        }
      } finally {
        client.close();
      }
    }
    // A majority of the new cluster may now lose one node: kill the survivor, still served.
    await cluster.kill(survivor);
    const others = cluster.endpoints().filter((a) => a !== cluster.node(survivor).address);
    const client = cluster.client(others);
    try {
      assert.ok((await client.put("after-growth", Buffer.from("ok"))).index > 0);
    } finally {
      client.close();
    }
  });

  it("a member that joined with --join can be forced too, with --peers naming only itself", async () => {
    // The majority {survivor, 5} is lost now as well; node 4 (which joined) is the survivor.
    await cluster.retire(survivor);
    await cluster.retire(5);
    const node = cluster.node(4);
    await cluster.kill(4);
    const line = cluster.commandLine(node, ["--force-new-cluster"]);
    const at = line.args.indexOf("--join");
    assert.ok(at > 0, "node 4 is started with --join");
    const args = [...line.args.slice(0, at), ...line.args.slice(at + 2)];
    node.start({ ...line, args });
    await waitFor("node 4 to lead alone", async () => {
      if (node.state === "stopped") throw new Error(`node 4 exited: ${node.lastLine()}`);
      const status = await cluster.status(node);
      return status?.role === "leader" || undefined;
    });
    const list = await members();
    assert.deepEqual(
      list.map((m) => [m.id, m.learner]),
      [[4, false]],
    );
    const client = cluster.client([node.address]);
    try {
      const sample = writes.filter((w) => w.index <= appliedAtLoss).slice(0, 50);
      for (const w of sample)
        assert.equal(Buffer.from((await client.get(w.key)).value).toString(), w.value, w.key);
      assert.equal(Buffer.from((await client.get("after-growth")).value).toString(), "ok");
    } finally {
      client.close();
    }
  });
});
