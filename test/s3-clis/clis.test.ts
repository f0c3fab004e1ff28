/**
 * The S3 endpoint driven by real S3 command-line clients from Debian's packages (`aws`,
 * `rclone`, `s3cmd`; .ci/run installs them when missing): nobody here wrote them, so they
 * check the gateway against what the S3 world actually sends (aws-chunked bodies, multipart
 * of the 9 MiB files, ETag checks, listings with delimiters and pages of 1,000).
 *
 *   node --import tsx --test test/s3-clis/clis.test.ts      (needs `npm run build` first)
 *
 * Seeded: DFS_TEST_SEED=<n> replays the same tree.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  S3_ACCESS_KEY,
  S3_REGION,
  S3_SECRET_KEY,
  type S3Cluster,
  startS3Cluster,
} from "./s3-cluster.ts";
import { treeDifference, writeTree } from "./tree.ts";

const run = promisify(execFile);
const seed = Number(process.env.DFS_TEST_SEED ?? Date.now() % 1_000_000);
const FILES = 1000;

describe("real S3 CLIs against nodes serving S3 (dfs server --s3-port)", {
  timeout: 1_500_000,
}, () => {
  let s3: S3Cluster;
  let dir: string;
  let src: string;
  let env: NodeJS.ProcessEnv;

  /** Runs a CLI; its output on failure names the command. */
  async function cli(cmd: string, args: string[]): Promise<string> {
    try {
      const { stdout } = await run(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(
        `${cmd} ${args.join(" ")} failed: ${e.message}\n${e.stderr?.slice(-3000) ?? ""}\n--- node logs ---\n${s3.cluster.logs(3000)}`,
      );
    }
  }

  before(async () => {
    console.log(
      `seed ${seed} (replay: DFS_TEST_SEED=${seed} node --import tsx --test test/s3-clis/clis.test.ts)`,
    );
    dir = await mkdtemp(join(tmpdir(), "dfs-s3-clis-"));
    src = join(dir, "src");
    await writeTree(src, FILES, seed);
    s3 = await startS3Cluster({ mode: "server" }); // each node serves S3 itself
    await writeFile(
      join(dir, "aws-config"),
      `[default]\nregion = ${S3_REGION}\ns3 =\n  addressing_style = path\n`,
    );
    await writeFile(
      join(dir, "s3cfg"),
      [
        "[default]",
        `access_key = ${S3_ACCESS_KEY}`,
        `secret_key = ${S3_SECRET_KEY}`,
        `host_base = ${s3.endpoint.replace("http://", "")}`,
        `host_bucket = ${s3.endpoint.replace("http://", "")}`,
        `bucket_location = ${S3_REGION}`,
        "use_https = False",
        "signature_v2 = False",
        "multipart_chunk_size_mb = 5",
        "",
      ].join("\n"),
    );
    env = {
      PATH: "/usr/bin:/bin",
      HOME: dir,
      AWS_CONFIG_FILE: join(dir, "aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"),
      AWS_ACCESS_KEY_ID: S3_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
      AWS_DEFAULT_REGION: S3_REGION,
      AWS_EC2_METADATA_DISABLED: "true",
      RCLONE_CONFIG: join(dir, "rclone.conf"),
      RCLONE_CONFIG_DFS_TYPE: "s3",
      RCLONE_CONFIG_DFS_PROVIDER: "Other",
      RCLONE_CONFIG_DFS_ACCESS_KEY_ID: S3_ACCESS_KEY,
      RCLONE_CONFIG_DFS_SECRET_ACCESS_KEY: S3_SECRET_KEY,
      RCLONE_CONFIG_DFS_ENDPOINT: s3.endpoint,
      RCLONE_CONFIG_DFS_REGION: S3_REGION,
      RCLONE_CONFIG_DFS_FORCE_PATH_STYLE: "true",
    };
  });
  after(async () => {
    await s3?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it(`aws s3 sync: ${FILES} files in nested folders up, then down to a new folder, byte-identical`, async () => {
    const aws = (...a: string[]) => cli("/usr/bin/aws", ["--endpoint-url", s3.endpoint, ...a]);
    await aws("s3", "mb", "s3://clis-aws");
    await aws("s3", "sync", "--only-show-errors", src, "s3://clis-aws/tree");
    const listed = await aws("s3", "ls", "--recursive", "s3://clis-aws/tree/");
    assert.equal(listed.trim().split("\n").length, FILES, "aws s3 ls --recursive lists every file");
    const again = await aws("s3", "sync", src, "s3://clis-aws/tree");
    assert.equal(again.trim(), "", "a second sync finds nothing to upload");
    const down = join(dir, "aws-down");
    await aws("s3", "sync", "--only-show-errors", "s3://clis-aws/tree", down);
    assert.equal(await treeDifference(src, down), null);
  });

  it(`rclone sync: ${FILES} files up, down to a new folder, byte-identical; rclone check agrees`, async () => {
    const rclone = (...a: string[]) =>
      cli("/usr/bin/rclone", [...a, "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"]);
    await rclone("mkdir", "dfs:clis-rclone");
    await rclone("sync", src, "dfs:clis-rclone/tree");
    await rclone("check", src, "dfs:clis-rclone/tree");
    const down = join(dir, "rclone-down");
    await rclone("sync", "dfs:clis-rclone/tree", down);
    assert.equal(await treeDifference(src, down), null);
  });

  it("s3cmd put, ls, get (small and 9 MiB multipart), del", async () => {
    const s3cmd = (...a: string[]) => cli("/usr/bin/s3cmd", ["-c", join(dir, "s3cfg"), ...a]);
    await s3cmd("mb", "s3://clis-s3cmd");
    const small = join(dir, "small.txt");
    await writeFile(small, "hello from s3cmd\n");
    const bigPath = (await run("find", [src, "-name", "f1.bin"])).stdout.trim(); // 9 MiB
    assert.notEqual(bigPath, "", "the tree has its 9 MiB file f1.bin");
    await s3cmd("put", small, "s3://clis-s3cmd/docs/small.txt");
    await s3cmd("put", bigPath, "s3://clis-s3cmd/big.bin");
    const ls = await s3cmd("ls", "-r", "s3://clis-s3cmd");
    assert.match(ls, /s3:\/\/clis-s3cmd\/docs\/small\.txt/);
    assert.match(ls, /s3:\/\/clis-s3cmd\/big\.bin/);
    const top = await s3cmd("ls", "s3://clis-s3cmd");
    assert.match(top, /DIR\s+s3:\/\/clis-s3cmd\/docs\//, "one level: docs/ is a common prefix");
    await s3cmd("get", "s3://clis-s3cmd/docs/small.txt", join(dir, "small.back"));
    await s3cmd("get", "s3://clis-s3cmd/big.bin", join(dir, "big.back"));
    assert.equal(await readFile(join(dir, "small.back"), "utf8"), "hello from s3cmd\n");
    assert.ok((await readFile(join(dir, "big.back"))).equals(await readFile(bigPath)));
    await s3cmd("del", "s3://clis-s3cmd/docs/small.txt");
    await s3cmd("del", "s3://clis-s3cmd/big.bin");
    assert.equal((await s3cmd("ls", "-r", "s3://clis-s3cmd")).trim(), "");
  });
});
