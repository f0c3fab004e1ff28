/**
 * Failover time: on a fresh cluster one client writes continuously (one put in flight);
 * the leader is SIGKILLed; the time is from sending the signal to the acknowledgement of
 * the first put that was issued after the process was gone.
 *
 * Counting only puts issued after the death rules out a write the old leader committed
 * and answered just before dying, which would read as a near-zero failover. The cost is
 * an overestimate of at most one put's latency (a few ms) when the put in flight at the
 * kill is itself retried to success by the client.
 */
import { performance } from "node:perf_hooks";
import { waitFor } from "../../src/cluster/index.ts";
import { ackedSince, withSteadyWriter } from "./steady-writer.ts";
import type { SystemDriver } from "./system.ts";

/** One failover measurement. */
export interface FailoverResult {
  /** Milliseconds from SIGKILL of the leader to the next acknowledged write. */
  readonly ms: number;
  /** Name of the killed node. */
  readonly killed: string;
  /** Puts that failed while the cluster recovered (the client gave up on them). */
  readonly failedPuts: number;
}

/** Writes acknowledged before the kill, so the client is warm and knows the leader. */
const STEADY_WRITES = 100;

/** Longest wait for the cluster to take writes again before the run is declared failed. */
const RECOVERY_TIMEOUT_MS = 60_000;

/** Starts a cluster of `driver`, measures one failover, destroys the cluster. */
export function measureFailover(driver: SystemDriver): Promise<FailoverResult> {
  return withSteadyWriter(driver, async (cluster, writes) => {
    const start = performance.now();
    await waitFor("steady writes", ackedSince(writes, start, STEADY_WRITES), 30_000, 5);
    const killedAt = performance.now();
    const killed = (await cluster.stopLeader("SIGKILL")).name;
    const deadAt = performance.now();
    const ackAt = await waitFor(
      `${driver.name}: an acknowledged write after killing the leader`,
      () => {
        const i = writes.issued.findIndex((t) => t > deadAt);
        return i < 0 ? undefined : writes.acked[i];
      },
      RECOVERY_TIMEOUT_MS,
      2,
    );
    return { ms: ackAt - killedAt, killed, failedPuts: writes.failed };
  });
}
