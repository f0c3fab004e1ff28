/**
 * What `dfs server` says, and which code it exits with, when its node stops by itself
 * while serving: an invariant check that failed is a bug (internal, 10), not a log it
 * could not write (6); a damaged store is corrupt (7); a member removed from the cluster
 * has its own code (14). The errors are the real ones the
 * core and the store raise, run through the CLI's real failure report.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ExitCode } from "../../../src/cli/exit-codes.ts";
import { describeFailure } from "../../../src/cli/failure.ts";
import { stoppedWhileRunning } from "../../../src/cli/server-command.ts";
import { InvariantError } from "../../../src/raft/index.ts";
import { MemberRemovedError } from "../../../src/server/index.ts";

function report(error: Error): { exitCode: number; text: string } {
  const r = describeFailure(stoppedWhileRunning(2, "/data/n2", error), false);
  return { exitCode: r.exitCode, text: r.text ?? "" };
}

test("an invariant failure exits 10 and says so, not 'cannot write its log'", () => {
  const r = report(new InvariantError("entry 7 of term 4 after term 3 (node term 3)"));
  assert.equal(r.exitCode, ExitCode.internal);
  assert.match(r.text, /^dfs: internal error: node 2 stopped: raft invariant violated: entry 7/);
  assert.doesNotMatch(r.text, /cannot write its log/);
});

test("a damaged state store exits 7", () => {
  const cause = Object.assign(new Error("record at 12 failed its checksum"), {
    name: "RecordCorruptionError",
  });
  const r = report(new Error("apply failed", { cause }));
  assert.equal(r.exitCode, ExitCode.corrupt);
  assert.match(r.text, /state store in \/data\/n2 is corrupt/);
});

test("a log write that failed exits 6", () => {
  const r = report(Object.assign(new Error("EIO: i/o error, fsync"), { code: "EIO" }));
  assert.equal(r.exitCode, ExitCode.dataDir);
  assert.match(r.text, /cannot write its log in \/data\/n2: EIO/);
});

test("a member the cluster removed exits 14 with the server's remedy", () => {
  const removed = new MemberRemovedError(2, 41);
  const stopped = stoppedWhileRunning(2, "/data/n2", removed) as Error & {
    report(): { exitCode: number; text: string | null };
  };
  const r = stopped.report();
  assert.equal(r.exitCode, ExitCode.removed);
  assert.equal(r.exitCode, 14);
  assert.match(r.text ?? "", /^dfs: error: node 2 was removed from the cluster .*new member/);
  assert.doesNotMatch(r.text ?? "", /\n/);
});
