/**
 * The node's metrics and probes without processes: cells export what was counted in a
 * form a real Prometheus parser reads back; every metric name and label follows the
 * conventions (docs/observability.md); the probe rules; the listener's routing, its
 * extension hook and its port-in-use refusal.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import pino from "pino";
import { Registry } from "prom-client";
import { StartupError } from "../../../src/api/index.ts";
import { Counters, Gauges, Histograms } from "../../../src/server/http/cells.ts";
import { type HttpExtension, startHttpListener } from "../../../src/server/http/listener.ts";
import { NodeMetrics } from "../../../src/server/http/metrics.ts";
import {
  health,
  livez,
  type ProbeState,
  READY_APPLY_LAG,
  readyz,
  STUCK_READY_MS,
} from "../../../src/server/http/probes.ts";
import { wantsPretty } from "../../../src/server/logger.ts";
import {
  countOf,
  histogramOf,
  type ParsedFamily,
  parseMetrics,
  sampleValue,
} from "../../support/prometheus-text.ts";

describe("metric cells", () => {
  test("counters, gauges and histograms read back through a Prometheus parser", async () => {
    const registry = new Registry();
    const requests = new Counters(registry, "t_requests_total", "requests", ["code"]);
    const inFlight = new Gauges(registry, "t_in_flight", "in flight");
    const latency = new Histograms(registry, "t_latency_seconds", "latency", [0.1, 1], ["m"]);
    requests.cell("OK").inc();
    requests.cell("OK").inc(2);
    requests.cell("NOT_FOUND").inc();
    const g = inFlight.cell();
    g.inc();
    g.inc();
    g.dec();
    const put = latency.cell("put");
    for (const v of [0.05, 0.1, 0.5, 3]) put.observe(v);
    const families = await parseMetrics(await registry.metrics());
    assert.equal(sampleValue(families, "t_requests_total", { code: "OK" }), 3);
    assert.equal(sampleValue(families, "t_requests_total", { code: "NOT_FOUND" }), 1);
    assert.equal(sampleValue(families, "t_in_flight"), 1);
    const h = histogramOf(families, "t_latency_seconds", { m: "put" });
    assert.equal(families.get("t_latency_seconds")?.type, "histogram");
    // le is inclusive (0.1 falls in the 0.1 bucket); buckets are cumulative.
    assert.deepEqual(h?.buckets, { "0.1": 2, "1": 3, "+Inf": 4 });
    assert.equal(h?.sum, 3.65);
    assert.equal(countOf(families, "t_latency_seconds", { m: "put" }), 4);
    registry.resetMetrics();
    const reset = await parseMetrics(await registry.metrics());
    assert.equal(countOf(reset, "t_latency_seconds", { m: "put" }), 0);
    assert.equal(sampleValue(reset, "t_requests_total", { code: "OK" }), 0);
  });

  test("a cell is bound once: the same label values give the same cell", () => {
    const c = new Counters(new Registry(), "t_total", "t", ["a", "b"]);
    assert.equal(c.cell("x", "y"), c.cell("x", "y"));
    assert.notEqual(c.cell("x", "y"), c.cell("xy", ""));
  });
});

describe("NodeMetrics", () => {
  test("every family parses and follows the naming conventions", async () => {
    const metrics = new NodeMetrics();
    metrics.loop.proposed();
    metrics.wal.saved(4096, 0.001, 0.0012);
    metrics.store.applied(3, 0.0002);
    metrics.store.snapshotSent(true, 1 << 20, 2);
    const put = metrics.client.method("Put");
    put.end(put.start(), 0);
    put.end(put.start(), 14);
    const families = await parseMetrics(await metrics.scrape());
    assert.equal(sampleValue(families, "dfs_raft_proposals_total"), 1);
    assert.equal(countOf(families, "dfs_wal_fsync_duration_seconds"), 1);
    assert.equal(sampleValue(families, "dfs_wal_written_bytes_total"), 4096);
    assert.equal(sampleValue(families, "dfs_fsm_applied_entries_total"), 3);
    assert.equal(sampleValue(families, "dfs_snapshot_bytes_total", { direction: "sent" }), 1 << 20);
    const byCode = { method: "Put", code: "UNAVAILABLE" };
    assert.equal(countOf(families, "dfs_client_request_duration_seconds", byCode), 1);
    assert.equal(sampleValue(families, "dfs_client_requests_in_flight", { method: "Put" }), 0);
    assert.ok(families.has("process_cpu_user_seconds_total"), "process defaults are there");
    assertConventions([...families.values()]);
  });
});

/** Prometheus naming: snake case, dfs_ prefix, _total counters, base-unit histograms. */
export function assertConventions(families: readonly ParsedFamily[]): void {
  for (const f of families) {
    assert.match(f.name, /^[a-z_][a-z0-9_]*$/, f.name);
    assert.notEqual(f.help, "", `${f.name} has help`);
    if (!f.name.startsWith("dfs_")) continue;
    if (f.type === "counter") assert.match(f.name, /_total$/, `${f.name}: counters end in _total`);
    else assert.doesNotMatch(f.name, /_total$/, `${f.name}: only counters end in _total`);
    if (f.type === "histogram") assert.match(f.name, /_(seconds|bytes)$/, `${f.name}: base unit`);
    assert.doesNotMatch(f.name, /_(ms|milliseconds|kb|mb|mib)(_|$)/, `${f.name}: base units`);
    for (const m of f.samples) {
      for (const label of Object.keys(m.labels)) {
        assert.match(label, /^[a-z][a-z0-9_]*$/, `${f.name} label ${label}`);
      }
    }
  }
}

