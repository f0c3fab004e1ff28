/**
 * Bundles the web console's page (src/web/ui/, Preact and uPlot) into dist/console/ with
 * esbuild: app.js, app.css and index.html, the three files src/web/assets.ts serves.
 * Run by `npm run build` (so by `npm install` through `prepare`) and by `npm run dev`
 * before it starts the cluster from src/, so both find the page. Exported for the build;
 * run directly it bundles once.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));

/** Bundles the page into `<root>/dist/console/`; resolves with the output directory. */
export async function buildConsole() {
  const { build } = await import("esbuild");
  const ui = join(root, "src", "web", "ui");
  const out = join(root, "dist", "console");
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: { app: join(ui, "main.tsx") },
    outdir: out,
    bundle: true,
    format: "esm",
    target: ["es2022"],
    minify: true,
    sourcemap: false,
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: join(ui, "tsconfig.json"),
    legalComments: "none",
    logLevel: "warning",
  });
  copyFileSync(join(ui, "index.html"), join(out, "index.html"));
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildConsole();
  process.stdout.write(`build: console page bundled into ${out}\n`);
}
