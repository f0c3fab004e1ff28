/**
 * Attack benchmark (issue 16, item 4): a well-behaved client's p99 latency for puts and
 * gets at modest concurrency, on a fresh 3-process cluster, with no attack (baseline)
 * and while each resource attack of test/support/resource-attacks.ts runs. Each round
 * measures the baseline and then every attack, so slow drift of the machine hits both;
 * medians over rounds, and each attack's ratio to the baseline (goal: at most 2x).
 *
 *   npx tsx bench/attacks.ts [--rounds 3] [--seconds 5] [--conc 16] [--only a,b] [--quick]
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { ProcessCluster } from "../test/support/process-cluster.ts";
import {
  type Attack,
  manyStreams,
  rawStub,
  stalledUploads,
  stuckSession,
  unreadBatchStream,
} from "../test/support/resource-attacks.ts";
import { DfsTarget } from "./lib/dfs-target.ts";
import { prefill, runLoad } from "./lib/loadgen.ts";
import { median } from "./lib/stats.ts";

const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    conc: { type: "string", default: "16" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
  },
});
const rounds = values.quick ? 1 : Number(values.rounds);
const seconds = values.quick ? 2 : Number(values.seconds);
const concurrency = Number(values.conc);

/** Starts an attack on the leader at `address`; the benchmark stops it after the window. */
type AttackStarter = (address: string) => Attack;

/** Repeats `once` until stopped (attacks that are a stream of requests, not a held state). */
function looping(once: (n: number) => Promise<unknown>): Attack {
  let stopped = false;
  void (async () => {
    for (let n = 0; !stopped; n++) await once(n).catch(() => {});
  })();
  return {
    stop: () => {
      stopped = true;
    },
  };
}

/** The session of the stuck-session attack (one client across rounds, as in the issue). */
const STUCK_CLIENT = `bench-stuck-${process.pid}`;
/** Batches the stuck session has sent; its sequences continue across rounds. */
let stuckBatches = 0;

const ATTACKS: Record<string, AttackStarter> = {
  "unread-stream": (address) => unreadBatchStream(address, "attack/big", 400),
  "stalled-uploads": (address) => stalledUploads(address, 150, 8, MiB),
  // Paced (about 2,500 writes/s): the attack is the session that never advances, not
  // the write load itself, which any busy client also brings.
  "stuck-session": (address) =>
    looping(async (n) => {
      await stuckSession(
        address,
        256,
        `attack/stuck${n % 4}`,
        STUCK_CLIENT,
        stuckBatches++ * 256 + 1,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }),
  "many-streams": (address) => manyStreams(address, 300, "attack/small"),
  oversize: (address) => {
    const stub = rawStub(address);
    const loop = looping(
      () =>
        new Promise<void>((resolve) =>
          stub.put(
            {
              key: "attack/huge",
              value: Buffer.alloc(3 * MiB),
              ifVersion: undefined,
              session: undefined,
            },
            () => resolve(),
          ),
        ),
    );
    return {
      stop: () => {
        loop.stop();
        stub.close();
      },
    };
  },
};

const chosen = values.only === undefined ? Object.keys(ATTACKS) : values.only.split(",");
for (const name of chosen) if (!(name in ATTACKS)) throw new Error(`unknown attack ${name}`);

/** p99 (ms) of a mixed 50/50 put/get load of 256-byte values, `seconds` long. */
async function measure(target: DfsTarget): Promise<{ p99: number; errors: number }> {
  const result = await runLoad(target, {
    workload: "mixed",
    concurrency,
    valueSize: 256,
    keys: 1000,
    serializable: false,
    readPercent: 50,
    stop: { kind: "seconds", seconds },
    warmupMs: 500,
  });
  return { p99: result.latency.p99, errors: result.errors };
}

const cluster = await ProcessCluster.start(3);
const p99s = new Map<string, number[]>([
  ["baseline", []],
  ...chosen.map((n) => [n, []] as [string, number[]]),
]);
try {
  const setup = cluster.client();
  await setup.put("attack/big", randomBytes(MiB));
  await setup.put("attack/small", Buffer.from("s"));
  setup.close();
  const target = new DfsTarget(cluster.endpoints(), 30_000);
  await prefill(target, 1000, 256, concurrency);
  await measure(target); // unmeasured: fresh processes are still compiling their hot paths
  for (let round = 1; round <= rounds; round++) {
    for (const name of ["baseline", ...chosen]) {
      const leader = cluster.node(await cluster.waitForLeader());
      const attack = name === "baseline" ? null : (ATTACKS[name] as AttackStarter)(leader.address);
      try {
        const { p99, errors } = await measure(target);
        p99s.get(name)?.push(p99);
        console.log(`round ${round} ${name.padEnd(16)} p99 ${p99.toFixed(2)} ms, errors ${errors}`);
      } finally {
        attack?.stop();
      }
    }
  }
  target.close();
} finally {
  await cluster.destroy();
}

const base = median(p99s.get("baseline") ?? []);
console.log(
  `\nmedian p99 over ${rounds} round(s), mixed put/get x${concurrency}, ${seconds} s windows`,
);
for (const [name, values] of p99s) {
  const p99 = median(values);
  const ratio = p99 / base;
  const verdict = name === "baseline" ? "" : ratio <= 2 ? "  ok (<= 2x)" : "  OVER 2x";
  console.log(
    `${name.padEnd(16)} ${p99.toFixed(2).padStart(8)} ms  ${ratio.toFixed(2)}x${verdict}`,
  );
}
