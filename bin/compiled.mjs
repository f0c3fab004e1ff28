/**
 * Where the compiled dfs is, for bin/dfs.mjs and the seed's scripts/run_*.ts: dist/ as
 * `npm run build` leaves it. Refuses to hand out a dist/ that is missing, or (in a
 * checkout, where src/ sits beside it) older than any file in src/: running stale code
 * silently is worse than one line saying to rebuild. Exits with code 2, the CLI's code
 * for bad configuration (docs/operations.md, exit codes).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Written by scripts/build.mjs last, dated when that build started. */
const STAMP = join(ROOT, "dist", ".build-stamp");
const EXIT_CONFIG = 2;

/** URL of `dist/<path>`, or exits after one line on stderr if dist/ is missing or stale. */
export function compiled(path) {
  const problem = distProblem();
  if (problem !== null) {
    process.stderr.write(`dfs: error: ${problem}; run \`npm run build\`\n`);
    process.exit(EXIT_CONFIG);
  }
  return new URL(`../dist/${path}`, import.meta.url).href;
}

function distProblem() {
  if (!existsSync(STAMP)) return `no compiled dfs in ${join(ROOT, "dist")}`;
  const src = join(ROOT, "src");
  if (!existsSync(src)) return null; // the installed package: dist/ only
  const built = statSync(STAMP).mtimeMs;
  for (const file of readdirSync(src, { recursive: true })) {
    if (statSync(join(src, file)).mtimeMs > built) return `dist/ is older than src/${file}`;
  }
  return null;
}
