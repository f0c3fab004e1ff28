/**
 * The client of the failover and planned-restart benchmarks: on a fresh cluster, one
 * writer puts 256 B values continuously, one put in flight, and records when each
 * acknowledged put was issued and acknowledged.
 */
import { performance } from "node:perf_hooks";
import { benchKey } from "../../src/loadgen/index.ts";
import type { SystemCluster, SystemDriver } from "./system.ts";

/** What the writer saw so far (times from `performance.now()`). */
export interface WriterLog {
  /** When each acknowledged put was acknowledged, ascending. */
  readonly acked: number[];
  /** When each acknowledged put was issued (same index as `acked`). */
  readonly issued: number[];
  /** Puts the client gave up on. */
  failed: number;
}

/**
 * Starts a cluster of `driver` with the writer running, runs `body`, then stops the
 * writer and destroys the cluster, whatever `body` did.
 */
export async function withSteadyWriter<T>(
  driver: SystemDriver,
  body: (cluster: SystemCluster, writes: WriterLog) => Promise<T>,
): Promise<T> {
  const cluster = await driver.start();
  try {
    const target = await cluster.target();
    const value = Buffer.alloc(256, 0x61);
    const writes: WriterLog = { acked: [], issued: [], failed: 0 };
    let running = true;
    const writer = (async () => {
      for (let i = 0; running; i++) {
        const issued = performance.now();
        try {
          await target.put(benchKey(i % 1000), value);
          writes.acked.push(performance.now());
          writes.issued.push(issued);
        } catch {
          writes.failed++;
        }
      }
    })();
    try {
      return await body(cluster, writes);
    } finally {
      running = false;
      target.close();
      await writer;
    }
  } finally {
    await cluster.destroy();
  }
}

/** Acknowledged puts after `since`, a `waitFor` probe: true once `count` came and `ms` passed. */
export function ackedSince(
  writes: WriterLog,
  since: number,
  count: number,
  ms = 0,
): () => true | undefined {
  return () => {
    if (performance.now() - since < ms) return undefined;
    let n = 0;
    for (let i = writes.acked.length - 1; i >= 0 && (writes.acked[i] as number) > since; i--) n++;
    return n >= count ? true : undefined;
  };
}
