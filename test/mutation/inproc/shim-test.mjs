/**
 * Stands in for node:test in the in-process runner (hooks.mjs maps the import here):
 * `describe` and `test` only collect, so one process can run the same tests once per
 * mutant. Enough for the synchronous describe/test suites of test/unit/raft/.
 */

/** Every test collected so far: its name (suites joined by " > ") and body. */
export const tests = [];
const suites = [];

/** Runs the suite body at once, naming the tests it declares. */
export function describe(name, fn) {
  suites.push(name);
  try {
    fn();
  } finally {
    suites.pop();
  }
}

/** Collects a test; options, if given, are ignored. */
export function test(name, opts, fn) {
  const body = typeof opts === "function" ? opts : fn;
  tests.push({ name: [...suites, name].join(" > "), fn: body });
}

/** node:test's alias of test. */
export const it = test;
export default test;
