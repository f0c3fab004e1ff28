/**
 * Membership changes on real processes through the `dfs` CLI (issue 17,
 * docs/membership.md): a 3-node cluster under the checked workload of `dfs verify` grows
 * to 5 (learner, promote, twice), loses a machine for good (kill -9 and a wiped disk),
 * replaces it with a new member that joins with `--join`, and shrinks back to 3, removing
 * the leader on the way; the history must be proven linearizable and every written key
 * read back. Then each bad input the runbook names gets its documented exit code and one
 * line on stderr.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MemberStatus } from "../../src/cli/member-api.ts";
import {
  freePorts,
  LocalCluster,
  ServerProcess,
  sourceEntry,
  waitFor,
} from "../../src/cluster/index.ts";
import { Workload } from "../../src/verify/workload.ts";
import { checkWorkload, verdictLine } from "../../src/verify/workload-check.ts";
import { assertOneLineError, type DfsRun, runDfs } from "../unit/cli/run-dfs.ts";

/** Small snapshots, so new members catch up by snapshot and then by appends. */
const SERVER_ARGS = ["--snapshot-entries", "500", "--snapshot-keep", "100"];
/** A promotion waits for the learner to catch up; give it this long. */
const CATCH_UP_MS = 60_000;

/** A node started by the test (not by LocalCluster): members added after the bootstrap. */
interface Joiner {
  readonly proc: ServerProcess;
  readonly peerAddr: string;
}

