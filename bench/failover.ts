/**
 * Failover benchmark: on a fresh 3-process cluster, a client writes continuously; the
 * leader is killed with SIGKILL; we measure the time from the kill to the next write
 * acknowledged. Repeated `--runs` times (default 5); prints each run and the median.
 */
import { ProcessCluster } from "../test/support/process-cluster.ts";
import { waitFor } from "../test/support/wait.ts";

async function oneRun(): Promise<number> {
  const cluster = await ProcessCluster.start(3);
  try {
    const leader = await cluster.waitForLeader();
    const client = cluster.client(cluster.endpoints(), 30_000);
    let lastAck = 0;
    let running = true;
    const writer = (async () => {
      for (let i = 0; running; i++) {
        try {
          await client.put(`failover/${i}`, Buffer.from(String(i)));
          lastAck = Date.now();
        } catch {
          // retried by the next iteration
        }
      }
    })();
    await waitFor("steady writes", () => (lastAck > 0 ? true : undefined));
    const killedAt = Date.now();
    await cluster.kill(leader);
    await waitFor(
      "an acknowledged write after the kill",
      () => (lastAck > killedAt ? true : undefined),
      30_000,
      5,
    );
    running = false;
    await writer;
    client.close();
    return lastAck - killedAt;
  } finally {
    await cluster.destroy();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const runsFlag = process.argv.indexOf("--runs");
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5;
const times: number[] = [];
for (let r = 1; r <= runs; r++) {
  const ms = await oneRun();
  times.push(ms);
  console.log(`run ${r}: kill -9 of the leader -> next acknowledged write in ${ms} ms`);
}
console.log(
  `median over ${runs} runs: ${median(times)} ms (min ${Math.min(...times)}, max ${Math.max(...times)})`,
);
