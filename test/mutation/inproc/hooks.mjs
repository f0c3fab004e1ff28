/**
 * Module hooks of the in-process runner: `node:test` resolves to shim-test.mjs, except
 * for the shim itself, which borrows node:test's real mock tracker.
 */
const shim = new URL("./shim-test.mjs", import.meta.url).href;

/** Sends imports of node:test to the stand-in, everything else on. */
export async function resolve(specifier, context, next) {
  if (specifier === "node:test" && context.parentURL !== shim) {
    return { url: shim, shortCircuit: true };
  }
  return next(specifier, context);
}
