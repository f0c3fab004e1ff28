/**
 * Assembly step: the metrics sinks (before anything that reports into them) and, last,
 * the HTTP listener serving them, the probes and the extensions (`--http-port`).
 */
import { dfsVersion } from "../../api/index.ts";
import { type HttpListener, startHttpListener } from "../http/listener.ts";
import { DISABLED_METRICS, type MetricSinks, NodeMetrics } from "../http/metrics.ts";
import { health, type ProbeState } from "../http/probes.ts";
import { registerStateGauges } from "../http/state-gauges.ts";
import type { RaftLoop } from "../raft-loop.ts";
import type { Ctx } from "./context.ts";
import { selfOf } from "./context.ts";
import type { Storage } from "./storage.ts";

/** A node with `--http-port` keeps metrics; one without pays an empty call per event. */
export function metricsFor(ctx: Pick<Ctx, "config">): MetricSinks {
  return ctx.config.http === undefined ? DISABLED_METRICS : new NodeMetrics();
}

/** What the listener reads from the running node. */
export interface HttpSources {
  readonly storage: Storage;
  readonly loop: RaftLoop;
  readonly droppedPeerMessages: () => ReadonlyMap<string, number>;
}

/** Starts the HTTP listener if configured; null otherwise. Closed by ctx.cleanup. */
export async function startHttp(ctx: Ctx, sources: HttpSources): Promise<HttpListener | null> {
  const { config, logger } = ctx;
  const metrics = ctx.metrics;
  if (config.http === undefined || !(metrics instanceof NodeMetrics)) return null;
  const { storage, loop } = sources;
  registerStateGauges(metrics.registry, {
    id: config.id,
    clusterId: storage.clusterId,
    version: dfsVersion(),
    status: () => loop.status(),
    appliedIndex: () => storage.fsm.appliedIndex,
    droppedPeerMessages: sources.droppedPeerMessages,
    walSegments: () => storage.wal.segmentCount(),
    writeBehindEntries: () => storage.fsm.writeBehindEntries,
    storePath: storage.fsm.storePath,
  });
  const listener = await startHttpListener({
    host: config.http.host ?? config.listenHost ?? selfOf(config).host,
    port: config.http.port,
    scrape: () => metrics.scrape(),
    contentType: metrics.contentType,
    probe: () => probeState(loop, ctx.lifecycle.stopping),
    extensions: config.httpExtensions ?? [],
    logger,
  });
  ctx.cleanup.push(() => listener.close());
  return listener;
}

/** `/health`'s verdict as Status reports it: "ok", or the reason it fails. */
export function healthLine(loop: RaftLoop, stopping: boolean): string {
  const result = health(probeState(loop, stopping));
  return result.ok ? "ok" : result.reason;
}

/** The node's state as the probes see it, read once per request. */
function probeState(loop: RaftLoop, stopping: boolean): ProbeState {
  const st = loop.status();
  return {
    leader: st.leader,
    commit: st.commit,
    applied: st.applied,
    stopping: stopping || loop.isStopped,
    ...loop.health(),
  };
}
