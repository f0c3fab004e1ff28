/**
 * `npm run bench:s3`: what the S3 endpoint costs beside the native CLI, on the same
 * 3-node cluster (compiled nodes, every node serving S3 with `--s3-port`):
 *
 *   1. a 256 MiB object (random bytes on disk): `dfs put --file` / `dfs get -o` against
 *      the leader, vs PutObject (one streamed request, `@aws-sdk/client-s3`) / GetObject
 *      written to disk, through the leader's gateway; and `aws s3 cp` both ways
 *      (multipart, 8 MiB parts, 10 at once) when Debian's awscli is installed;
 *   2. 4 KiB objects with 64 requests in flight for `--seconds` each: PutObject and
 *      GetObject ops/s, beside `DfsClient.put`/`get` at 64 in flight.
 *
 * Every figure is the median of `--rounds` (3) runs. Goal from issue 21: S3 PUT and GET
 * of the big object at ≥ 80 % of the native CLI's MB/s.
 *
 *   npx tsx bench/s3.ts [--mib 256] [--rounds 3] [--seconds 10] [--json]
 *
 * Results: printed, and written to bench/results/s3-<time>.md and .json.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { parseArgs, promisify } from "node:util";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { DfsClient } from "../src/client/index.ts";
import { LocalCluster, REPO_ROOT, waitFor } from "../src/cluster/index.ts";
import { buildCompiledEntry } from "./lib/compiled-entry.ts";
import { machineFacts } from "./lib/machine.ts";

const run = promisify(execFile);
const MiB = 1024 * 1024;
const ACCESS = "DFSBENCHACCESSKEY001";
const SECRET = "dfs-bench-secret-key-00000000000000000000";

const { values: flags } = parseArgs({
  options: {
    mib: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const bigBytes = Number(flags.mib) * MiB;
const rounds = Number(flags.rounds);
const seconds = Number(flags.seconds);

/** One measured figure: its runs and their median. */
interface Figure {
  readonly what: string;
  readonly unit: "MB/s" | "ops/s";
  readonly runs: number[];
  readonly median: number;
}

const figures: Figure[] = [];
const facts = machineFacts("not used");

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const entry = buildCompiledEntry();
  const work = await mkdtemp(join(tmpdir(), "dfs-bench-s3-"));
  // Each node binds its S3 port to 0 and announces the port it got: no race for ports.
  const s3Port = new Map<number, number>();
  const cluster = await LocalCluster.start({
    checkInvariants: false,
    entry,
    nodeArgs: () => ["--s3-port", "0"],
    env: { ...process.env, DFS_S3_ACCESS_KEY: ACCESS, DFS_S3_SECRET_KEY: SECRET },
    onLine: (node, line) => {
      const m = /S3 gateway on http:\/\/\S*:(\d+)/.exec(line);
      if (m !== null) s3Port.set(node.id, Number(m[1]));
    },
  });
  try {
    const leader = await cluster.waitForLeader();
    await waitFor("the leader's S3 port", () => s3Port.get(leader), 30_000);
    const endpoint = `http://127.0.0.1:${s3Port.get(leader)}`;
    facts.leader = `node ${leader}; native CLI and S3 both talk to it`;
    const s3 = new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET },
    });
    await s3.send(new CreateBucketCommand({ Bucket: "bench" }));
    const big = join(work, "big.bin");
    await writeBig(big);
    const dfs = (...args: string[]) =>
      run(
        process.execPath,
        [
          ...entry.args,
          ...args,
          "--endpoints",
          cluster.node(leader).address,
          "--timeout",
          "600000",
        ],
        {
          cwd: REPO_ROOT,
        },
      );
    await measureBig("native `dfs put --file`", () =>
      dfs("put", "bench/native.bin", "--file", big),
    );
    await measureBig("native `dfs get -o`", () =>
      dfs("get", "bench/native.bin", "-o", join(work, "n.out")),
    );
    await measureBig("S3 PutObject (SDK, one request)", () =>
      s3.send(
        new PutObjectCommand({
          Bucket: "bench",
          Key: "sdk.bin",
          Body: createReadStream(big),
          ContentLength: bigBytes,
        }),
      ),
    );
    await measureBig("S3 GetObject (SDK, to disk)", async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: "bench", Key: "sdk.bin" }));
      await pipeline(got.Body as NodeJS.ReadableStream, createWriteStream(join(work, "s.out")));
    });
    if (existsSync("/usr/bin/aws")) {
      const env = {
        PATH: "/usr/bin:/bin",
        HOME: work,
        AWS_ACCESS_KEY_ID: ACCESS,
        AWS_SECRET_ACCESS_KEY: SECRET,
        AWS_DEFAULT_REGION: "us-east-1",
        AWS_EC2_METADATA_DISABLED: "true",
      };
      const aws = (...a: string[]) =>
        run("/usr/bin/aws", ["--endpoint-url", endpoint, ...a], { env });
      await measureBig("`aws s3 cp` up (multipart 8 MiB × 10)", () =>
        aws("s3", "cp", "--only-show-errors", big, "s3://bench/aws.bin"),
      );
      await measureBig("`aws s3 cp` down", () =>
        aws("s3", "cp", "--only-show-errors", "s3://bench/aws.bin", join(work, "a.out")),
      );
    }
    await smallObjects(s3, new DfsClient({ endpoints: cluster.endpoints(), timeoutMs: 60_000 }));
    s3.destroy();
  } finally {
    await cluster.destroy();
    await rm(work, { recursive: true, force: true });
  }
  report();
}

