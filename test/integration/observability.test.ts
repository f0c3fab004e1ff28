/**
 * Observability on three real `dfs server` processes with `--http-port`
 * (docs/observability.md): `/metrics` scraped from every node while `dfs bench` loads the
 * cluster, read by a real Prometheus text parser, with the metrics that must move
 * asserted to move and every name checked against the conventions; `/health` of a
 * follower going 503 when its leader dies and no quorum is left, and 200 again once a
 * new leader is elected; `dfs status` showing lag and health, and `--watch` following a
 * node that goes away and comes back. Needs `npm run build` (the nodes run dist/).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { freePorts, LocalCluster, REPO_ROOT, waitFor } from "../../src/cluster/index.ts";
import {
  assertConventions,
  countOf,
  type ParsedFamily,
  parseMetrics,
  sampleValue,
} from "../support/prometheus-text.ts";

type Families = Map<string, ParsedFamily>;

let cluster: LocalCluster;
let httpPorts: number[];

const httpOf = (id: number): string => `http://127.0.0.1:${httpPorts[id - 1]}`;

async function scrape(id: number): Promise<Families> {
  const res = await fetch(`${httpOf(id)}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

async function probe(id: number, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${httpOf(id)}${path}`);
  return { status: res.status, body: await res.json() };
}

/** Runs the compiled `dfs` with `args`; resolves with its exit code and output. */
function dfs(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["bin/dfs.mjs", ...args], { cwd: REPO_ROOT });
    let out = "";
    let err = "";
    proc.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    proc.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    proc.on("error", reject);
    proc.on("exit", (code) => resolve({ code, out, err }));
  });
}

before(async () => {
  httpPorts = await freePorts(3);
  cluster = await LocalCluster.start({
    // Small snapshot cadence, so snapshots are taken during the load and a follower that
    // was down needs one.
    serverArgs: ["--snapshot-entries", "200", "--snapshot-keep", "50"],
    nodeArgs: (node) => ["--http-port", String(httpPorts[node.id - 1])],
  });
});

after(async () => {
  await cluster?.destroy();
});

describe("metrics", () => {
  it("every node's /metrics parses during dfs bench, and what must move moves", async () => {
    const ids = cluster.ids();
    const before = await Promise.all(ids.map(scrape));
    const bench = dfs([
      "bench",
      "--endpoints",
      cluster.endpoints().join(","),
      "--workload",
      "put",
      "--seconds",
      "3",
      "--warmup",
      "0",
      "--json",
    ]);
    let finished = false;
    void bench.then(() => {
      finished = true;
    });
    // Scrape all nodes over and over while the load runs: each scrape must parse.
    let scrapes = 0;
    while (!finished) {
      await Promise.all(ids.map(scrape));
      scrapes++;
    }
    const run = await bench;
    assert.equal(run.code, 0, run.err);
    const ops = (JSON.parse(run.out) as { result: { ops: number } }).result.ops;
    assert.ok(ops > 100, `bench did too little to measure: ${run.out}`);
    assert.ok(scrapes >= 3, `only ${scrapes} scrapes during the load`);
    const afterLoad = await Promise.all(ids.map(scrape));
    const leaderAt = afterLoad.findIndex(
      (f) => sampleValue(f, "dfs_raft_role", { role: "leader" }) === 1,
    );
    assert.ok(leaderAt >= 0, "one node reports role leader");
    const leader = afterLoad[leaderAt] as Families;
    const leaderBefore = before[leaderAt] as Families;
    const grew = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(leader, name, labels) - sampleValue(leaderBefore, name, labels);
    assert.ok(grew("dfs_raft_proposals_total") >= ops, "every measured put was proposed");
    const batchOk = { method: "BatchStream", code: "OK" };
    const timed =
      countOf(leader, "dfs_client_request_duration_seconds", batchOk) -
      countOf(leaderBefore, "dfs_client_request_duration_seconds", batchOk);
    assert.ok(timed > 0, "client request durations were observed");
    for (const [i, now] of afterLoad.entries()) {
      const then = before[i] as Families;
      const node = `node ${ids[i]}`;
      const fsyncs =
        countOf(now, "dfs_wal_fsync_duration_seconds") -
        countOf(then, "dfs_wal_fsync_duration_seconds");
      assert.ok(fsyncs > 0, `${node}: WAL fsync histogram moved`);
      assert.ok(
        sampleValue(now, "dfs_raft_commit_index") - sampleValue(then, "dfs_raft_commit_index") >=
          ops,
        `${node}: commit index advanced by every put`,
      );
      assert.ok(sampleValue(now, "dfs_wal_written_bytes_total") > 0, `${node}: WAL bytes`);
      assert.ok(sampleValue(now, "dfs_fsm_applied_entries_total") >= ops, `${node}: applies`);
      assertConventions([...now.values()]);
    }
    for (const id of ids.filter((_, i) => i !== leaderAt)) {
      assert.ok(
        sampleValue(leader, "dfs_raft_peer_match_index", { peer: String(id) }) > 0,
        `leader reports follower ${id}'s match index`,
      );
    }
  });
});

