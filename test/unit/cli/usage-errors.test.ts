/**
 * Usage mistakes get one clear line and exit code 2, never a stack trace; help exits 0.
 * The server's flag checks run before any server code is loaded, so these run without
 * a cluster (and a broken check would start a node and fail differently).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

const PEERS = "1@localhost:50051,2@localhost:50052,3@localhost:50053";

function server(overrides: Record<string, string | undefined>, extra: string[] = []): string[] {
  const flags: Record<string, string | undefined> = {
    "--id": "1",
    "--port": "50051",
    "--peers": PEERS,
    "--data-dir": "/nonexistent/never-created",
    ...overrides,
  };
  const args = ["server"];
  for (const [flag, value] of Object.entries(flags)) {
    if (value !== undefined) args.push(flag, value);
  }
  return [...args, ...extra];
}

describe("dfs usage errors (exit 2, one line)", () => {
  test("unknown flag", async () => {
    assertOneLineError(
      await runDfs(server({}, ["--bogus"])),
      2,
      /^dfs: error: unknown option '--bogus'/,
    );
  });

  test("unknown flag on a client command", async () => {
    assertOneLineError(
      await runDfs(["get", "k", "--nope"]),
      2,
      /^dfs: error: unknown option '--nope'/,
    );
  });

  test("unknown command", async () => {
    assertOneLineError(
      await runDfs(["frobnicate"]),
      2,
      /^dfs: error: unknown command 'frobnicate'/,
    );
  });

  test("missing --id", async () => {
    assertOneLineError(await runDfs(server({ "--id": undefined })), 2, /required option '--id/);
  });

  test("--id that is not a positive integer", async () => {
    for (const id of ["0", "-1", "abc", "1.5"]) {
      assertOneLineError(await runDfs(server({ "--id": id })), 2, /^dfs: error: --id/);
    }
  });

  test("malformed --peers", async () => {
    const shapes: Array<[string, RegExp]> = [
      ["1@localhost", /no ':port'/],
      ["1localhost:50051", /missing '@'/],
      ["x@localhost:50051", /id 'x' is not a positive integer/],
      ["1@:50051", /host is empty/],
      ["1@localhost:0", /port 0 is not in 1\.\.65535/],
      ["1@localhost:70000", /port 70000 is not in/],
      ["1@localhost:50051,,2@localhost:50052", /empty entry/],
      ["1@::1:50051", /brackets/],
    ];
    for (const [peers, problem] of shapes) {
      const run = await runDfs(server({ "--peers": peers }));
      assertOneLineError(run, 2, /^dfs: error: --peers /);
      assert.match(run.stderr, problem, `for --peers ${peers}`);
    }
  });

  test("duplicate ids in --peers", async () => {
    const run = await runDfs(server({ "--peers": "1@localhost:50051,1@localhost:50052" }));
    assertOneLineError(run, 2, /^dfs: error: --peers lists id 1 more than once$/);
  });

  test("duplicate addresses in --peers", async () => {
    const run = await runDfs(server({ "--peers": "1@localhost:50051,2@LOCALHOST:50051" }));
    assertOneLineError(
      run,
      2,
      /^dfs: error: --peers lists address .* more than once \(client address of 1, client address of 2\)$/,
    );
  });

  test("own id missing from --peers", async () => {
    const run = await runDfs(server({ "--id": "4" }));
    assertOneLineError(run, 2, /^dfs: error: --peers has no entry for this node's --id 4/);
  });

  test("--port differs from own --peers entry", async () => {
    const run = await runDfs(server({ "--port": "50052" }));
    assertOneLineError(run, 2, /^dfs: error: --port 50052 does not match .* 1@localhost:50051$/);
  });

  test("bad --timeout and --consistency", async () => {
    assertOneLineError(
      await runDfs(["get", "k", "--timeout", "5s"]),
      2,
      /^dfs: error: --timeout '5s'/,
    );
    const run = await runDfs(["get", "k", "--consistency", "eventual"]);
    assertOneLineError(run, 2, /^dfs: error: .*--consistency.*Allowed choices/);
  });

  test("malformed --endpoints", async () => {
    const run = await runDfs(["get", "k", "--endpoints", "localhost"]);
    assertOneLineError(run, 2, /^dfs: error: --endpoints entry 'localhost'/);
  });

  test("VALUE and --file together", async () => {
    const run = await runDfs(["put", "k", "v", "--file", "package.json"]);
    assertOneLineError(run, 2, /^dfs: error: give either VALUE or --file, not both$/);
  });
});

describe("dfs help", () => {
  test("--help exits 0 and prints usage to stdout", async () => {
    const run = await runDfs(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout.toString(), /^Usage: dfs /);
    assert.equal(run.stderr, "");
  });

  test("server --help lists its flags", async () => {
    const run = await runDfs(["server", "--help"]);
    assert.equal(run.code, 0);
    for (const flag of ["--id", "--port", "--peers", "--data-dir", "--listen", "--debug"]) {
      assert.ok(run.stdout.toString().includes(flag), flag);
    }
  });
});
