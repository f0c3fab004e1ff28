/**
 * Failover benchmark (`npm run bench:failover`): on a fresh 3-process cluster a client
 * writes continuously; the leader is killed with SIGKILL; we measure the time from the
 * kill to the next acknowledged write (see lib/failover.ts for exactly which write
 * counts). Repeated `--runs` times (default 5); prints each run and the median.
 * `--with-etcd` measures etcd the same way, interleaved (as `npm run bench` does).
 */

import { fixed, median } from "../src/loadgen/index.ts";
import { ensureEtcd } from "./etcd/etcd-install.ts";
import { dfsDriver, etcdDriver } from "./lib/drivers.ts";
import { runFailovers } from "./lib/failover-rounds.ts";
import type { SystemDriver } from "./lib/system.ts";

/** As in `npm run bench`: etcd attempts are cut short so its client does not dominate. */
const TIMEOUTS = { timeoutMs: 30_000, attemptTimeoutMs: 250 };

const log = (line: string): void => {
  console.log(line);
};
const runsFlag = process.argv.indexOf("--runs");
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5;
if (!Number.isSafeInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
const drivers: SystemDriver[] = [dfsDriver(TIMEOUTS)];
if (process.argv.includes("--with-etcd")) drivers.push(etcdDriver(ensureEtcd(log), TIMEOUTS));

const times = await runFailovers(drivers, runs, log);
for (const [system, ms] of Object.entries(times)) {
  console.log(
    `${system}: median over ${runs} runs: ${fixed(median(ms), 0)} ms ` +
      `(min ${fixed(Math.min(...ms), 0)}, max ${fixed(Math.max(...ms), 0)})`,
  );
}
