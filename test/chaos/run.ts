/**
 * The chaos harness's command line (`npm run chaos -- …`):
 *
 *   npx tsx test/chaos/run.ts --nodes 3|5 --minutes M --faults kill,pause,partition,delay,drop,member --seed S
 *
 * Runs one chaos run, prints its report and exits 0 on a pass, 1 on any failure (a
 * violation, an unverifiable history, a failed final write, too little work), 2 on bad flags.
 */
import { parseArgs } from "node:util";
import { FAULT_FAMILIES, type FaultFamily } from "./faults.ts";
import { type ChaosOptions, runChaos } from "./harness.ts";
import { formatChaosReport, replayCommand } from "./report.ts";

const USAGE =
  "usage: run.ts [--nodes 3|5] [--minutes M] [--faults kill,pause,partition,delay,drop,member] [--seed S] [--workers W] [--healthy-seconds N] [--no-cas]";

/** Parses the flags into run options; throws an Error with a usage message on bad input. */
function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      nodes: { type: "string", default: "3" },
      minutes: { type: "string", default: "2" },
      faults: { type: "string", default: FAULT_FAMILIES.join(",") },
      seed: { type: "string" },
      workers: { type: "string", default: "8" },
      "healthy-seconds": { type: "string", default: "10" },
      "no-cas": { type: "boolean", default: false },
    },
    strict: true,
  });
  const nodes = Number(values.nodes);
  if (nodes !== 3 && nodes !== 5) throw new Error(`--nodes must be 3 or 5, got ${values.nodes}`);
  return {
    nodes,
    faultMs: Math.round(positive("--minutes", values.minutes) * 60_000),
    families: parseFamilies(values.faults),
    seed:
      values.seed === undefined
        ? Math.floor(Math.random() * 2 ** 31)
        : integer("--seed", values.seed),
    workers: integer("--workers", values.workers),
    healthyMs: Math.round(positive("--healthy-seconds", values["healthy-seconds"]) * 1000),
    cas: !values["no-cas"],
  };
}

function parseFamilies(list: string): FaultFamily[] {
  const known = new Set<string>(FAULT_FAMILIES);
  const families = list.split(",").map((f) => f.trim());
  for (const family of families) {
    if (!known.has(family))
      throw new Error(`unknown fault family '${family}' (known: ${FAULT_FAMILIES.join(",")})`);
  }
  return families as FaultFamily[];
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${flag} must be a positive number, got '${text}'`);
  return value;
}

function integer(flag: string, text: string): number {
  if (!/^[0-9]+$/.test(text))
    throw new Error(`${flag} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

async function main(): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseChaosArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`seed ${options.seed}; replay: ${replayCommand(options)}`);
  const report = await runChaos({ ...options, log });
  process.stdout.write(formatChaosReport(report));
  return report.failures.length === 0 ? 0 : 1;
}

process.exit(await main());
