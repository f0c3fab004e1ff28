/**
 * What `/health`, `/livez` and `/readyz` answer (docs/observability.md#health-endpoints),
 * as pure functions of a snapshot of the node's state, so each rule is tested on its own:
 *
 * - `/health` (etcd's meaning, for load balancers): this node can take writes through the
 *   cluster now: it knows a leader, its disk is not full, it is not stopping.
 * - `/livez` (Kubernetes: restart me if this fails): the process and its loop are not
 *   stuck: the loop has not halted, and no Ready has been in progress for longer than
 *   {@link STUCK_READY_MS}. A full disk is not a liveness failure: the node retries by
 *   itself and a restart would not free space.
 * - `/readyz` (Kubernetes: send me traffic): it knows a leader, is not stopping, its disk
 *   is not full, and its applied index is within {@link READY_APPLY_LAG} of its commit
 *   index, so reads it serves are not far behind.
 */

/**
 * A Ready in progress longer than this means the loop is stuck (a hung disk). 30 s is
 * how long a request may wait inside a node before it fails (loop/waiters.ts).
 */
export const STUCK_READY_MS = 30_000;

/**
 * Most entries applied may trail commit for a node to be ready: a few Readys' worth at
 * full load (a batch is rarely above a few hundred entries), far below a node replaying
 * or catching up after a snapshot.
 */
export const READY_APPLY_LAG = 1_000;

/** The node's state a probe looks at, read once per request. */
export interface ProbeState {
  /** Leader this node knows (0: none). */
  readonly leader: number;
  readonly commit: number;
  readonly applied: number;
  /** The node is handing over or shutting down. */
  readonly stopping: boolean;
  /** The loop halted for good (a failed write or invariant check). */
  readonly halted: boolean;
  /** The last disk write failed for lack of space; the loop holds still and retries. */
  readonly diskFull: boolean;
  /** How long the Ready being handled has been in progress (0: none). */
  readonly readyBusyMs: number;
}

/** A probe's answer: ok, or the one-line reason why not. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: ProbeResult = { ok: true };
const fail = (reason: string): ProbeResult => ({ ok: false, reason });

/** `/health`: can this node take writes through the cluster now? */
export function health(s: ProbeState): ProbeResult {
  if (s.halted) return fail("node stopped on a fatal error");
  if (s.stopping) return fail("node is stopping");
  if (s.diskFull) return fail("disk full: writes are refused until space is freed");
  if (s.leader === 0) return fail("no leader known");
  return OK;
}

/** `/livez`: is the process and its loop alive (restart it if not)? */
export function livez(s: ProbeState): ProbeResult {
  if (s.halted) return fail("node stopped on a fatal error");
  if (!s.diskFull && s.readyBusyMs > STUCK_READY_MS) {
    return fail(`the loop has been handling one Ready for ${Math.round(s.readyBusyMs)} ms`);
  }
  return OK;
}

/** `/readyz`: should this node get traffic (caught up, knows a leader)? */
export function readyz(s: ProbeState): ProbeResult {
  const h = health(s);
  if (!h.ok) return h;
  const behind = s.commit - s.applied;
  if (behind > READY_APPLY_LAG) {
    return fail(`applied index ${s.applied} trails commit ${s.commit} by ${behind} entries`);
  }
  return OK;
}
