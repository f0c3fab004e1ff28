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
import { benchKey } from "../../src/loadgen/index.ts";
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
export async function measureFailover(driver: SystemDriver): Promise<FailoverResult> {
  const cluster = await driver.start();
  try {
    const target = await cluster.target();
    const value = Buffer.alloc(256, 0x61);
    let acked = 0;
    let failedPuts = 0;
    let deadAt = Number.POSITIVE_INFINITY;
    let firstAckAfterDeath: number | undefined;
    let running = true;
    const writer = (async () => {
      for (let i = 0; running; i++) {
        const issued = performance.now();
        try {
          await target.put(benchKey(i % 1000), value);
          acked++;
          if (issued > deadAt && firstAckAfterDeath === undefined) {
            firstAckAfterDeath = performance.now();
          }
        } catch {
          failedPuts++;
        }
      }
    })();
    try {
      await waitFor("steady writes", () => (acked >= STEADY_WRITES ? true : undefined), 30_000, 5);
      const killedAt = performance.now();
      const killed = await cluster.killLeader();
      deadAt = performance.now();
      const ackAt = await waitFor(
        `${driver.name}: an acknowledged write after killing the leader`,
        () => firstAckAfterDeath,
        RECOVERY_TIMEOUT_MS,
        2,
      );
      return { ms: ackAt - killedAt, killed, failedPuts };
    } finally {
      running = false;
      target.close();
      await writer;
    }
  } finally {
    await cluster.destroy();
  }
}
