/**
 * `dfs member …`, `dfs leader transfer` and `dfs server --join`: flag parsing (bad ids
 * and addresses are usage errors, exit 2, before any network), the member table, and how
 * each refusal of a membership change becomes one line with its reason, its remedy and
 * its documented exit code.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DfsError, isMemberChangeReason, MemberChangeError } from "../../../src/api/errors.ts";
import { EXIT_CODE_BY_REFUSAL, ExitCode } from "../../../src/cli/exit-codes.ts";
import { describeFailure } from "../../../src/cli/failure.ts";
import {
  type MemberStatus,
  REFUSAL_REASONS,
  REFUSALS,
  refusalReason,
} from "../../../src/cli/member-api.ts";
import {
  formatMembers,
  newMember,
  parseMemberId,
  removeOnce,
  summarizeMembers,
  transferOnce,
} from "../../../src/cli/member-commands.ts";
import { parseJoin, serverConfig } from "../../../src/cli/server-command.ts";
import { formatMembersView } from "../../../src/cli/status-command.ts";
import { UsageError } from "../../../src/cli/usage-error.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

function member(overrides: Partial<MemberStatus>): MemberStatus {
  return {
    id: 1,
    learner: false,
    peerAddr: "127.0.0.1:60051",
    clientAddr: "127.0.0.1:50051",
    identity: "a1b2c3d4",
    leader: false,
    match: 100,
    lag: 0,
    reachable: true,
    ...overrides,
  };
}

/** A refused change as the client raises it: a typed error with the reason attached. */
function refused(reason: string, message: string): DfsError {
  return isMemberChangeReason(reason)
    ? new MemberChangeError(reason, message)
    : Object.assign(new DfsError("precondition_failed", message), { reason });
}

describe("member flags", () => {
  test("ids are strict positive integers", () => {
    assert.equal(parseMemberId("member id", "4"), 4);
    for (const bad of ["0", "-1", "abc", "1.5", "1e3", "0x4", " 4", "4294967296"]) {
      assert.throws(() => parseMemberId("member id", bad), UsageError, bad);
    }
  });

  test("member add: both addresses are host:port, distinct, normalized", () => {
    assert.deepEqual(
      newMember(4, { peerAddr: " 10.0.0.4:2380", clientAddr: "10.0.0.4:2379", learner: true }),
      { id: 4, peerAddr: "10.0.0.4:2380", clientAddr: "10.0.0.4:2379", learner: true },
    );
    assert.equal(
      newMember(4, { peerAddr: "h:2", clientAddr: "h:1" }).learner,
      false,
      "a voter unless --learner",
    );
    const cases: Array<[string, string, RegExp]> = [
      ["10.0.0.4", "10.0.0.4:2379", /--peer-addr '10.0.0.4' is not host:port/],
      ["10.0.0.4:2380", "10.0.0.4:0", /--client-addr '10.0.0.4:0' is not host:port/],
      ["10.0.0.4:99999", "10.0.0.4:2379", /--peer-addr .* not in 1\.\.65535/],
      ["::1:2380", "10.0.0.4:2379", /in brackets/],
      ["h:2380", "H:2380", /both h:2380; a node listens on two ports/],
    ];
    for (const [peerAddr, clientAddr, message] of cases) {
      assert.throws(
        () => newMember(4, { peerAddr, clientAddr }),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
        `${peerAddr} ${clientAddr}`,
      );
    }
  });

  test("server --join: own entry from --listen/--port/--peer-port, or --peers of itself", () => {
    const config = serverConfig({
      id: 4,
      port: 7004,
      join: "127.0.0.1:7001, 127.0.0.1:7002",
      listen: "127.0.0.1",
      dataDir: "/tmp/x",
    });
    assert.deepEqual(config.join, ["127.0.0.1:7001", "127.0.0.1:7002"]);
    assert.deepEqual(config.peers, [{ id: 4, host: "127.0.0.1", port: 7004, peerPort: 17004 }]);
    const base = { id: 4, port: 7004, dataDir: "/tmp/x" };
    const cases: Array<[Parameters<typeof serverConfig>[0], RegExp]> = [
      [{ ...base, join: "127.0.0.1:7001" }, /--join needs --listen HOST/],
      [
        { ...base, join: "127.0.0.1:7001", peers: "4@127.0.0.1:7004,1@127.0.0.1:7001" },
        /with --join, --peers names only this node/,
      ],
      [{ ...base, join: "127.0.0.1:7001", peers: "5@127.0.0.1:7005" }, /no entry for this node/],
      [base, /give --peers to bootstrap a new cluster, or --join/],
      [{ ...base, join: "127.0.0.1", listen: "127.0.0.1" }, /--join entry '127.0.0.1'/],
      [{ ...base, join: "a:1,", listen: "127.0.0.1" }, /--join entry ''/],
      [{ ...base, join: "a:1", listen: "127.0.0.1", peerPort: 7004 }, /--peer-port 7004 equals/],
    ];
    for (const [flags, message] of cases) {
      assert.throws(
        () => serverConfig(flags),
        (err: unknown) => err instanceof UsageError && message.test(err.message),
        JSON.stringify(flags),
      );
    }
    assert.deepEqual(parseJoin("[::1]:7001"), ["[::1]:7001"]);
    // LocalCluster's form: --peers with only this node's entry gives its addresses.
    const own = serverConfig({ ...base, join: "127.0.0.1:7001", peers: "4@127.0.0.1:7004/9004" });
    assert.deepEqual(own.peers, [
      { id: 4, host: "127.0.0.1", port: 7004, peerHost: "127.0.0.1", peerPort: 9004 },
    ]);
    assert.deepEqual(own.join, ["127.0.0.1:7001"]);
  });
});

