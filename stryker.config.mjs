/**
 * Mutation testing (docs/mutation.md): `npm run mutate`, outside CI (too slow for it).
 *
 * Stryker mutates the consensus core, the storage layer and the state machine's apply
 * rules, and runs each mutant against the unit tests of those layers plus a few fixed
 * simulator seeds (test/mutation/sim-seeds.test.ts). The tap runner starts one
 * `node --import tsx` process per test file (node:test prints TAP when its output is
 * not a terminal) and records coverage per file, so a mutant runs only the files that
 * reach it, stopping at the first that fails. The TypeScript checker drops mutants that
 * do not compile before any test runs.
 *
 * Narrow a run with Stryker's own flags, e.g.
 *   npm run mutate -- --mutate src/raft/quorum.ts
 *   npm run mutate -- --mutate src/raft/progress.ts --testFiles 'test/unit/raft/*.test.ts'
 * Reports go to reports/mutation/ (gitignored); the sandbox to .stryker-tmp/ (gitignored).
 */

/**
 * The unit tests of the mutated layers, the two tests elsewhere that pin core rules (the
 * peer edge shares src/raft/message-rules.ts; the event loop halts on a broken invariant),
 * and the fixed simulator seeds.
 */
const TEST_FILES = [
  "test/unit/raft/*.test.ts",
  "test/unit/storage/*.test.ts",
  "test/unit/fsm/*.test.ts",
  "test/unit/transport/message-checks.test.ts",
  "test/sim/invariant-halt.test.ts",
  "test/mutation/*.test.ts",
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: "npm",
  mutate: [
    "src/raft/**/*.ts",
    "!src/raft/index.ts",
    // the seam that opens the sealed core to tests; shipped code never imports it
    "!src/raft/testing.ts",
    "src/storage/**/*.ts",
    "!src/storage/index.ts",
    // the state machine's apply rules and what they run on
    "src/fsm/apply-command.ts",
    "src/fsm/upload-rules.ts",
    "src/fsm/sessions.ts",
    "src/fsm/kv-backend.ts",
    "src/fsm/commands.ts",
  ],
  testRunner: "tap",
  tap: {
    testFiles: TEST_FILES,
    // {{hookFile}} is Stryker's coverage and active-mutant hook, loaded before tsx
    nodeArgs: ["-r", "{{hookFile}}", "--import", "tsx", "--test-reporter=tap", "{{testFile}}"],
    forceBail: true,
  },
  coverageAnalysis: "perTest",
  checkers: ["typescript"],
  // src/ only: a mutant that breaks a test's types still runs (tsx does not type-check)
  tsconfigFile: "tsconfig.stryker.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  incrementalFile: "reports/mutation/stryker-incremental.json",
  clearTextReporter: { allowEmojis: false, reportScoreTable: true, reportMutants: true },
  thresholds: { high: 90, low: 80, break: null },
  // a shared 2-core machine under nice is slow to schedule; a sim seed takes seconds
  timeoutMS: 10_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 15,
  ignorePatterns: ["/dist", "/data", "/bench/results", "/tmp", "*.cpuprofile"],
  tempDirName: ".stryker-tmp",
};
