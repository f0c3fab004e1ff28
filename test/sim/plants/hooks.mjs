/**
 * Module loader hooks (node:module register) that plant a bug: the `load` hook rewrites
 * the source text of each file the plant patches before tsx compiles it. register.mjs
 * registers these hooks *before* tsx registers its own, so tsx's `load` runs first, asks
 * this hook (its `nextLoad`) for the file's source, and compiles the patched TypeScript.
 * Each patched file is reported back on the port, so the run can prove the plant loaded.
 */
import { fileURLToPath } from "node:url";
import { patchSource, plantNamed } from "./registry.mjs";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** @type {import("./registry.d.mts").Plant | null} */
let plant = null;
/** @type {import("node:worker_threads").MessagePort | null} */
let port = null;

/** Receives the plant's name (and a port to report patched files on) from register.mjs. */
export function initialize(data) {
  plant = plantNamed(data.plant);
  port = data.port ?? null;
}

/** Patches the source of the files the plant names; everything else passes through. */
export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (plant === null || !url.startsWith("file:") || result.source == null) return result;
  const path = fileURLToPath(url);
  if (!path.startsWith(ROOT)) return result;
  const file = path.slice(ROOT.length).split("\\").join("/");
  if (!plant.patches.some((p) => p.file === file)) return result;
  const source = patchSource(plant, file, String(result.source));
  port?.postMessage({ patched: file });
  return { ...result, source };
}
