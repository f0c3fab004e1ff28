/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepare`), then
 * `npm install <tarball>` in an empty folder, as on a machine with only Node and npm.
 * From that folder only: `npx dfs --version`, a 3-node `dfs dev` cluster, a put and a
 * get through it, `dfs status` showing every node's version, the library import and its
 * types, then the cluster stopped. Nothing here runs the repository's src/.
 *
 * Needs the npm registry (or a warm npm cache) for the package's dependencies. Run with
 * `npm run test:package`; .ci/run runs it on every Node version it tests.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PEER_PORT_OFFSET } from "../../src/api/index.ts";
import { DEV_HTTP_PORT_OFFSET } from "../../src/cli/dev-cluster.ts";
import { freePortRange, waitFor } from "../../src/cluster/index.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }
).version;
const run = promisify(execFile);

/** What `dfs status --json` prints per node (the fields this test reads). */
interface StatusRow {
  readonly reachable: boolean;
  readonly status?: { readonly role: string; readonly version: string };
}

/** npm of the Node running this test (the one .ci/run put first on PATH). */
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

describe("npm pack: the tarball installs and runs a cluster", { timeout: 600_000 }, () => {
  let work = "";
  let app = "";
  let dev: ChildProcess | null = null;
  let devLog = "";

  /** The installed `dfs`, run from the app folder with this test's Node. */
  const dfs = (args: string[], timeout = 30_000) =>
    run(process.execPath, [join(app, "node_modules", ".bin", "dfs"), ...args], {
      cwd: app,
      timeout,
      env: { ...process.env, DFS_ENDPOINTS: "", DFS_DEBUG: "" },
    });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "dfs-pack-"));
    app = join(work, "app");
    await mkdir(app);
  });

  after(async () => {
    if (dev !== null && dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
    await rm(work, { recursive: true, force: true });
  });

  test("npm pack ships dist/ and bin/, not the sources or tests", async () => {
    const { stdout } = await run(NPM, ["pack", "--json", "--pack-destination", work], {
      cwd: REPO_ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    // prepare's build output precedes the JSON on stdout.
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as [
      { filename: string; files: { path: string }[] },
    ];
    const files = packed.files.map((f) => f.path);
    for (const needed of [
      "bin/dfs.mjs",
      "bin/compiled.mjs",
      "dist/.build-stamp",
      "dist/cli/main.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/fsm/lmdb-probe.mjs",
      "package.json",
      "README.md",
    ]) {
      assert.ok(files.includes(needed), `${needed} missing from the tarball`);
    }
    const stray = files.filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f));
    assert.deepEqual(stray, [], "sources, tests or scripts in the tarball");
    await writeFile(join(work, "tarball"), join(work, packed.filename));
  });

  test("npm install <tarball> in an empty folder; npx dfs --version", async () => {
    const tarball = readFileSync(join(work, "tarball"), "utf8");
    await writeFile(join(app, "package.json"), '{ "name": "app", "private": true }\n');
    await run(NPM, ["install", "--no-audit", "--no-fund", tarball], { cwd: app });
    const npx = await run(NPM, ["exec", "--", "dfs", "--version"], { cwd: app });
    assert.equal(npx.stdout, `${VERSION}\n`);
    assert.equal((await dfs(["-V"])).stdout, `${VERSION}\n`);
  });

  test("the installed dfs runs a 3-node cluster: put, get, status", async () => {
    const base = await freePortRange(3, [PEER_PORT_OFFSET, DEV_HTTP_PORT_OFFSET]);
    const endpoints = [0, 1, 2].map((i) => `localhost:${base + i}`).join(",");
    dev = spawn(
      process.execPath,
      [
        join(app, "node_modules", ".bin", "dfs"),
        "dev",
        "--data",
        join(work, "data"),
        "--base-port",
        String(base),
      ],
      { cwd: app, stdio: ["ignore", "pipe", "pipe"] },
    );
    const collect = (chunk: Buffer) => {
      devLog += chunk.toString();
    };
    dev.stdout?.on("data", collect);
    dev.stderr?.on("data", collect);
    const exited = new Promise<number | null>((resolve) => dev?.on("exit", resolve));

    const status = await waitFor(
      "a leader in the installed cluster",
      async () => {
        const { stdout } = await dfs(["status", "--json", "--endpoints", endpoints]);
        const rows = JSON.parse(stdout) as StatusRow[];
        const up = rows.filter((r) => r.reachable);
        return up.length === 3 && up.some((r) => r.status?.role === "leader") ? rows : undefined;
      },
      60_000,
      200,
    ).catch((err: Error) => assert.fail(`${err.message}\ndfs dev printed:\n${devLog}`));
    for (const row of status) {
      assert.equal(row.status?.version, VERSION, "each node reports the package's version");
    }

    const put = await dfs([
      "put",
      "pack/greeting",
      "hello from the tarball",
      "--endpoints",
      endpoints,
    ]);
    assert.match(put.stdout, /^ok version=\d+ index=\d+\n$/);
    const got = await dfs(["get", "pack/greeting", "--endpoints", endpoints]);
    assert.equal(got.stdout, "hello from the tarball");
    const table = await dfs(["status", "--endpoints", endpoints]);
    assert.match(table.stdout, /^ID\s+ADDRESS\s+ROLE.*VERSION\b/);

    // The web console's bundle ships in the package: each node serves the page and its script.
    const web = `http://localhost:${base + DEV_HTTP_PORT_OFFSET}`;
    const page = await fetch(`${web}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>dfs console<\/title>/);
    const script = await fetch(`${web}/assets/app.js`);
    assert.equal(script.status, 200, "the console's script is missing from the package");
    assert.ok((await script.arrayBuffer()).byteLength > 10_000);

    dev.kill("SIGTERM");
    assert.equal(await exited, 0, `dfs dev exit code; it printed:\n${devLog}`);
    assert.match(devLog, /stopping all nodes/);
  });

  test("the library import and its types resolve from the installed package", async () => {
    const probe =
      "import('distributed-fs').then((m) => console.log(typeof m.DfsClient, typeof m.startNode))";
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], {
      cwd: app,
    });
    assert.equal(stdout, "function function\n");
    await writeFile(
      join(app, "consumer.ts"),
      [
        'import { DfsClient, type NodeConfig } from "distributed-fs";',
        "export const make = (c: NodeConfig): string => DfsClient.name + String(c.id);",
        "",
      ].join("\n"),
    );
    const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const flags = ["--noEmit", "--strict", "--module", "nodenext", "--skipLibCheck"];
    const types = ["--types", "node", "--typeRoots", join(REPO_ROOT, "node_modules", "@types")];
    await run(process.execPath, [tsc, ...flags, ...types, "consumer.ts"], { cwd: app }).catch(
      (err: { stdout?: string }) => assert.fail(`tsc on a consumer failed:\n${err.stdout}`),
    );
  });
});