describe("snapshot metrics", () => {
  it("count snapshots taken, and one sent to a follower that fell behind", async () => {
    for (const id of cluster.ids()) {
      const taken = sampleValue(await scrape(id), "dfs_snapshot_taken_total");
      assert.ok(taken >= 1, `node ${id} took no snapshot during the load`);
    }
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids().find((id) => id !== leader) as number;
    await cluster.kill(follower);
    const client = cluster.client();
    try {
      const puts = Array.from({ length: 600 }, (_, i) =>
        client.put(`snap/${i}`, Buffer.from(`v${i}`)),
      );
      await Promise.all(puts);
    } finally {
      client.close();
    }
    await cluster.restart(follower);
    const received = await waitFor(`node ${follower} to receive a snapshot`, async () => {
      const f = await scrape(follower);
      return sampleValue(f, "dfs_snapshot_received_total") >= 1 ? f : undefined;
    });
    assert.ok(sampleValue(received, "dfs_snapshot_bytes_total", { direction: "received" }) > 0);
    const sent = await waitFor("the leader to count the snapshot sent", async () => {
      const l = await scrape(leader);
      return sampleValue(l, "dfs_snapshot_sent_total", { result: "ok" }) >= 1 ? l : undefined;
    });
    assert.ok(sampleValue(sent, "dfs_snapshot_bytes_total", { direction: "sent" }) > 0);
    assert.ok(countOf(sent, "dfs_snapshot_duration_seconds", { operation: "send" }) >= 1);
    await waitFor(`node ${follower} to count the install`, async () =>
      countOf(await scrape(follower), "dfs_snapshot_duration_seconds", {
        operation: "install",
      }) >= 1
        ? true
        : undefined,
    );
  });
});

describe("health", () => {
  it("a follower's /health is 503 while no leader can be elected, 200 once one is", async () => {
    const leader = await cluster.waitForLeader();
    const [f1, f2] = cluster.ids().filter((id) => id !== leader) as [number, number];
    for (const id of cluster.ids()) {
      await waitFor(`node ${id} healthy`, async () =>
        (await probe(id, "/health")).status === 200 ? true : undefined,
      );
    }
    assert.deepEqual(await probe(f1, "/readyz"), { status: 200, body: { ok: true } });
    cluster.pause(f2); // no quorum left once the leader dies: no new leader until resumed
    await cluster.kill(leader);
    const down = await waitFor(`node ${f1} unhealthy`, async () => {
      const h = await probe(f1, "/health");
      return h.status === 503 ? h : undefined;
    });
    assert.deepEqual(down.body, { ok: false, reason: "no leader known" });
    assert.equal((await probe(f1, "/readyz")).status, 503);
    assert.deepEqual(await probe(f1, "/livez"), { status: 200, body: { ok: true } });
    cluster.resume(f2);
    await waitFor(`node ${f1} healthy again`, async () =>
      (await probe(f1, "/health")).status === 200 ? true : undefined,
    );
    assert.equal((await probe(f1, "/readyz")).status, 200);
    await cluster.restart(leader);
  });
});

describe("the HTTP port", () => {
  it("a taken HTTP port stops dfs server with exit 8 and one line", async () => {
    const [port] = (await freePorts(1)) as [number];
    const dir = await mkdtemp(join(tmpdir(), "dfs-http-taken-"));
    try {
      const taken = httpPorts[0] as number;
      const run = await dfs([
        "server",
        ...["--id", "1", "--port", String(port), "--peers", `1@127.0.0.1:${port}`],
        ...["--data-dir", dir, "--http-port", String(taken)],
      ]);
      assert.equal(run.code, 8, run.err);
      assert.match(
        run.err.trim(),
        new RegExp(
          `^dfs: error: cannot listen on 127\\.0\\.0\\.1:${taken}: address already in use$`,
        ),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("dfs status", () => {
  it("shows each node's lag and health", async () => {
    const endpoints = cluster.endpoints().join(",");
    const rows = await waitFor("every node healthy in dfs status", async () => {
      const run = await dfs(["status", "--json", "--endpoints", endpoints]);
      const parsed = JSON.parse(run.out) as {
        reachable: boolean;
        lag?: number;
        status?: { health: string };
      }[];
      return parsed.every((r) => r.status?.health === "ok") ? parsed : undefined;
    });
    for (const row of rows) assert.equal(typeof row.lag, "number");
    const table = await dfs(["status", "--endpoints", endpoints]);
    assert.match(table.out, /^ID\s+ADDRESS\s+.*\s+LAG\s+VERSION\s+HEALTH$/m);
    assert.equal(table.out.match(/\sok$/gm)?.length, 3, table.out);
  });

  it("--watch prints a new frame as a node goes away and comes back", async () => {
    const leader = await cluster.waitForLeader();
    const victim = cluster.ids().find((id) => id !== leader) as number;
    const address = cluster.node(victim).address;
    const watch = spawn(
      process.execPath,
      [
        "bin/dfs.mjs",
        "status",
        "--watch",
        "--interval",
        "0.2",
        "--json",
        "--endpoints",
        cluster.endpoints().join(","),
      ],
      { cwd: REPO_ROOT },
    );
    const exited = new Promise<number | null>((resolve) => watch.on("exit", resolve));
    const frames = createInterface({ input: watch.stdout })[Symbol.asyncIterator]();
    type Row = { endpoint: string; reachable: boolean };
    const until = async (what: string, ok: (rows: Row[]) => boolean): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const next = await frames.next();
        if (next.done === true) throw new Error(`dfs status --watch ended before ${what}`);
        if (ok(JSON.parse(next.value) as Row[])) return;
      }
      throw new Error(`no frame showed ${what} within 20 s`);
    };
    const victimRow = (rows: Row[]) => rows.find((r) => r.endpoint === address);
    try {
      await until("all nodes up", (rows) => rows.every((r) => r.reachable));
      await cluster.kill(victim);
      await until(`node ${victim} unreachable`, (rows) => victimRow(rows)?.reachable === false);
      await cluster.restart(victim);
      await until(`node ${victim} back`, (rows) => victimRow(rows)?.reachable === true);
    } finally {
      watch.kill("SIGINT");
    }
    assert.equal(await exited, 0, "Ctrl-C ends --watch cleanly");
  });
});
