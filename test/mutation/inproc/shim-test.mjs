/**
 * Stands in for node:test in the in-process runner (hooks.mjs maps the import here):
 * `describe` and `test` only collect, so one process can run the same tests once per
 * mutant. Covers what test/unit/raft/ and test/unit/storage/ use: describe/test/it,
 * the `skip` and `todo` options, and a test context with `after` and `mock` (node:test's
 * own mock tracker, one per run, reset after it).
 */
import { mock as realMock } from "node:test";

/** Every test collected so far: its name (suites joined by " > ") and body. */
export const tests = [];
const suites = [];

/** Runs the suite body at once, naming the tests it declares. */
export function describe(name, opts, fn) {
  const body = typeof opts === "function" ? opts : fn;
  if (typeof opts === "object" && opts !== null && (opts.skip || opts.todo)) return;
  suites.push(name);
  try {
    body();
  } finally {
    suites.pop();
  }
}

/** Collects a test; skipped and todo tests are left out, other options ignored. */
export function test(name, opts, fn) {
  const body = typeof opts === "function" ? opts : fn;
  if (typeof opts === "object" && opts !== null && (opts.skip || opts.todo)) return;
  tests.push({ name: [...suites, name].join(" > "), fn: body });
}
test.skip = () => {};
test.todo = () => {};
describe.skip = () => {};

/**
 * Runs one collected test with a fresh context: its `t.after` callbacks run last, in
 * reverse order, and its mocks are restored, whether the body passed or threw.
 */
export async function runTest(entry) {
  const afters = [];
  const tracker = new realMock.constructor();
  const t = {
    name: entry.name,
    mock: tracker,
    after: (f) => afters.push(f),
    diagnostic: () => {},
  };
  try {
    await entry.fn(t);
  } finally {
    for (const f of afters.reverse()) await f();
    tracker.reset();
  }
}

/** node:test's alias of test. */
export const it = test;
export default test;
