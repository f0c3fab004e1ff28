/**
 * The in-process mutant runner (see README.md): imports the test files once, their tests
 * collected by the node:test stand-in (shim-test.mjs); runs every test with no mutant
 * active, recording which mutants each reaches (Stryker's own coverage counters in the
 * instrumented source); then, per mutant, activates it and runs the tests that reach it
 * until one fails. Prints `id<TAB>status<TAB>failing test` per mutant, status being
 * Killed, Survived, NoCoverage or Timeout (Stryker's hit limit: a loop that never ends).
 *
 *   node --import tsx --import ./register.mjs run.mjs IDS_FILE TEST_FILE...
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { runTest, tests } from "./shim-test.mjs";

/** Hits of the active mutant in one test past which it counts as an endless loop. */
const HIT_LIMIT = 1_000_000;
/** A test (async, real files) that has not settled after this long counts as a hang. */
const TEST_TIMEOUT_MS = 30_000;
/** Exit code telling driver.py to go on with the remaining mutants in a fresh process. */
const EXIT_RESTART = 3;

// A mutant may break background work (a promise nobody awaits, a timer): that failure
// belongs to the test that was running, so it is kept here and rethrown after the test.
let stray;
process.on("unhandledRejection", (e) => {
  stray ??= e;
});
process.on("uncaughtException", (e) => {
  stray ??= e;
});

/** Runs one test to the end, failing on a stray error or on a hang (rejects "hang"). */
async function runOne(entry) {
  stray = undefined;
  let timer;
  const hang = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("hang")), TEST_TIMEOUT_MS);
  });
  try {
    await Promise.race([runTest(entry), hang]);
    // let stray rejections of this test surface before calling it passed
    await new Promise((r) => setImmediate(r));
  } finally {
    clearTimeout(timer);
  }
  if (stray !== undefined) throw stray;
}

const [idsFile, ...testFiles] = process.argv.slice(2);
if (globalThis.__stryker__ === undefined) globalThis.__stryker__ = {};
const ns = globalThis.__stryker__;
for (const f of testFiles) {
  const before = tests.length;
  await import(pathToFileURL(path.resolve(f)).href);
  for (const t of tests.slice(before)) t.name = `${path.basename(f)}: ${t.name}`;
}

// Dry run: every test must pass unmutated; record the mutants each one reaches.
const reached = [];
for (const [i, t] of tests.entries()) {
  ns.currentTestId = String(i);
  try {
    await runOne(t);
  } catch (e) {
    console.error("the unmutated source fails:", t.name, e);
    process.exit(2);
  }
  reached.push(new Set(Object.keys(ns.mutantCoverage?.perTest?.[String(i)] ?? {})));
}
ns.currentTestId = undefined;
// mutants reached while loading (outside any test) may matter to every test
const loadTime = new Set(Object.keys(ns.mutantCoverage?.static ?? {}));
const ids = fs.readFileSync(idsFile, "utf8").split("\n").filter(Boolean);
console.error(
  `tests ${tests.length}, mutants reached at load ${loadTime.size}, mutants ${ids.length}`,
);

for (const id of ids) {
  const covering = [...tests.keys()].filter((i) => loadTime.has(id) || reached[i].has(id));
  if (covering.length === 0) {
    console.log(`${id}\tNoCoverage\t`);
    continue;
  }
  ns.activeMutant = id;
  // child processes a test starts (crash tests) run the same mutant
  process.env.__STRYKER_ACTIVE_MUTANT__ = id;
  let status = "Survived";
  let by = "";
  for (const i of covering) {
    ns.hitCount = 0;
    ns.hitLimit = HIT_LIMIT;
    try {
      await runOne(tests[i]);
    } catch (e) {
      if (e?.message === "hang") {
        // the hung test still runs in the background: this process is no longer clean
        console.log(`${id}\tTimeout\t${tests[i].name} (no end in ${TEST_TIMEOUT_MS} ms)`);
        process.exit(EXIT_RESTART);
      }
      const endless = String(e?.message ?? e).startsWith("Stryker: Hit count limit");
      status = endless ? "Timeout" : "Killed";
      by = tests[i].name;
      break;
    }
  }
  ns.activeMutant = undefined;
  delete process.env.__STRYKER_ACTIVE_MUTANT__;
  ns.hitCount = undefined;
  console.log(`${id}\t${status}\t${by}`);
}
// open handles (a file a killed test never closed) must not keep the process alive
process.exit(0);
