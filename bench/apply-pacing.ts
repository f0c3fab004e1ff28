/**
 * What one state-machine apply costs when entries come back to back versus one at a time
 * with the process idle in between, as at one put in flight. The code and data are the
 * same; only the pacing differs. A gap shows that the single-client path pays for a process
 * waking with cold caches at every step, not for the work done in each step.
 *
 *   npx tsx bench/apply-pacing.ts [--entries 3000] [--gap-ms 1] [--rounds 5]
 *
 * Each round applies `--entries` single-entry batches of 256 B puts with sessions (the
 * client library's shape) to a fresh LmdbStore on disk, three ways: back to back, yielding
 * to the event loop (setImmediate) between entries, and sleeping `--gap-ms` between entries.
 * It prints the mean microseconds per apply for each.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encodeCommand } from "../src/fsm/index.ts";
import { LmdbStore } from "../src/fsm/lmdb-store.ts";
import { type Entry, EntryKind } from "../src/raft/types.ts";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "3000" },
    "gap-ms": { type: "string", default: "1" },
    rounds: { type: "string", default: "5" },
  },
});
const entries = Number(values.entries);
const gapMs = Number(values["gap-ms"]);
const rounds = Number(values.rounds);
if (![entries, gapMs, rounds].every((n) => Number.isFinite(n) && n >= 0) || entries < 1) {
  process.stderr.write("apply-pacing: --entries, --gap-ms and --rounds take numbers\n");
  process.exit(2);
}

type Pacing = "back to back" | "setImmediate" | `sleep ${number} ms`;
const PACINGS: readonly Pacing[] = ["back to back", "setImmediate", `sleep ${gapMs} ms`];
const VALUE = Buffer.alloc(256, 7);

function putEntry(index: number): Entry {
  const session = { clientId: "apply-pacing", sequence: index, firstIncomplete: index };
  const data = encodeCommand({
    op: "put",
    key: `bench/${index % 1000}`,
    value: VALUE,
    session,
    timeMs: Date.now(),
  });
  return { index, term: 1, kind: EntryKind.Normal, data };
}

function pause(pacing: Pacing): Promise<void> | null {
  if (pacing === "back to back") return null;
  if (pacing === "setImmediate") return new Promise((r) => setImmediate(r));
  return new Promise((r) => setTimeout(r, gapMs));
}

/** Mean µs per apply over `entries` single-entry batches paced as `pacing`. */
async function measure(pacing: Pacing): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "apply-pacing-"));
  const store = await LmdbStore.open(dir);
  try {
    let totalNs = 0n;
    for (let index = 1; index <= entries; index++) {
      const entry = putEntry(index);
      const start = process.hrtime.bigint();
      store.applyEntries([entry]);
      totalNs += process.hrtime.bigint() - start;
      await pause(pacing);
    }
    return Number(totalNs) / 1000 / entries;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

for (let round = 1; round <= rounds; round++) {
  const cells: string[] = [];
  for (const pacing of PACINGS) cells.push(`${pacing}: ${(await measure(pacing)).toFixed(1)} µs`);
  console.log(`round ${round}: ${cells.join(", ")}`);
}