describe("member table", () => {
  test("voters first with the leader on top, then learners; lag and reachability", () => {
    const text = formatMembers([
      member({ id: 5, learner: true, lag: 1234, match: 66, reachable: false, identity: "" }),
      member({ id: 3, match: 1290, lag: 10 }),
      member({ id: 2, leader: true, match: 1300 }),
    ]);
    const lines = text.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^ID\s+ROLE\s+CLIENT\s+PEER\s+MATCH\s+LAG\s+REACHABLE\s+IDENTITY$/,
    );
    assert.match(
      lines[1] ?? "",
      /^2\s+leader\s+127\.0\.0\.1:50051\s+127\.0\.0\.1:60051\s+1300\s+-\s+-\s+a1b2c3d4$/,
    );
    assert.match(lines[2] ?? "", /^3\s+voter\s+.*\s+1290\s+10\s+yes\s+a1b2c3d4$/);
    assert.match(lines[3] ?? "", /^5\s+learner\s+.*\s+66\s+1234\s+no\s+-$/);
    assert.equal(lines.length, 4);
    assert.equal(
      summarizeMembers([member({}), member({ learner: true }), member({ learner: true })]),
      "1 voter, 2 learners",
    );
  });

  test("status: the members section, or one line saying why it is unknown", () => {
    const known = formatMembersView({ known: true, members: [member({ leader: true })] });
    assert.match(known, /^\nmembers \(1 voter, 0 learners\):\nID\s+ROLE/);
    const unknown = formatMembersView({
      known: false,
      error: new DfsError("unavailable", "no leader answered"),
    });
    assert.equal(unknown, "members: unknown (no leader answered)\n");
  });
});

describe("refused membership changes", () => {
  test("every reason has a remedy and a documented exit code", () => {
    for (const reason of REFUSAL_REASONS) {
      const { cls, remedy } = REFUSALS[reason];
      assert.ok(remedy.length > 10, reason);
      assert.ok(Object.values(ExitCode).includes(EXIT_CODE_BY_REFUSAL[cls]), reason);
    }
    assert.equal(EXIT_CODE_BY_REFUSAL[REFUSALS.last_voter.cls], 12);
    assert.equal(EXIT_CODE_BY_REFUSAL[REFUSALS.duplicate_id.cls], 12);
    assert.equal(EXIT_CODE_BY_REFUSAL[REFUSALS.pending.cls], 13);
    assert.equal(EXIT_CODE_BY_REFUSAL[REFUSALS.learner_lagging.cls], 13);
    assert.equal(EXIT_CODE_BY_REFUSAL[REFUSALS.no_quorum.cls], 3);
  });

  test("the reason comes from the client's MemberChangeError", () => {
    assert.equal(refusalReason(new MemberChangeError("last_voter", "no")), "last_voter");
    assert.equal(refusalReason(refused("last_voter", "cannot remove 1")), "last_voter");
    assert.equal(refusalReason(refused("bogus", "x")), undefined);
    // A classic error that happens to say "pending" is not a refusal.
    assert.equal(refusalReason(new DfsError("unavailable", "write pending")), undefined);
    assert.equal(refusalReason("last_voter"), undefined);
  });

  test("one line: message, reason, remedy; the exit code by class", () => {
    const cases: Array<[DfsError, number, RegExp]> = [
      [
        refused("last_voter", "member 1 is the last voter"),
        12,
        /^dfs: error: member 1 is the last voter \(last_voter\): a cluster needs a voter; add and promote/,
      ],
      [
        refused("learner_lagging", "learner 4 is 900 entries behind (learner_lagging)"),
        13,
        /^dfs: error: learner 4 is 900 entries behind \(learner_lagging\): wait until the learner's LAG/,
      ],
      [
        refused("no_quorum", "only 1 of 3 voters\nreachable"),
        3,
        /^dfs: error: only 1 of 3 voters reachable \(no_quorum\): too few voters are reachable/,
      ],
    ];
    for (const [err, code, line] of cases) {
      const report = describeFailure(err, false);
      assert.equal(report.exitCode, code, err.message);
      assert.match(report.text ?? "", line);
      assert.doesNotMatch(report.text ?? "", /\n/);
    }
  });
});