async function writeBig(path: string): Promise<void> {
  const out = createWriteStream(path);
  for (let at = 0; at < bigBytes; at += 8 * MiB)
    out.write(randomBytes(Math.min(8 * MiB, bigBytes - at)));
  await new Promise<void>((resolve, reject) =>
    out.end((e?: Error | null) => (e ? reject(e) : resolve())),
  );
}

async function measureBig(what: string, op: () => Promise<unknown>): Promise<void> {
  const runs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    await op();
    runs.push(round(bigBytes / 1e6 / ((performance.now() - t) / 1000)));
    log(`${what}: ${runs.at(-1)} MB/s`);
  }
  figures.push({
    what: `${bigBytes / MiB} MiB: ${what}`,
    unit: "MB/s",
    runs,
    median: median(runs),
  });
}

/** 4 KiB objects, 64 in flight, for `seconds` each: S3 and native, put then get. */
async function smallObjects(s3: S3Client, native: DfsClient): Promise<void> {
  const value = randomBytes(4096);
  const keys = 2048;
  const ops: [string, (i: number) => Promise<unknown>][] = [
    [
      "S3 PutObject 4 KiB",
      (i) =>
        s3.send(new PutObjectCommand({ Bucket: "bench", Key: `small/${i % keys}`, Body: value })),
    ],
    [
      "S3 GetObject 4 KiB",
      async (i) => {
        const got = await s3.send(
          new GetObjectCommand({ Bucket: "bench", Key: `small/${i % keys}` }),
        );
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      },
    ],
    ["native DfsClient.put 4 KiB", (i) => native.put(`nsmall/${i % keys}`, value)],
    ["native DfsClient.get 4 KiB", (i) => native.get(`nsmall/${i % keys}`)],
  ];
  // Every key the gets read exists, however few puts a short round did.
  await fill(
    (i) => s3.send(new PutObjectCommand({ Bucket: "bench", Key: `small/${i}`, Body: value })),
    keys,
  );
  await fill((i) => native.put(`nsmall/${i}`, value), keys);
  for (const [what, op] of ops) {
    const runs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      runs.push(await closedLoop(op, 64, seconds * 1000));
      log(`${what}: ${runs.at(-1)} ops/s`);
    }
    figures.push({ what: `${what}, 64 in flight`, unit: "ops/s", runs, median: median(runs) });
  }
  native.close();
}

/** Runs `op` on 0..n-1, 64 at a time (unmeasured). */
async function fill(op: (i: number) => Promise<unknown>, n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) await op(next++);
    }),
  );
}

/** Ops/s of `width` workers each issuing `op` back to back for `ms`. */
async function closedLoop(
  op: (i: number) => Promise<unknown>,
  width: number,
  ms: number,
): Promise<number> {
  let next = 0;
  let done = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (performance.now() < end) {
        await op(next++);
        done++;
      }
    }),
  );
  return Math.round(done / ((performance.now() - start) / 1000));
}

function report(): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const base = join(REPO_ROOT, "bench", "results", `s3-${stamp}`);
  const ratio = (s3: string, native: string) => {
    const a = figures.find((f) => f.what.endsWith(s3));
    const b = figures.find((f) => f.what.endsWith(native));
    return a && b ? `${Math.round((100 * a.median) / b.median)} %` : "n/a";
  };
  const ratios = {
    "PUT: S3 PutObject / dfs put --file": ratio(
      "S3 PutObject (SDK, one request)",
      "native `dfs put --file`",
    ),
    "GET: S3 GetObject / dfs get -o": ratio("S3 GetObject (SDK, to disk)", "native `dfs get -o`"),
  };
  const rows = figures.map((f) => `| ${f.what} | ${f.median} ${f.unit} | ${f.runs.join(", ")} |`);
  const md = [
    `# bench:s3 ${stamp}`,
    "",
    ...Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "| what | median | runs |",
    "|---|---|---|",
    ...rows,
    "",
    ...Object.entries(ratios).map(([k, v]) => `- ${k}: ${v} (goal ≥ 80 %)`),
    "",
  ].join("\n");
  const json = `${JSON.stringify({ facts, bigBytes, rounds, seconds, figures, ratios }, null, 2)}\n`;
  mkdirSync(join(REPO_ROOT, "bench", "results"), { recursive: true });
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, json);
  process.stdout.write(flags.json ? json : md);
  log(`results: ${base}.md and .json`);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

await main();