const healthy: ProbeState = {
  leader: 2,
  commit: 100,
  applied: 100,
  stopping: false,
  halted: false,
  diskFull: false,
  readyBusyMs: 0,
};

describe("probes", () => {
  test("health: a leader known, disk not full, not stopping", () => {
    assert.deepEqual(health(healthy), { ok: true });
    assert.deepEqual(health({ ...healthy, leader: 0 }), { ok: false, reason: "no leader known" });
    assert.match(reasonOf(health({ ...healthy, diskFull: true })), /disk full/);
    assert.match(reasonOf(health({ ...healthy, stopping: true })), /stopping/);
    assert.match(reasonOf(health({ ...healthy, halted: true })), /fatal/);
  });

  test("livez: fails only when halted or one Ready is stuck, not on a full disk", () => {
    assert.equal(livez({ ...healthy, leader: 0 }).ok, true);
    assert.equal(livez({ ...healthy, readyBusyMs: STUCK_READY_MS }).ok, true);
    assert.match(reasonOf(livez({ ...healthy, readyBusyMs: STUCK_READY_MS + 1 })), /one Ready/);
    assert.equal(livez({ ...healthy, diskFull: true, readyBusyMs: 10 * STUCK_READY_MS }).ok, true);
    assert.equal(livez({ ...healthy, halted: true }).ok, false);
  });

  test("readyz: healthy and applied close to commit", () => {
    assert.equal(readyz({ ...healthy, applied: healthy.commit - READY_APPLY_LAG }).ok, true);
    const behind = { ...healthy, applied: healthy.commit - READY_APPLY_LAG - 1 };
    assert.match(reasonOf(readyz(behind)), /trails commit 100 by 1001 entries/);
    assert.equal(readyz({ ...healthy, leader: 0 }).ok, false);
  });
});

function reasonOf(r: { ok: boolean; reason?: string }): string {
  assert.equal(r.ok, false);
  return r.reason ?? "";
}

describe("HTTP listener", () => {
  const logger = pino({ level: "silent" });
  let state = healthy;
  const start = (extensions: HttpExtension[], port = 0) =>
    startHttpListener({
      host: "127.0.0.1",
      port,
      scrape: async () => "# HELP x_total x\n# TYPE x_total counter\nx_total 1\n",
      contentType: "text/plain; version=0.0.4",
      probe: () => state,
      extensions,
      logger,
    });

  test("serves probes and metrics, hands other paths to extensions in order, 404 last", async () => {
    const seen: string[] = [];
    const first: HttpExtension = (req) => {
      seen.push(`first ${req.url}`);
      return false;
    };
    const second: HttpExtension = (req, res) => {
      seen.push(`second ${req.url}`);
      if (req.url !== "/ui") return false;
      res.end("console");
      return true;
    };
    const broken: HttpExtension = (req) => {
      if (req.url === "/boom") throw new Error("bug");
      return false;
    };
    const listener = await start([first, second, broken]);
    try {
      const get = (path: string, method = "GET") => fetchText(listener.address, path, method);
      assert.deepEqual(await get("/health"), { status: 200, body: '{"ok":true}\n' });
      state = { ...healthy, leader: 0 };
      assert.deepEqual(await get("/health?verbose"), {
        status: 503,
        body: '{"ok":false,"reason":"no leader known"}\n',
      });
      assert.equal((await get("/livez")).status, 200);
      assert.equal((await get("/readyz")).status, 503);
      state = healthy;
      assert.match((await get("/metrics")).body, /^x_total 1$/m);
      assert.equal((await get("/metrics", "POST")).status, 405);
      assert.deepEqual(await get("/ui"), { status: 200, body: "console" });
      assert.equal((await get("/elsewhere")).status, 404);
      assert.equal((await get("/boom")).status, 500);
      assert.deepEqual(seen, [
        "first /ui",
        "second /ui",
        "first /elsewhere",
        "second /elsewhere",
        "first /boom",
        "second /boom",
      ]);
    } finally {
      await listener.close();
    }
  });

  test("a taken port is port_in_use (exit 8)", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await assert.rejects(
        start([], port),
        (e: unknown) => e instanceof StartupError && e.kind === "port_in_use",
      );
    } finally {
      blocker.close();
    }
  });
});

describe("log format", () => {
  test("auto follows DFS_LOG_FORMAT, else whether stderr is a terminal", () => {
    assert.equal(wantsPretty("json", { DFS_LOG_FORMAT: "pretty" }), false);
    assert.equal(wantsPretty("pretty", {}), true);
    assert.equal(wantsPretty("auto", { DFS_LOG_FORMAT: "pretty" }), true);
    assert.equal(wantsPretty("auto", { DFS_LOG_FORMAT: "json" }), false);
    assert.equal(wantsPretty("auto", {}), process.stderr.isTTY === true);
  });
});

function fetchText(
  address: string,
  path: string,
  method: string,
): Promise<{ status: number; body: string }> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