describe("member remove", () => {
  const list = [member({ id: 1, leader: true })];
  const failing = (err: Error) =>
    ({
      memberRemove: async () => {
        throw err;
      },
      memberList: async () => list,
    }) as unknown as Parameters<typeof removeOnce>[0];

  test("an id already removed (a removed leader's lost answer) counts as done", async () => {
    const gone = new MemberChangeError("not_found", "member 4 was already removed");
    assert.deepEqual(await removeOnce(failing(gone), 4), { members: list, already: true });
  });

  test("an id that never was a member is still refused", async () => {
    const never = new MemberChangeError("not_found", "no member has id 42");
    await assert.rejects(removeOnce(failing(never), 42), never);
    const last = new MemberChangeError("last_voter", "member 1 is the last voter");
    await assert.rejects(removeOnce(failing(last), 1), last);
  });
});

describe("leader transfer", () => {
  const badTarget = new MemberChangeError("bad_target", "node 1 is not another voter");
  const client = (leaderId: number) =>
    ({
      leaderTransfer: async () => {
        throw badTarget;
      },
      memberList: async () => [member({ id: leaderId, leader: true }), member({ id: 2 })],
    }) as unknown as Parameters<typeof transferOnce>[0];

  test("to the member that already leads: done, from = to", async () => {
    assert.deepEqual(await transferOnce(client(1), 1), { from: 1, to: 1 });
  });

  test("to a member that is not a voter (and not the leader): still refused", async () => {
    await assert.rejects(transferOnce(client(1), 2), badTarget);
    await assert.rejects(transferOnce(client(1), 0), badTarget);
  });
});

describe("dfs member / leader: usage errors (exit 2, one line, no network)", () => {
  const nowhere = ["--endpoints", "127.0.0.1:1", "--timeout", "500"];
  const cases: Array<[string[], RegExp]> = [
    [
      ["member", "add", "four", "--peer-addr", "h:2", "--client-addr", "h:1"],
      /^dfs: error: member id 'four' is not a positive integer$/,
    ],
    [
      ["member", "add", "4", "--peer-addr", "h", "--client-addr", "h:1"],
      /^dfs: error: --peer-addr 'h' is not host:port/,
    ],
    [["member", "add", "4", "--client-addr", "h:1"], /required option '--peer-addr/],
    [["member", "promote", "0"], /^dfs: error: member id '0' is not a positive integer$/],
    [["member", "remove", "-3"], /^dfs: error: (member id '-3'|unknown option '-3')/],
    [["member", "frob"], /unknown command 'frob'/],
    [["leader", "transfer", "--to", "x"], /^dfs: error: --to 'x' is not a positive integer$/],
  ];
  for (const [args, line] of cases) {
    test(args.join(" "), async () => {
      assertOneLineError(await runDfs([...args, ...nowhere]), 2, line);
    });
  }

  test("member list with no node reachable is exit 3", async () => {
    assertOneLineError(await runDfs(["member", "list", ...nowhere]), 3, /^dfs: error: /);
  });

  test("a group without its command: help on stderr, then one error line, exit 2", async () => {
    const run = await runDfs(["member"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /Commands:\n\s+list/);
    assert.match(run.stderr, /\ndfs: error: a command is missing: see the list above\n$/);
  });

  test("server --join without --listen", async () => {
    const run = await runDfs([
      ...["server", "--id", "4", "--port", "7004", "--data-dir", "/nonexistent/never"],
      ...["--join", "127.0.0.1:7001"],
    ]);
    assertOneLineError(run, 2, /^dfs: error: --join needs --listen HOST/);
  });
});
