/**
 * Big files through real processes with memory measured from /proc (issue #7): no node
 * and no client holds a file in memory. The CLI uploads and downloads a file of
 * FILE_MIB MiB (256 by default; `DFS_LONG=1` runs 1 GiB and 5 GiB) while every process's
 * anonymous memory (RssAnon: heap and buffers, not the page cache of files it reads) is
 * sampled; the peaks must stay under fixed bounds that do not grow with the file.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LocalCluster, REPO_ROOT } from "../../src/cluster/index.ts";

const MiB = 1024 * 1024;
/** Bounds on peak anonymous memory, independent of the file size. */
const NODE_BOUND_MIB = 512;
const CLIENT_BOUND_MIB = 256;

const SIZES_MIB =
  process.env.DFS_LONG === "1" ? [1024, 5120] : [Number(process.env.FILE_MIB ?? 256)];

async function rssAnonMiB(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    return Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0; // exited between samples
  }
}

/** Samples the peak RssAnon of `pids()` every 100 ms until stopped. */
function sampler(pids: () => (number | undefined)[]) {
  const peaks = new Map<number, number>();
  const timer = setInterval(async () => {
    for (const pid of pids()) {
      if (pid === undefined) continue;
      peaks.set(pid, Math.max(peaks.get(pid) ?? 0, await rssAnonMiB(pid)));
    }
  }, 100);
  return { peaks, stop: () => clearInterval(timer) };
}

async function writeRandomFile(path: string, mib: number): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(path, "w");
  for (let i = 0; i < mib; i++) {
    const block = randomBytes(MiB);
    hash.update(block);
    await handle.write(block);
  }
  await handle.close();
  return hash.digest("hex");
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk);
  return hash.digest("hex");
}

function runCli(args: string[]): {
  proc: ChildProcess;
  done: Promise<{ code: number | null; stderr: string }>;
} {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    proc.on("exit", (code) => resolve({ code, stderr })),
  );
  return { proc, done };
}

describe("big files: memory stays bounded", { timeout: 3_600_000 }, () => {
  let cluster: LocalCluster;
  let dir: string;

  before(async () => {
    cluster = await LocalCluster.start();
    dir = await mkdtemp(join(tmpdir(), "dfs-bigfile-"));
  });
  after(async () => {
    await cluster?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  for (const mib of SIZES_MIB) {
    it(`a ${mib} MiB file up and down through the CLI`, async () => {
      const src = join(dir, `in-${mib}.bin`);
      const digest = await writeRandomFile(src, mib);
      const endpoints = ["--endpoints", cluster.endpoints().join(","), "--timeout", "60000"];
      const nodePids = () => cluster.nodes.map((n) => n.proc?.pid);

      const up = runCli(["put", `big/${mib}`, "--file", src, ...endpoints]);
      const upMem = sampler(() => [...nodePids(), up.proc.pid]);
      let started = Date.now();
      const upResult = await up.done;
      const upSeconds = (Date.now() - started) / 1000;
      upMem.stop();
      assert.equal(upResult.code, 0, upResult.stderr);

      const out = join(dir, `out-${mib}.bin`);
      const down = runCli(["get", `big/${mib}`, "-o", out, ...endpoints]);
      const downMem = sampler(() => [...nodePids(), down.proc.pid]);
      started = Date.now();
      const downResult = await down.done;
      const downSeconds = (Date.now() - started) / 1000;
      downMem.stop();
      assert.equal(downResult.code, 0, downResult.stderr);
      assert.equal(await sha256File(out), digest, "downloaded bytes are the uploaded bytes");
      await rm(out);
      await rm(src);

      const report = (peaks: Map<number, number>, client: number | undefined) =>
        [...peaks]
          .map(([pid, mb]) => `${pid === client ? "client" : `node(${pid})`} ${mb.toFixed(0)} MiB`)
          .join(", ");
      console.log(
        `# ${mib} MiB: upload ${(mib / upSeconds).toFixed(1)} MiB/s, download ${(mib / downSeconds).toFixed(1)} MiB/s; ` +
          `peak RssAnon up: ${report(upMem.peaks, up.proc.pid)}; down: ${report(downMem.peaks, down.proc.pid)}`,
      );
      for (const [peaks, client] of [
        [upMem.peaks, up.proc.pid],
        [downMem.peaks, down.proc.pid],
      ] as const) {
        for (const [pid, mb] of peaks) {
          const bound = pid === client ? CLIENT_BOUND_MIB : NODE_BOUND_MIB;
          assert.ok(
            mb < bound,
            `${pid === client ? "client" : "node"} ${pid} peaked at ${mb.toFixed(0)} MiB anonymous (bound ${bound})`,
          );
        }
      }
    });
  }
});
