/**
 * Planted bugs for measuring the simulator (docs/testing.md#planted-bugs): the registry,
 * and how a process runs with one planted (register.mjs before tsx, DFS_PLANT set).
 */
import { fileURLToPath } from "node:url";
import { PLANTS, type Plant, plantNamed } from "./registry.mjs";

export { type Patch, PLANTS, type Plant, patchSource, plantNamed } from "./registry.mjs";

/** What register.mjs leaves on globalThis when it planted a bug in this process. */
interface PlantState {
  readonly name: string;
  readonly patched: ReadonlySet<string>;
}

/** The plant active in this process, if register.mjs ran with DFS_PLANT set. */
export function activePlant(): PlantState | undefined {
  return (globalThis as { __dfsPlant?: PlantState }).__dfsPlant;
}

/** Node arguments and environment that run a script with `name` planted. */
export function plantedProcess(name: string): { execArgv: string[]; env: NodeJS.ProcessEnv } {
  plantNamed(name);
  const register = fileURLToPath(new URL("./register.mjs", import.meta.url));
  return {
    execArgv: ["--import", register, "--import", "tsx"],
    env: { ...process.env, DFS_PLANT: name },
  };
}

/** The files `plant` patches, each once. */
export function plantFiles(plant: Plant): string[] {
  return [...new Set(plant.patches.map((p) => p.file))];
}

/**
 * Throws unless every file the active plant patches was loaded and patched: a plant
 * whose files this process never loaded would measure nothing.
 */
export function assertPlantLoaded(): void {
  const state = activePlant();
  if (state === undefined) throw new Error("no plant is active in this process");
  const missing = plantFiles(plantNamed(state.name)).filter((f) => !state.patched.has(f));
  if (missing.length > 0) {
    throw new Error(`plant ${state.name}: ${missing.join(", ")} never loaded patched`);
  }
}

/** Names of every registered plant. */
export function plantNames(): string[] {
  return PLANTS.map((p) => p.name);
}
