/**
 * bin/compiled.mjs, the guard in front of dist/ for bin/dfs.mjs and the seed's scripts:
 * a missing dist/, or one older than a file of src/ (in a checkout), is one error line
 * and exit code 2, never a silent run of old code; an installed package (no src/) runs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { PACKAGE_ROOT } from "./run-dfs.ts";

const run = promisify(execFile);

describe("bin/compiled.mjs", () => {
  let root = "";

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "dfs-compiled-"));
    await mkdir(join(root, "bin"));
    await copyFile(join(PACKAGE_ROOT, "bin", "compiled.mjs"), join(root, "bin", "compiled.mjs"));
  });

  after(() => rm(root, { recursive: true, force: true }));

  /** Runs `compiled("cli/main.js")` in a fresh process; its exit code and output. */
  async function check(): Promise<{ code: number; stdout: string; stderr: string }> {
    const script = `import { compiled } from "./bin/compiled.mjs"; console.log(compiled("cli/main.js"));`;
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        ["--input-type=module", "-e", script],
        {
          cwd: root,
        },
      );
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  test("no dist/: exit 2, one line telling to build", async () => {
    const r = await check();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^dfs: error: no compiled dfs in .*dist; run `npm run build`\n$/);
  });

  test("a built package without src/ (as installed) runs dist/", async () => {
    await mkdir(join(root, "dist"));
    await writeFile(join(root, "dist", ".build-stamp"), "");
    const r = await check();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\/dist\/cli\/main\.js\n$/);
  });

  test("a checkout whose src/ changed after the build: exit 2, names the file", async () => {
    await mkdir(join(root, "src", "cli"), { recursive: true });
    await writeFile(join(root, "src", "cli", "main.ts"), "");
    const built = new Date(Date.now() - 60_000);
    await utimes(join(root, "dist", ".build-stamp"), built, built);
    const r = await check();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^dfs: error: dist\/ is older than src\/cli.*; run `npm run build`\n$/);
  });

  test("a checkout built after its last change runs dist/", async () => {
    const old = new Date(Date.now() - 120_000);
    for (const path of ["src", "src/cli", "src/cli/main.ts"])
      await utimes(join(root, path), old, old);
    const r = await check();
    assert.equal(r.code, 0, r.stderr);
  });
});
