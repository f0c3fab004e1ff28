/**
 * `npm run build` (also run by `prepare`, so `npm ci`, `npm install` in a clone and
 * `npm pack` leave a working dist/): compiles src/ to JavaScript in dist/ with tsc
 * (tsconfig.build.json: `.ts` imports become `.js`, declarations for the library),
 * copies the files the code loads by path (e.g. src/fsm/lmdb-probe.mjs), and writes
 * dist/.build-stamp dated when the build started: bin/compiled.mjs refuses to run a
 * dist/ older than any file in src/. The web console's page (src/web/ui/, browser code)
 * is not compiled by tsc but bundled by esbuild into dist/console/ (build-console.mjs).
 */
import { spawnSync } from "node:child_process";
import { closeSync, cpSync, openSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "./build-console.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const started = new Date();
rmSync(join(root, "dist"), { recursive: true, force: true }); // no outputs of deleted sources

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const compile = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
  cwd: root,
  stdio: "inherit",
});
if (compile.status !== 0) {
  process.stderr.write("build: tsc failed; dist/ is incomplete\n");
  process.exit(compile.status ?? 1);
}

// Runtime files that are not TypeScript: plain ES modules the code loads by path (today
// src/fsm/lmdb-probe.mjs, run in a child process). Only .mjs is copied, so an editor's
// swap file or a merge's .orig never ships.
const assets = readdirSync(join(root, "src"), { recursive: true, withFileTypes: true }).filter(
  (entry) => entry.isFile() && entry.name.endsWith(".mjs"),
);
for (const entry of assets) {
  const from = join(entry.parentPath, entry.name);
  const to = join(root, "dist", from.slice(join(root, "src").length));
  cpSync(from, to);
}

await buildConsole();

const stamp = join(root, "dist", ".build-stamp");
closeSync(openSync(stamp, "w"));
utimesSync(stamp, started, started);
const copied = assets.map((entry) => entry.name).join(", ") || "none";
process.stdout.write(
  `build: dist/ compiled from src/ (assets copied: ${copied}; console page in dist/console/)\n`,
);
