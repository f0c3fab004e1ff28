/**
 * The membership commands and `dfs status` through the real client against scripted fake
 * nodes: the member table with learners and their lag, members missing from
 * `--endpoints` asked too, `--json`, and a refusal's `dfs-reason` trailer becoming its
 * exit code and one line with the remedy.
 */
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { Member, MemberListResponse } from "../../../src/gen/dfs.ts";
import { type FakeNode, fakeStatus, startFakeNode } from "./fake-node.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

const running: FakeNode[] = [];
async function fake(behavior: Parameters<typeof startFakeNode>[0]): Promise<FakeNode> {
  const node = await startFakeNode(behavior);
  running.push(node);
  return node;
}

function member(overrides: Partial<Member>): Member {
  return {
    id: 1,
    address: "",
    peerAddress: "127.0.0.1:9",
    learner: false,
    identity: "feedbeef",
    leader: false,
    match: 500,
    lag: 0,
    reachable: true,
    ...overrides,
  };
}

function list(members: Member[]): MemberListResponse {
  return { clusterId: "test", leaderId: 1, members, configIndex: 7, removed: [2] };
}

describe("membership commands against fake nodes", () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((node) => node.stop()));
  });

  /** A leader (member 1) whose configuration also has learner 3, at a dead address. */
  async function leaderWithLearner(): Promise<FakeNode> {
    const members: Member[] = [];
    const node = await fake({
      status: () => ({ value: fakeStatus({ id: 1, role: "leader", leaderId: 1, lastIndex: 500 }) }),
      memberList: () => ({ value: list(members) }),
    });
    members.push(
      member({ id: 1, address: node.address, leader: true }),
      member({
        id: 3,
        address: "127.0.0.1:1",
        learner: true,
        match: 12,
        lag: 488,
        reachable: false,
        identity: "",
      }),
    );
    return node;
  }

  test("status: the member list below the nodes; a member not in --endpoints is asked too", async () => {
    const node = await leaderWithLearner();
    const run = await runDfs(["status", "--endpoints", node.address]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.toString().trimEnd().split("\n");
    assert.match(lines[1] ?? "", new RegExp(`^1\\s+${node.address}\\s+leader\\s`));
    assert.match(lines[2] ?? "", /^-\s+127\.0\.0\.1:1\s+unreachable: /, "learner 3 was asked");
    assert.equal(lines[3], "");
    assert.equal(lines[4], "members (1 voter, 1 learner):");
    assert.match(
      lines[5] ?? "",
      /^ID\s+ROLE\s+CLIENT\s+PEER\s+MATCH\s+LAG\s+REACHABLE\s+IDENTITY$/,
    );
    assert.match(lines[6] ?? "", /^1\s+leader\s+.*\s+500\s+-\s+-\s+feedbeef$/);
    assert.match(
      lines[7] ?? "",
      /^3\s+learner\s+127\.0\.0\.1:1\s+127\.0\.0\.1:9\s+12\s+488\s+no\s+-$/,
    );
    assert.equal(lines.length, 8, run.stdout.toString());
  });

  test("status --json: each row carries its member (null when not one)", async () => {
    const node = await leaderWithLearner();
    const run = await runDfs(["status", "--json", "--endpoints", node.address]);
    assert.equal(run.code, 0, run.stderr);
    const rows = JSON.parse(run.stdout.toString());
    assert.equal(rows.length, 2);
    assert.deepEqual([rows[0].member.id, rows[0].member.leader], [1, true]);
    assert.deepEqual([rows[1].reachable, rows[1].member.id, rows[1].member.lag], [false, 3, 488]);
  });

  test("member list: table and --json", async () => {
    const node = await leaderWithLearner();
    const table = await runDfs(["member", "list", "--endpoints", node.address]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout.toString(),
      /^ID\s+ROLE.*\n1\s+leader.*\n3\s+learner.*488\s+no\s+-\n$/,
    );
    const json = await runDfs(["member", "list", "--json", "--endpoints", node.address]);
    const members = JSON.parse(json.stdout.toString());
    assert.deepEqual(
      members.map((m: { id: number; learner: boolean; clientAddr: string }) => [m.id, m.learner]),
      [
        [1, false],
        [3, true],
      ],
    );
    assert.equal(members[1].clientAddr, "127.0.0.1:1");
  });

  test("a refusal's dfs-reason trailer: exit 12, one line with the reason and the remedy", async () => {
    const node = await fake({
      memberRemove: (request) => ({
        fail: {
          status: status.FAILED_PRECONDITION,
          code: "precondition_failed",
          reason: "last_voter",
          message: `member ${request.id} is the last voter`,
        },
      }),
    });
    const run = await runDfs(["member", "remove", "1", "--endpoints", node.address]);
    assertOneLineError(
      run,
      12,
      /^dfs: error: member 1 is the last voter \(last_voter\): a cluster needs a voter; add and promote another member before removing this one$/,
    );
    assert.deepEqual(
      node.calls.map((c) => c.method),
      ["memberRemove"],
      "a definite refusal is not retried",
    );
  });

  test("removing an id already removed succeeds and prints the list", async () => {
    const node = await fake({
      memberRemove: () => ({
        fail: {
          status: status.FAILED_PRECONDITION,
          code: "precondition_failed",
          reason: "not_found",
          message: "member 2 was already removed",
        },
      }),
      memberList: () => ({
        value: list([member({ id: 1, address: "127.0.0.1:5", leader: true })]),
      }),
    });
    const run = await runDfs(["member", "remove", "2", "--endpoints", node.address]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout.toString(), /^ok: member 2 removed \(already\)\nID\s+ROLE/);
  });
});