describe("membership changes under a checked workload", { timeout: 420_000 }, () => {
  let cluster: LocalCluster;
  let workload: Workload;
  const joiners = new Map<number, Joiner>();

  before(async () => {
    cluster = await LocalCluster.start({ serverArgs: SERVER_ARGS });
    workload = new Workload({ endpoints: cluster.endpoints(), workers: 6 });
    workload.start();
  });
  after(async () => {
    await workload?.stop();
    await Promise.all([...joiners.values()].map((j) => j.proc.kill("SIGKILL")));
    await cluster?.destroy();
  });

  /** Every address a client may use: the bootstrap nodes and the joiners. */
  const everyone = (): string =>
    [...cluster.endpoints(), ...[...joiners.values()].map((j) => j.proc.address)].join(",");

  const dfs = (args: readonly string[]): Promise<DfsRun> =>
    runDfs([...args, "--endpoints", everyone(), "--timeout", "20000"], { killAfterMs: 60_000 });

  const ok = async (args: readonly string[]): Promise<string> => {
    const run = await dfs(args);
    assert.equal(run.code, 0, `dfs ${args.join(" ")}: ${run.stderr}\n${cluster.logs(1500)}`);
    return run.stdout.toString();
  };

  const members = async (): Promise<MemberStatus[]> =>
    JSON.parse(await ok(["member", "list", "--json"])) as MemberStatus[];

  const shape = (list: readonly MemberStatus[]) => ({
    voters: list
      .filter((m) => !m.learner)
      .map((m) => m.id)
      .sort((a, b) => a - b),
    learners: list
      .filter((m) => m.learner)
      .map((m) => m.id)
      .sort((a, b) => a - b),
  });

  /** Adds `id` as a learner, starts it with --join, waits until it caught up, promotes it. */
  async function grow(id: number): Promise<void> {
    const [port, peerPort] = (await freePorts(2)) as [number, number];
    const proc = new ServerProcess(
      id,
      "127.0.0.1",
      port,
      peerPort,
      join(cluster.root, `node${id}`),
      {
        keepStderr: 20_000,
      },
    );
    const joiner = { proc, peerAddr: `127.0.0.1:${peerPort}` };
    const added = await ok([
      ...["member", "add", String(id), "--learner"],
      ...["--peer-addr", joiner.peerAddr, "--client-addr", proc.address],
    ]);
    assert.match(added, new RegExp(`^ok: member ${id} added as a learner\\n`));
    assert.match(added, new RegExp(`\\n${id}\\s+learner\\s+${proc.address}`));
    joiners.set(id, joiner);
    const entry = sourceEntry();
    proc.start({
      command: entry.command,
      args: [
        ...entry.args,
        ...["server", "--id", String(id), "--port", String(port), "--peer-port", String(peerPort)],
        ...[
          "--listen",
          "127.0.0.1",
          "--data-dir",
          proc.dataDir,
          "--join",
          cluster.endpoints().join(","),
        ],
        ...SERVER_ARGS,
      ],
      cwd: entry.cwd,
      env: { ...process.env, DFS_CHECK_INVARIANTS: "1" },
    });
    // dfs status shows the learner (and its lag) among the members before it votes.
    const status = await ok(["status"]);
    assert.match(status, /members \(\d voters, 1 learner\):/);
    assert.match(
      status,
      new RegExp(`\\n${id}\\s+learner\\s+${proc.address}\\s+\\S+\\s+\\d+\\s+\\d+\\s`),
    );
    await promoteWhenCaughtUp(id);
  }

  /** Promotes `id`, retrying while the leader says it still lags (exit 13). */
  async function promoteWhenCaughtUp(id: number): Promise<void> {
    let refusals = 0;
    await waitFor(
      `member ${id} to be promoted`,
      async () => {
        const joiner = joiners.get(id);
        if (joiner !== undefined && joiner.proc.state === "stopped") {
          throw new Error(`node ${id} exited: ${joiner.proc.stderr.slice(-2000)}`);
        }
        const run = await dfs(["member", "promote", String(id)]);
        if (run.code === 0) return true;
        assert.equal(run.code, 13, `promote ${id}: ${run.stderr}`);
        assert.match(run.stderr, /learner_lagging|pending/);
        refusals++;
        return undefined;
      },
      CATCH_UP_MS,
      500,
    );
    const list = await members();
    assert.ok(
      list.some((m) => m.id === id && !m.learner),
      `member ${id} is a voter`,
    );
    if (refusals > 0)
      process.stdout.write(`# promote ${id}: ${refusals} lagging refusal(s) first\n`);
  }

  it("grows from 3 to 5 voters: add a learner, promote it, twice", async () => {
    assert.deepEqual(shape(await members()), { voters: [1, 2, 3], learners: [] });
    await grow(4);
    await grow(5);
    assert.deepEqual(shape(await members()), { voters: [1, 2, 3, 4, 5], learners: [] });
    const status = await ok(["status"]);
    assert.match(status, /members \(5 voters, 0 learners\):/);
  });

  it("loses node 2 for good and replaces it with member 6 (--join, then promoted)", async () => {
    await cluster.kill(2);
    await rm(cluster.node(2).dataDir, { recursive: true, force: true });
    const removed = await ok(["member", "remove", "2"]);
    assert.match(removed, /^ok: member 2 removed\n/);
    assert.deepEqual(shape(await members()), { voters: [1, 3, 4, 5], learners: [] });
    await grow(6);
    assert.deepEqual(shape(await members()), { voters: [1, 3, 4, 5, 6], learners: [] });
  });

  it("shrinks back to 3, the leader handing over when it is removed", async () => {
    const moved = JSON.parse(await ok(["leader", "transfer", "--to", "4", "--json"])) as {
      from: number;
      to: number;
    };
    assert.equal(moved.to, 4); // from 4 too if it happened to lead already
    const leaderNow = (await members()).find((m) => m.leader)?.id;
    assert.equal(leaderNow, 4, "member 4 leads after the transfer");
    await ok(["member", "remove", "4"]); // the leader itself: it hands over and steps down
    await ok(["member", "remove", "5"]);
    const list = await members();
    assert.deepEqual(shape(list), { voters: [1, 3, 6], learners: [] });
    assert.ok(
      list.some((m) => m.leader && [1, 3, 6].includes(m.id)),
      "one of the remaining voters leads",
    );
    // Each removed node stops by itself, with the exit code that says why (14).
    for (const id of [4, 5]) {
      const proc = joiners.get(id)?.proc as ServerProcess;
      const how = proc.state === "stopped" ? proc.unexpectedExit : await proc.exited(30_000);
      assert.equal(how, "exit 14", proc.stderr.slice(-2000));
      assert.match(proc.stderr, /dfs: error: node \d+ was removed from the cluster/);
    }
  });

  it("the history is linearizable and every acknowledged write is still there", async () => {
    const finalMs = await workload.finalWrite(20_000);
    assert.notEqual(finalMs, undefined, "the final write succeeded");
    await workload.stop();
    const readBack = await workload.readBack(30_000);
    assert.deepEqual(readBack.unread, [], "every written key read back");
    const counts = workload.recorder.counts();
    const verdict = checkWorkload(workload.recorder.history());
    process.stdout.write(
      `# ${counts.total} ops (${counts.definite} definite, ${counts.indeterminate} indeterminate), ${readBack.keys} keys read back; ${verdictLine(verdict)}\n`,
    );
    assert.equal(verdict.verdict, "linearizable", verdictLine(verdict));
    assert.ok(counts.definite >= 300, `only ${counts.definite} definite operations`);
    assert.deepEqual(workload.unexpected, [], "no unexpected errors");
  });

  it("refuses a duplicate id, a duplicate address and a removed id (exit 12)", async () => {
    const node1 = cluster.node(1);
    const cases: Array<[string[], RegExp]> = [
      [
        ["member", "add", "1", "--peer-addr", "127.0.0.1:1", "--client-addr", "127.0.0.1:2"],
        /duplicate_id/,
      ],
      [
        ["member", "add", "9", "--peer-addr", "127.0.0.1:1", "--client-addr", node1.address],
        /duplicate_address/,
      ],
      [
        ["member", "add", "2", "--peer-addr", "127.0.0.1:1", "--client-addr", "127.0.0.1:2"],
        /removed_id/,
      ],
      [["member", "remove", "42"], /not_found/],
    ];
    for (const [args, reason] of cases) {
      const run = await dfs(args);
      assertOneLineError(run, 12, /^dfs: error: .*: /);
      assert.match(run.stderr, reason, args.join(" "));
    }
    assert.deepEqual(shape(await members()), { voters: [1, 3, 6], learners: [] }, "unchanged");
  });

  it("refuses to promote a learner that never caught up (exit 13, learner_lagging)", async () => {
    const [a, b] = (await freePorts(2)) as [number, number];
    await ok([
      "member",
      "add",
      "7",
      "--learner",
      "--peer-addr",
      `127.0.0.1:${a}`,
      "--client-addr",
      `127.0.0.1:${b}`,
    ]);
    const run = await dfs(["member", "promote", "7"]);
    assertOneLineError(run, 13, /learner_lagging.*wait until the learner's LAG/);
    await ok(["member", "remove", "7"]);
  });

  it("a second change while one is pending is refused (pending, exit 13) or applied in turn", async () => {
    const ports = await freePorts(4);
    const add = (id: number, i: number) =>
      dfs([
        ...["member", "add", String(id), "--learner"],
        ...["--peer-addr", `127.0.0.1:${ports[i]}`, "--client-addr", `127.0.0.1:${ports[i + 1]}`],
      ]);
    const runs = await Promise.all([add(8, 0), add(9, 2)]);
    const codes = runs.map((r) => r.code);
    for (const run of runs) {
      if (run.code !== 0) assertOneLineError(run, 13, /pending/);
    }
    assert.ok(
      codes.includes(0),
      `one of the two changes went through: ${runs.map((r) => r.stderr)}`,
    );
    process.stdout.write(`# concurrent adds exited ${codes.join(" and ")}\n`);
    const learners = shape(await members()).learners;
    for (const id of learners) await ok(["member", "remove", String(id)]);
    assert.deepEqual(shape(await members()), { voters: [1, 3, 6], learners: [] });
  });

  it("a node joining with another cluster's data dir refuses to start (exit 6)", async () => {
    const other = await LocalCluster.start({ size: 1 });
    try {
      await other.kill(1);
      const [port, peerPort] = (await freePorts(2)) as [number, number];
      const run = await runDfs(
        [
          ...["server", "--id", "10", "--port", String(port), "--peer-port", String(peerPort)],
          ...["--listen", "127.0.0.1", "--data-dir", other.node(1).dataDir],
          ...["--join", cluster.endpoints().join(",")],
        ],
        { killAfterMs: 60_000 },
      );
      // A server logs JSON lines to stderr as it starts; its refusal is the last line.
      assert.equal(run.code, 6, run.stderr);
      const last = run.stderr.trimEnd().split("\n").pop() ?? "";
      assert.match(
        last,
        /^dfs: error: data dir .* belongs to cluster .*give this node a new data dir/,
      );
    } finally {
      await other.destroy();
    }
  });

  it("a learner that never answered is not promoted, even when its lag is small", async () => {
    const young = await LocalCluster.start({ size: 3 });
    try {
      const [a, b] = (await freePorts(2)) as [number, number];
      const on = ["--endpoints", young.endpoints().join(",")];
      const add = await runDfs([
        ...["member", "add", "4", "--learner", "--peer-addr", `127.0.0.1:${a}`],
        ...["--client-addr", `127.0.0.1:${b}`, ...on],
      ]);
      assert.equal(add.code, 0, add.stderr);
      assertOneLineError(await runDfs(["member", "promote", "4", ...on]), 13, /learner_lagging/);
    } finally {
      await young.destroy();
    }
  });

  it("removing the last voter is refused (exit 12, last_voter)", async () => {
    const single = await LocalCluster.start({ size: 1 });
    try {
      const run = await runDfs([
        "member",
        "remove",
        "1",
        "--endpoints",
        single.endpoints().join(","),
      ]);
      assertOneLineError(run, 12, /last_voter.*add and promote another member/);
    } finally {
      await single.destroy();
    }
  });

  it("a change whose new voters lack a live majority is refused (exit 3, no_quorum)", async () => {
    // Voters {1, 3, 6}, one follower down: adding a voter that is not running would need
    // 3 of 4 with only 2 alive, so the leader refuses it rather than stall the cluster.
    const leader = (await members()).find((m) => m.leader)?.id;
    const down = [1, 3, 6].filter((id) => id !== leader);
    await stop(down[0] as number);
    await waitFor(
      `the leader to see member ${down[0]} as unreachable`,
      async () => ((await members()).find((m) => m.id === down[0])?.reachable ? undefined : true),
      20_000,
      200,
    );
    const [a, b] = (await freePorts(2)) as [number, number];
    await waitFor(
      `the leader to notice node ${down[0]} is down`,
      async () => {
        const run = await dfs([
          ...["member", "add", "11", "--peer-addr", `127.0.0.1:${a}`],
          ...["--client-addr", `127.0.0.1:${b}`],
        ]);
        assert.notEqual(run.code, 0, "a voter that cannot vote was added");
        if (!/no_quorum/.test(run.stderr)) return undefined;
        assertOneLineError(run, 3, /\(no_quorum\): too few voters are reachable/);
        return true;
      },
      20_000,
      500,
    );
    // ... and with a majority of the voters down, nothing can be changed at all.
    await stop(down[1] as number);
    const run = await runDfs([
      ...["member", "add", "11", "--learner", "--peer-addr", `127.0.0.1:${a}`],
      ...["--client-addr", `127.0.0.1:${b}`, "--endpoints", everyone(), "--timeout", "5000"],
    ]);
    assertOneLineError(run, 3, /^dfs: error: /);
    process.stdout.write(`# majority down: ${run.stderr}`);
  });

  /** SIGKILL a bootstrap node or a joiner. */
  async function stop(id: number): Promise<void> {
    const joiner = joiners.get(id);
    if (joiner !== undefined) await joiner.proc.kill("SIGKILL");
    else await cluster.kill(id);
  }
});
