/**
 * The planted bugs of test/sim/plants/ (docs/testing.md#planted-bugs): every plant still
 * applies to today's sources, each patch exactly once, and the loader hook really plants
 * it in a process (before tsx compiles the file), so the measured table cannot rot into
 * measuring no-ops.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  PLANTS,
  patchSource,
  plantedProcess,
  plantFiles,
  plantNamed,
} from "../../sim/plants/index.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

function source(file: string): string {
  return readFileSync(join(ROOT, file), "utf8");
}

/** Runs `code` (an ES module) in a child Node with `plant` planted; returns its output. */
function runPlanted(plant: string, code: string) {
  const p = plantedProcess(plant);
  return spawnSync(process.execPath, [...p.execArgv, "--input-type=module", "-e", code], {
    cwd: ROOT,
    env: p.env,
    encoding: "utf8",
  });
}

const RAFT_URL = new URL("../../../src/raft/raft.ts", import.meta.url).href;

describe("planted bugs", () => {
  it("has at least 10 plants, with unique names and descriptions", () => {
    assert.ok(PLANTS.length >= 10, `${PLANTS.length} plants`);
    assert.equal(new Set(PLANTS.map((p) => p.name)).size, PLANTS.length);
    for (const p of PLANTS) {
      assert.match(p.name, /^[a-z0-9-]+$/);
      assert.ok(p.description.length > 40, `${p.name} explains why it is a bug`);
      assert.ok(p.patches.length > 0);
    }
  });

  for (const plant of PLANTS) {
    it(`${plant.name}: each patch applies exactly once to today's sources`, () => {
      for (const file of plantFiles(plant)) {
        assert.match(file, /^src\/.+\.ts$/);
        const before = source(file);
        const after = patchSource(plant, file, before);
        assert.notEqual(after, before, `${plant.name} changes ${file}`);
      }
    });
  }

  it("refuses a find text that is missing or not unique", () => {
    const plant = {
      name: "probe",
      description: "a patch that no longer matches",
      patches: [{ file: "src/raft/quorum.ts", find: "no such text", replace: "" }],
    };
    assert.throws(() => patchSource(plant, "src/raft/quorum.ts", "abc"), /occurs 0 times/);
    const twice = { ...plant, patches: [{ file: "x.ts", find: "a", replace: "b" }] };
    assert.throws(() => patchSource(twice, "x.ts", "a a"), /occurs 2 times/);
    assert.equal(patchSource(twice, "y.ts", "a a"), "a a", "other files pass through");
  });

  it("the loader plants the bug in the TypeScript source before tsx compiles it", () => {
    const code = `
      const { Raft } = await import(${JSON.stringify(RAFT_URL)});
      console.log(Raft.prototype.maybeCommit.toString());
      console.log("patched:", [...globalThis.__dfsPlant.patched].join(","));`;
    const planted = runPlanted("leader-counts-unsynced", code);
    assert.equal(planted.status, 0, planted.stderr);
    // tsx prints compiled code without spaces.
    assert.match(planted.stdout, /matches\.push\(this\.#log\.lastIndex\(\)\)/);
    assert.doesNotMatch(planted.stdout, /matches\.push\(this\.#log\.stableIndex\)/);
    assert.match(planted.stdout, /patched: src\/raft\/raft\.ts/);
    // The same probe without a plant sees the real code.
    const clean = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", code.replace(/console.log\("patched.*/, "")],
      { cwd: ROOT, encoding: "utf8" },
    );
    assert.equal(clean.status, 0, clean.stderr);
    assert.match(clean.stdout, /matches\.push\(this\.#log\.stableIndex\)/);
  });

  it("an unknown plant name fails before anything runs", () => {
    const p = plantedProcess("commit-previous-term");
    const r = spawnSync(process.execPath, [...p.execArgv, "--input-type=module", "-e", "1"], {
      cwd: ROOT,
      env: { ...p.env, DFS_PLANT: "no-such-plant" },
      encoding: "utf8",
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no plant "no-such-plant"/);
    assert.throws(() => plantNamed("no-such-plant"), /known: commit-previous-term/);
  });

  it("no file under src/ refers to the plants", () => {
    const walk = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`],
      );
    for (const file of walk("src")) {
      assert.doesNotMatch(source(file), /DFS_PLANT|sim\/plants/, file);
    }
  });
});
