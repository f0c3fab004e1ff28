/**
 * Runs the real `dfs` CLI as a child process, the way users do, and collects what it
 * printed. Asynchronous on purpose: tests that serve fake nodes from this same process
 * must keep their event loop running while the CLI talks to them.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The package root, so `--import tsx` resolves and relative paths mean what they say. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** What one CLI run produced. */
export interface DfsRun {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Options of one run. */
export interface RunOptions {
  /** Bytes fed to stdin, then EOF; stdin is empty when absent. */
  readonly stdin?: Uint8Array;
  /** Never close stdin, as a terminal would not; for checks that stdin is not read. */
  readonly keepStdinOpen?: boolean;
  /** Extra environment; DFS_ENDPOINTS and DFS_DEBUG are cleared unless given here. */
  readonly env?: Record<string, string>;
  /** Kill the CLI if it runs longer than this (a hang is a failure, not a stuck suite). */
  readonly killAfterMs?: number;
}

/** Runs `node --import tsx src/cli/main.ts ...args`. */
export function runDfs(args: readonly string[], options: RunOptions = {}): Promise<DfsRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, DFS_ENDPOINTS: "", DFS_DEBUG: "" };
  delete env.DFS_ENDPOINTS;
  delete env.DFS_DEBUG;
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: PACKAGE_ROOT,
    env: { ...env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  child.stdin.on("error", () => undefined); // the CLI may exit before reading stdin
  if (!options.keepStdinOpen) child.stdin.end(options.stdin ?? Buffer.alloc(0));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.killAfterMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
  });
}

/**
 * Asserts the CLI's failure contract: the given exit code, exactly one line on stderr,
 * matching `pattern`, and no stack trace.
 */
export function assertOneLineError(run: DfsRun, code: number, pattern: RegExp): void {
  const lines = run.stderr.split("\n").filter((line) => line !== "");
  assert.equal(run.code, code, `exit code; stderr was: ${run.stderr}`);
  assert.equal(lines.length, 1, `expected one stderr line, got: ${JSON.stringify(run.stderr)}`);
  assert.match(lines[0] ?? "", pattern);
  assert.doesNotMatch(run.stderr, /\n\s+at /, "stack trace printed");
}
