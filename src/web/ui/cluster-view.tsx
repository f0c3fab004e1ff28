/**
 * The live cluster view: who leads, every node's role, term, indexes, lag and health,
 * charts of the last minutes (entries applied per second, Status round trip, lag) and the
 * leader changes on a timeline. Fed by the event stream; redraws on every poll.
 */
import { useMemo } from "preact/hooks";
import { Chart, nodeColour, type Series } from "./chart.tsx";
import type { LeaderChange, NodeSample, Tick } from "./types.ts";

interface ClusterViewProps {
  ticks: Tick[];
  leaders: LeaderChange[];
  connected: boolean;
}

/** The whole view. */
export function ClusterView({ ticks, leaders, connected }: ClusterViewProps) {
  const latest = ticks.at(-1);
  if (latest === undefined) {
    return <p class="muted">{connected ? "Waiting for the first poll…" : "Connecting…"}</p>;
  }
  return (
    <section class="cluster">
      <Summary tick={latest} connected={connected} />
      <div class="nodes">
        {latest.nodes.map((node) => (
          <NodeCard key={`${node.id}@${node.address}`} node={node} />
        ))}
      </div>
      <Charts ticks={ticks} />
      <Timeline leaders={leaders} now={latest.t} since={ticks[0]?.t ?? latest.t} />
    </section>
  );
}

function Summary({ tick, connected }: { tick: Tick; connected: boolean }) {
  const up = tick.nodes.filter((node) => node.reachable).length;
  return (
    <div class="summary">
      <span data-testid="leader" data-leader-id={tick.leaderId} class="leader-line">
        {tick.leaderId === 0 ? (
          "No leader"
        ) : (
          <>
            Leader: <Badge id={tick.leaderId} /> node {tick.leaderId}
          </>
        )}
      </span>
      <span>term {tick.term}</span>
      <span>
        {up}/{tick.nodes.length} nodes up
      </span>
      <span>auth {tick.authEnabled ? "on" : "off"}</span>
      <span class={connected ? "live" : "stale"}>
        {connected ? "live" : "reconnecting…"} · {new Date(tick.t).toLocaleTimeString()}
      </span>
    </div>
  );
}

function Badge({ id }: { id: number }) {
  return <span class="badge" style={{ background: nodeColour(id) }} />;
}

const HEALTH_TEXT: Record<NodeSample["health"], string> = {
  ok: "healthy",
  lagging: "lagging",
  no_leader: "no leader",
  unhealthy: "unhealthy",
  unreachable: "unreachable",
};

function NodeCard({ node }: { node: NodeSample }) {
  return (
    <article
      class={`node health-${node.health}`}
      data-testid="node"
      data-node-id={node.id}
      data-role={node.role || "unreachable"}
    >
      <header>
        <Badge id={node.id} />
        <strong>node {node.id || "?"}</strong>
        <span class={`role role-${node.role || "down"}`}>{node.role || "down"}</span>
      </header>
      <div class="address">{node.address}</div>
      {node.reachable ? (
        <dl>
          <dt>term</dt>
          <dd>{node.term}</dd>
          <dt>commit</dt>
          <dd>{node.commitIndex}</dd>
          <dt>applied</dt>
          <dd>{node.appliedIndex}</dd>
          <dt>last / first</dt>
          <dd>
            {node.lastIndex} / {node.firstIndex}
          </dd>
          <dt>lag</dt>
          <dd>{node.lag}</dd>
          <dt>ops/s</dt>
          <dd>{node.opsPerSecond.toFixed(1)}</dd>
          <dt>probe</dt>
          <dd>{node.probeMs.toFixed(1)} ms</dd>
        </dl>
      ) : null}
      {node.error !== "" ? <p class="error">{node.error}</p> : null}
      <footer class="health">
        {HEALTH_TEXT[node.health]}
        {node.version !== "" ? ` · v${node.version}` : ""}
      </footer>
    </article>
  );
}

function Charts({ ticks }: { ticks: Tick[] }) {
  const data = useMemo(() => chartData(ticks), [ticks]);
  return (
    <div class="charts">
      <Chart title="Entries applied" unit="per second" times={data.times} series={data.ops} />
      <Chart title="Status round trip" unit="ms" times={data.times} series={data.probe} />
      <Chart
        title="Lag behind the leader's commit"
        unit="entries"
        times={data.times}
        series={data.lag}
      />
    </div>
  );
}

/** Per-node series over the ticks, null where a node was not reachable. */
function chartData(ticks: Tick[]): {
  times: number[];
  ops: Series[];
  probe: Series[];
  lag: Series[];
} {
  const ids = [...new Set(ticks.flatMap((tick) => tick.nodes.map((node) => node.id)))].sort(
    (a, b) => a - b,
  );
  const pick = (id: number, f: (node: NodeSample) => number) =>
    ticks.map((tick) => {
      const node = tick.nodes.find((n) => n.id === id);
      return node?.reachable ? f(node) : null;
    });
  const series = (f: (node: NodeSample) => number) =>
    ids.map((id) => ({ label: `node ${id}`, node: id, values: pick(id, f) }));
  return {
    times: ticks.map((tick) => tick.t / 1000),
    ops: series((node) => node.opsPerSecond),
    probe: series((node) => node.probeMs),
    lag: series((node) => node.lag),
  };
}

function Timeline({
  leaders,
  now,
  since,
}: {
  leaders: LeaderChange[];
  now: number;
  since: number;
}) {
  const span = Math.max(1, now - since);
  const shown = leaders.filter((_change, i) => (leaders[i + 1]?.t ?? now) >= since);
  return (
    <section class="timeline">
      <h3>Leaders</h3>
      <div class="strip" aria-hidden="true">
        {shown.map((change, i) => {
          const start = Math.max(since, change.t);
          const end = leaders[leaders.indexOf(change) + 1]?.t ?? now;
          return (
            <span
              key={`${change.t}-${i}`}
              title={`term ${change.term}: ${change.leaderId === 0 ? "no leader" : `node ${change.leaderId}`}`}
              style={{
                left: `${((start - since) / span) * 100}%`,
                width: `${(Math.max(0, end - start) / span) * 100}%`,
                background: change.leaderId === 0 ? "#9ca3af" : nodeColour(change.leaderId),
              }}
            />
          );
        })}
      </div>
      <ol class="changes" data-testid="leader-changes">
        {[...leaders]
          .reverse()
          .slice(0, 10)
          .map((change) => (
            <li key={change.t}>
              {new Date(change.t).toLocaleTimeString()} · term {change.term} ·{" "}
              {change.leaderId === 0 ? "no leader" : `node ${change.leaderId} leads`}
            </li>
          ))}
      </ol>
    </section>
  );
}
