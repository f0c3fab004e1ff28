/**
 * `--user` is on every command that talks to a cluster (docs/auth.md "Commands"): walks the
 * whole command tree and checks that each command with `--endpoints` also has `--user`
 * (with DFS_USER behind it), so a command added later cannot forget it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../../src/cli/program.ts";

function* walk(command: Command, path: string[] = []): Generator<[string, Command]> {
  for (const sub of command.commands) {
    const here = [...path, sub.name()];
    yield [here.join(" "), sub];
    yield* walk(sub, here);
  }
}

test("every client command takes --user NAME[:PASSWORD], defaulting to DFS_USER", async () => {
  const program = await buildProgram();
  const clientCommands: string[] = [];
  for (const [name, command] of walk(program)) {
    if (!command.options.some((o) => o.long === "--endpoints")) continue;
    clientCommands.push(name);
    const user = command.options.find((o) => o.long === "--user");
    assert.ok(user, `${name} has no --user`);
    assert.equal(user.envVar, "DFS_USER", name);
  }
  for (const expected of ["put", "get", "ls", "rm", "status", "member add", "verify", "bench"]) {
    assert.ok(clientCommands.includes(expected), `${expected} not found among ${clientCommands}`);
  }
  for (const expected of ["auth enable", "user add", "role grant", "role get"]) {
    assert.ok(clientCommands.includes(expected), `${expected} is not a client command`);
  }
});
