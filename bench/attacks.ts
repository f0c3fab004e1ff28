/**
 * Attack benchmark: a well-behaved client's p99 latency for puts and
 * gets at modest concurrency, on a fresh 3-process cluster, with no attack (baseline)
 * and while each resource attack of test/support/resource-attacks.ts runs. Each round
 * measures the baseline and then every attack, so slow drift of the machine hits both;
 * medians over rounds, and each attack's ratio to the baseline (goal: at most 2x). The
 * control row busy-session sends stuck-session's writes from a well-behaved session, so
 * the report separates the cost of the write load from that of the stuck session. Each
 * attack runs in its own process (bench/attack-process.ts), as a real attacker would.
 *
 *   npx tsx bench/attacks.ts [--rounds 3] [--seconds 5] [--conc 16] [--only a,b] [--quick]
 *     [--flood] [--session-pace MS]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { LocalCluster, REPO_ROOT } from "../src/cluster/index.ts";
import { DfsTarget, median, prefill, runLoad } from "../src/loadgen/index.ts";
import { ATTACKS } from "./lib/attack-kinds.ts";

const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    conc: { type: "string", default: "16" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    flood: { type: "boolean", default: false },
    "session-pace": { type: "string" },
  },
});
const rounds = values.quick ? 1 : Number(values.rounds);
const seconds = values.quick ? 2 : Number(values.seconds);
const concurrency = Number(values.conc);

/**
 * Pause between the requests of a repeated attack. The limits bound what a client makes
 * a node hold, not how fast it may send: a client flooding a node with any requests,
 * valid or not, competes for its one event loop, which only per-client rate limiting
 * would bound (not done yet, see docs/security.md). So by default the repeated attacks
 * are paced (10 a second); `--flood` sends them back to back to show that cost.
 */
const PACE_MS = values.flood ? 0 : 100;

/**
 * Pause between the 256-write batches of stuck-session and its control busy-session
 * (default {@link PACE_MS}: 2,560 writes/s). The held state (1024 remembered results)
 * builds up at any rate, so a slower pace separates it from the write load.
 */
const SESSION_PACE_MS =
  values["session-pace"] === undefined ? PACE_MS : Number(values["session-pace"]);
const SESSION_ROWS = new Set(["stuck-session", "busy-session"]);

/** The session of the stuck-session attack (one client across rounds, so it stays stuck). */
const STUCK_CLIENT = `bench-stuck-${process.pid}`;

/** Starts attack `name` in its own process; resolves once it is under way. */
async function startAttack(name: string, address: string, round: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/attack-process.ts",
      name,
      address,
      String(SESSION_ROWS.has(name) ? SESSION_PACE_MS : PACE_MS),
      STUCK_CLIENT,
      String(round * 10_000_000 + 1),
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`attack ${name} exited (${code})`)));
  });
  return child;
}

async function stopAttack(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Rows that are not attacks: the same load from a well-behaved client, to compare with. */
const CONTROLS = new Set(["busy-session"]);

const chosen = values.only === undefined ? Object.keys(ATTACKS) : values.only.split(",");
for (const name of chosen) if (!(name in ATTACKS)) throw new Error(`unknown attack ${name}`);

/** p99 (ms) of a mixed 50/50 put/get load of 256-byte values, `seconds` long. */
async function measure(
  target: DfsTarget,
): Promise<{ p99: number; errors: number; opsPerSec: number }> {
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
  return { p99: result.latency.p99, errors: result.errors, opsPerSec: result.opsPerSec };
}

const cluster = await LocalCluster.start({ checkInvariants: false });
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
      const attack = name === "baseline" ? null : await startAttack(name, leader.address, round);
      try {
        const { p99, errors, opsPerSec } = await measure(target);
        p99s.get(name)?.push(p99);
        console.log(
          `round ${round} ${name.padEnd(16)} p99 ${p99.toFixed(2)} ms, errors ${errors}, ${opsPerSec.toFixed(0)} ops/s`,
        );
      } finally {
        if (attack !== null) await stopAttack(attack);
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
  const verdict =
    name === "baseline"
      ? ""
      : CONTROLS.has(name)
        ? "  (control: load, not an attack)"
        : ratio <= 2
          ? "  ok (<= 2x)"
          : "  OVER 2x";
  console.log(
    `${name.padEnd(16)} ${p99.toFixed(2).padStart(8)} ms  ${ratio.toFixed(2)}x${verdict}`,
  );
}
