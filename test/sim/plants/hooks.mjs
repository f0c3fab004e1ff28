/**
 * Module loader hooks that plant a bug: the `load` hook rewrites the source text of each
 * file the plant patches before tsx compiles it. register.mjs registers them *before* tsx
 * registers its own, so tsx's `load` runs first, asks this hook (its `nextLoad`) for the
 * file's source, and compiles the patched TypeScript. Each patched file is reported, so
 * the run can prove the plant loaded.
 *
 * Two flavours, because tsx uses two: off-thread hooks (`module.register`: `initialize`
 * and `load` below, reporting on a port) on Node 20, and in-thread hooks
 * (`module.registerHooks`: `patchLoaded` from register.mjs) where tsx uses those (Node
 * 22.22.3+, 24.11.1+; see `tsxHooksInThread`).
 */
import { fileURLToPath } from "node:url";
import { patchSource, plantNamed } from "./registry.mjs";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** @type {import("./registry.d.mts").Plant | null} */
let plant = null;
/** @type {import("node:worker_threads").MessagePort | null} */
let port = null;

/**
 * Whether tsx (4.x) registers in-thread hooks on this Node version: the same version
 * table tsx checks before it prefers `module.registerHooks` over `module.register`.
 */
export function tsxHooksInThread(version = process.versions.node) {
  const [major, minor, patch] = version.split(".").map(Number);
  const atLeast = ([a, b, c]) =>
    major > a || (major === a && (minor > b || (minor === b && patch >= c)));
  const firsts = [
    [22, 22, 3],
    [24, 11, 1],
    [25, 1, 0],
    [26, 0, 0],
  ];
  const line = firsts.find(([a]) => a === major) ?? (major > 26 ? [major, 0, 0] : null);
  return line !== null && atLeast(line);
}

/**
 * The source of a loaded module with the plant's patches applied when it is one of the
 * plant's files (reported through `onPatched`); anything else is returned as it was.
 */
export function patchLoaded(activePlant, url, result, onPatched) {
  if (!url.startsWith("file:") || result.source == null) return result;
  const path = fileURLToPath(url);
  if (!path.startsWith(ROOT)) return result;
  const file = path.slice(ROOT.length).split("\\").join("/");
  if (!activePlant.patches.some((p) => p.file === file)) return result;
  const source = patchSource(activePlant, file, String(result.source));
  onPatched(file);
  return { ...result, source };
}

/** Off-thread: receives the plant's name (and a port to report patched files on). */
export function initialize(data) {
  plant = plantNamed(data.plant);
  port = data.port ?? null;
}

/** Off-thread: patches the source of the files the plant names. */
export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (plant === null) return result;
  return patchLoaded(plant, url, result, (file) => port?.postMessage({ patched: file }));
}
