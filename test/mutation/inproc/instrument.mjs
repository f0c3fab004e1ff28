/**
 * Step 1 of the in-process run (README.md): instruments FILES with Stryker 9.6's own
 * instrumenter, the same mutants and mutant switches `stryker run` makes, and writes the
 * instrumented sources under OUT plus OUT/mutants.json (id, file, mutator, replacement,
 * location with 0-based lines and columns).
 *
 *   node instrument.mjs OUT FILE...
 */
import fs from "node:fs";
import path from "node:path";
import { Instrumenter } from "@stryker-mutator/instrumenter";

const [out, ...files] = process.argv.slice(2);
const log = {
  debug() {},
  info: console.error,
  warn: console.error,
  error: console.error,
  isDebugEnabled: () => false,
  isTraceEnabled: () => false,
  trace() {},
};
const inst = new Instrumenter(log);
const res = await inst.instrument(
  files.map((f) => ({ name: path.resolve(f), mutate: true, content: fs.readFileSync(f, "utf8") })),
  { plugins: null, excludedMutations: [], ignorers: [] },
);
for (const f of res.files) {
  const rel = path.relative(process.cwd(), f.name);
  fs.mkdirSync(path.dirname(path.join(out, rel)), { recursive: true });
  fs.writeFileSync(path.join(out, rel), f.content);
}
fs.writeFileSync(
  path.join(out, "mutants.json"),
  JSON.stringify(
    res.mutants.map((m) => ({ ...m, fileName: path.relative(process.cwd(), m.fileName) })),
    null,
    1,
  ),
);
