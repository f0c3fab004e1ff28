/**
 * Who leads, from the nodes' own Status answers: probing one node, and the two readings
 * the harness needs (a leader a majority agrees on; the leader of the highest term).
 */
import { type ClientTls, DfsClient, type StatusResponse } from "../client/index.ts";

/** One node's status over a fresh connection (a restarted node is seen at once), or undefined. */
export async function probeStatus(
  address: string,
  timeoutMs: number,
  tls?: ClientTls,
): Promise<StatusResponse | undefined> {
  const client = new DfsClient({ endpoints: [address], timeoutMs, ...(tls ? { tls } : {}) });
  try {
    return await client.status(address);
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}

/**
 * The id of a leader that a majority of `size` nodes agree on (same leader, same term),
 * or undefined.
 */
export function agreedLeader(
  statuses: readonly (StatusResponse | undefined)[],
  size: number,
): number | undefined {
  const answered = statuses.filter((s): s is StatusResponse => s !== undefined);
  // Every node that says it leads is a candidate: a deposed leader cut off from the others
  // may still say so in an older term.
  for (const leader of answered.filter((s) => s.role === "leader")) {
    const agree = answered.filter((s) => s.leaderId === leader.id && s.term === leader.term);
    if (agree.length > size / 2) return leader.id;
  }
  return undefined;
}

/** The id of the node that says it leads in the highest term, or undefined. */
export function highestTermLeader(
  statuses: readonly (StatusResponse | undefined)[],
): number | undefined {
  let best: StatusResponse | undefined;
  for (const s of statuses) {
    if (s?.role === "leader" && (best === undefined || s.term > best.term)) best = s;
  }
  return best?.id;
}
