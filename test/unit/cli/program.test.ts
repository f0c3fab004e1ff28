/**
 * The lazily loaded command tree (src/cli/program.ts): the table of which module defines
 * which command must match what the modules register, or a command would vanish when it
 * is run on its own; and `--version` prints package.json's version.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { buildProgram, COMMAND_MODULES } from "../../../src/cli/program.ts";
import { PACKAGE_ROOT, runDfs } from "./run-dfs.ts";

const names = (program: { commands: readonly { name(): string }[] }) =>
  program.commands.map((command) => command.name());

describe("dfs command tree", () => {
  test("with no command, every module is loaded, in the table's order", async () => {
    assert.deepEqual(names(await buildProgram([])), [...COMMAND_MODULES.keys()]);
    assert.deepEqual(names(await buildProgram(["no-such-command"])), [...COMMAND_MODULES.keys()]);
  });

  test("each command alone loads a module that defines it", async () => {
    for (const name of COMMAND_MODULES.keys()) {
      assert.ok(names(await buildProgram([name])).includes(name), `${name} not registered`);
    }
  });

  test("--version loads no command module", async () => {
    assert.deepEqual(names(await buildProgram(["--version"])), []);
  });

  test("dfs --version and -V print package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(`${PACKAGE_ROOT}package.json`, "utf8")) as {
      version: string;
    };
    for (const flag of ["--version", "-V"]) {
      const run = await runDfs([flag]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.toString(), `${pkg.version}\n`);
      assert.equal(run.stderr, "");
    }
  });
});
