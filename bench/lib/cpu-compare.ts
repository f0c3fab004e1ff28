/**
 * What bench/download-cpu.ts and bench/upload-cpu.ts share: the systems compared (this
 * tree and a `--base` checkout, both as compiled nodes), the client process that runs a
 * system's own client library and talks to the harness one line at a time, and the node
 * flags that make V8 write a CPU profile of every node.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT, type ServerEntry } from "../../src/cluster/index.ts";
import { buildCompiledEntry } from "./compiled-entry.ts";

/** One checkout under test: its name in the report, its root and its compiled nodes. */
export interface CpuSystem {
  readonly name: string;
  readonly root: string;
  readonly entry: ServerEntry;
}

/** This tree ("this") and, given `base`, that checkout ("base"), each built once. */
export function cpuSystems(base: string | undefined): CpuSystem[] {
  const systems: CpuSystem[] = [{ name: "this", root: REPO_ROOT, entry: buildCompiledEntry() }];
  if (base !== undefined) {
    const root = resolve(base);
    systems.push({ name: "base", root, entry: buildCompiledEntry(root) });
  }
  return systems;
}

/** The systems in round `r`'s order: alternated, so neither always runs first. */
export function roundOrder<T>(systems: readonly T[], r: number): readonly T[] {
  return r % 2 === 0 ? systems : [...systems].reverse();
}

/**
 * `entry` with `node --cpu-prof` writing into `dir`: V8 writes one profile per process
 * when it exits normally (stop the nodes with SIGINT, not SIGKILL).
 */
export function profiledEntry(entry: ServerEntry, dir: string): ServerEntry {
  mkdirSync(dir, { recursive: true });
  return { ...entry, args: ["--cpu-prof", `--cpu-prof-dir=${resolve(dir)}`, ...entry.args] };
}

/** A client process: a script the harness drives one stdin line at a time. */
export interface ClientProcess {
  /** The next line the client printed; throws if it ended first. */
  next(): Promise<string>;
  /** Sends one line to the client's stdin. */
  send(line: string): void;
  /** Closes its stdin with a last line and waits for it to exit. */
  finish(line: string): Promise<void>;
}

/**
 * The start of every client script (`clientScript`'s source): its imports, its arguments
 * (`root endpoints mib profile`), a `DfsClient` of that checkout and a 1 MiB block of
 * fixed pseudo-random bytes, so the upload and download benchmarks drive alike.
 */
export const CLIENT_PRELUDE = `import { Session } from "node:inspector/promises";
import { writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
const [root, endpoints, mib, profile] = process.argv.slice(2);
const { DfsClient } = await import(root + "/src/client/index.ts");
const MiB = 1024 * 1024;
const client = new DfsClient({ endpoints: endpoints.split(","), timeoutMs: 900_000 });
const block = Buffer.alloc(MiB);
for (let i = 0; i < MiB; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i);`;

/**
 * Writes `source` (an ES module) to a fresh temporary file once and returns a starter
 * that runs it under tsx with `args`, from `cwd` (so it imports that checkout's client).
 */
export function clientScript(
  name: string,
  source: string,
): (cwd: string, args: readonly string[]) => ClientProcess {
  const file = join(mkdtempSync(join(tmpdir(), `${name}-`)), "client.mts");
  writeFileSync(file, source);
  return (cwd, args) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
      cwd,
      stdio: ["pipe", "pipe", "inherit"],
    });
    const exited = new Promise((done) => child.on("exit", done));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return {
      async next() {
        const line = await lines.next();
        if (line.done) throw new Error("the client process ended early");
        return line.value;
      },
      send(line) {
        child.stdin.write(`${line}\n`);
      },
      async finish(line) {
        child.stdin.end(`${line}\n`);
        await exited;
      },
    };
  };
}
