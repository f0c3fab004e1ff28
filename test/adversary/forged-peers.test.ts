/**
 * Issue 16's hostile-peer rows against a real 3-node cluster: each attack is sent over the
 * real RaftPeer service (Deliver or Stream) and must be refused, nothing acknowledged may
 * be lost, and the cluster must keep serving (also after every node restarts, for the
 * attacks that used to poison the WAL or the hard state). The nodes run with the core's
 * full invariant checks on (DFS_CHECK_INVARIANTS=1).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import { DfsError } from "../../src/api/errors.ts";
import { LocalCluster, type ServerProcess, waitFor } from "../../src/cluster/index.ts";
import { encodeCommand } from "../../src/fsm/index.ts";
import type { Entry } from "../../src/gen/raft.ts";
import { MAX_TERM, MAX_TERM_STEP } from "../../src/raft/limits.ts";
import { type Acked, assertNodeHolds, caughtUp, writeAcked } from "../support/acked-writes.ts";
import {
  append,
  batchOf,
  batchWithRawTerm,
  heartbeat,
  MALFORMED_PROTOBUF,
  PeerAttacker,
  removedIds,
} from "../support/peer-attacker.ts";
import { assertWalValid } from "../support/wal-check.ts";

process.env.DFS_CHECK_INVARIANTS = "1";

/** Terms an unattacked test cluster stays below. */
const SMALL_TERM = 1_000;

/** Where a node's log stands, read from its Status. */
interface Position {
  readonly term: number;
  readonly lastIndex: number;
  readonly leaderId: number;
  readonly clusterId: string;
}

describe("forged peer messages", () => {
  let cluster: LocalCluster;
  const acked: Acked = new Map();
  const attackers = new Map<number, PeerAttacker>();
  /** Terms every node stays below; the term-jump tests at the end raise it. */
  let termCeiling = SMALL_TERM;

  const attacker = (node: ServerProcess): PeerAttacker => {
    let a = attackers.get(node.id);
    if (a === undefined) {
      a = new PeerAttacker(node.peerAddress);
      attackers.set(node.id, a);
    }
    return a;
  };

  const position = async (node: ServerProcess): Promise<Position> => {
    const s = await waitFor(`status of node ${node.id}`, () => cluster.status(node));
    return { term: s.term, lastIndex: s.lastIndex, leaderId: s.leaderId, clusterId: s.clusterId };
  };

  const followers = async (): Promise<{ leader: ServerProcess; followers: ServerProcess[] }> => {
    const leaderId = await cluster.waitForLeader();
    return {
      leader: cluster.node(leaderId),
      followers: cluster.nodes.filter((n) => n.id !== leaderId),
    };
  };

  /** Every node's process is still the one that was started (none exited). */
  const assertAllRunning = (): void => {
    for (const n of cluster.nodes) {
      const p = n.proc;
      assert.ok(
        p !== null && p.exitCode === null && p.signalCode === null,
        `node ${n.id} died\n${cluster.logs()}`,
      );
    }
  };

  /**
   * Kills every node at once, reads each WAL with the project's reader (only known kinds,
   * small terms), and starts them all again on their data dirs.
   */
  const restartAll = async (maxTerm = termCeiling): Promise<void> => {
    for (const a of attackers.values()) a.close();
    attackers.clear();
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id)));
    for (const n of cluster.nodes) await assertWalValid(n.dataDir, maxTerm);
    await Promise.all(cluster.nodes.map((n) => cluster.restart(n.id)));
    await cluster.waitForLeader(30_000);
    assertAllRunning();
  };

  /** The cluster takes a write now, and every node's term is below `maxTerm`. */
  const assertServing = async (tag: string, maxTerm = termCeiling): Promise<void> => {
    await writeAcked(cluster, acked, tag, 40);
    for (const n of cluster.nodes) {
      const { term } = await position(n);
      assert.ok(term < maxTerm, `node ${n.id} is in term ${term}`);
    }
  };

  /** The highest term any node is in now. */
  const highestTerm = async (): Promise<number> =>
    Math.max(...(await Promise.all(cluster.nodes.map(position))).map((p) => p.term));

  /**
   * Kills the leader so the others must elect a new one (in a term above `before`), then
   * starts it again: proves elections still work, not only that the old leader survived.
   */
  const assertElects = async (before: number): Promise<void> => {
    const old = await cluster.waitForLeader();
    await cluster.kill(old);
    const next = await cluster.waitForLeader(30_000);
    assert.notEqual(next, old);
    const { term } = await position(cluster.node(next));
    assert.ok(term > before, `new leader ${next} in term ${term}, not above ${before}`);
    await cluster.restart(old);
  };

  before(async () => {
    cluster = await LocalCluster.start();
    await writeAcked(cluster, acked, "before", 200);
    // Peers accept ids they do not know yet (a member added by a configuration they have
    // not learned); a removed id is refused whole: node 99 is one.
    const admin = cluster.client();
    try {
      await removedIds(admin, [99]);
    } finally {
      admin.close();
    }
  });

  after(async () => {
    for (const a of attackers.values()) a.close();
    await cluster?.destroy();
  });

  test("an append from removed node 99 putting `victim` is refused by every node", async () => {
    const data = encodeCommand({
      op: "put",
      key: "victim",
      value: Buffer.from("forged"),
      timeMs: Date.now(),
    });
    for (const n of cluster.nodes) {
      const at = await position(n);
      const term = at.term + 10;
      const entries: Entry[] = [
        { term, index: at.lastIndex + 1, kind: 0, data: Buffer.from(data) },
      ];
      const forged = append(99, n.id, term, at.lastIndex, at.term, entries, at.lastIndex + 1);
      const whole = await attacker(n).deliver(batchOf(at.clusterId, 99, n.id, [forged]));
      assert.equal(whole.code, grpc.status.FAILED_PRECONDITION, whole.details);
      assert.match(whole.details, /node 99 is not a member/);
      // The same message smuggled into a batch that claims a member as its sender.
      const other = cluster.nodes.find((m) => m.id !== n.id) as ServerProcess;
      const smuggled = await attacker(n).stream([batchOf(at.clusterId, other.id, n.id, [forged])]);
      assert.equal(smuggled.code, grpc.status.OK, "the batch is fine; its message is dropped");
    }
    await assertServing("after-victim");
    for (const n of cluster.nodes) {
      await caughtUp(cluster, n.id);
      const client = cluster.client([n.address]);
      try {
        await assert.rejects(
          client.get("victim", { serializable: true }),
          (e: unknown) => e instanceof DfsError && e.code === "not_found",
          `node ${n.id} holds the forged value`,
        );
      } finally {
        client.close();
      }
    }
  });

  test("an entry of kind 77 never reaches a WAL: every node restarts and serves", async () => {
    const { leader, followers: fs } = await followers();
    for (const f of fs) {
      const at = await position(f);
      const entries: Entry[] = [
        { term: at.term, index: at.lastIndex + 1, kind: 77, data: Buffer.from([1]) },
      ];
      const m = append(leader.id, f.id, at.term, at.lastIndex, at.term, entries, at.lastIndex + 1);
      const out = await attacker(f).deliver(batchOf(at.clusterId, leader.id, f.id, [m]));
      assert.equal(out.code, grpc.status.OK, out.details);
    }
    await assertServing("after-kind-77");
    await restartAll();
    await assertServing("after-kind-77-restart");
  });

  test("a heartbeat with term 2^53-1 is dropped; terms stay small, also after a restart", async () => {
    const { leader, followers: fs } = await followers();
    for (const f of fs) {
      const at = await position(f);
      const m = heartbeat(leader.id, f.id, 2 ** 53 - 1, 0);
      const out = await attacker(f).deliver(batchOf(at.clusterId, leader.id, f.id, [m]));
      assert.equal(out.code, grpc.status.OK, out.details);
      const after = await position(f);
      assert.ok(after.term < 1_000, `node ${f.id} adopted term ${after.term}`);
    }
    const at = await position(leader);
    const toLeader = heartbeat(fs[0]?.id ?? 0, leader.id, 2 ** 53 - 1, 0);
    await attacker(leader).deliver(batchOf(at.clusterId, fs[0]?.id ?? 0, leader.id, [toLeader]));
    await assertServing("after-big-term");
    await restartAll();
    await assertServing("after-big-term-restart");
  });

  test("heartbeats from node 99 every 200 ms for 4 s: every put keeps succeeding", async () => {
    const at = await position(cluster.nodes[0] as ServerProcess);
    let flooding = true;
    let sent = 0;
    const flood = (async () => {
      while (flooding) {
        await Promise.all(
          cluster.nodes.map((n) =>
            attacker(n).deliver(
              batchOf(at.clusterId, 99, n.id, [heartbeat(99, n.id, at.term + 1 + sent, 0)]),
            ),
          ),
        );
        sent++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const client = cluster.client(cluster.endpoints(), 3_000);
    let ok = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 4_000;
    try {
      for (let i = 0; Date.now() < deadline; i++) {
        try {
          const { index } = await client.put(`flood/${i % 20}`, Buffer.from(`flood-${i}`));
          ok++;
          const key = `flood/${i % 20}`;
          if (index > (acked.get(key)?.index ?? 0)) acked.set(key, { index, value: `flood-${i}` });
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    } finally {
      flooding = false;
      await flood;
      client.close();
    }
    assert.ok(sent >= 10, `only ${sent} flood rounds were sent`);
    assert.deepEqual(failures, [], "puts failed during the flood");
    assert.ok(ok >= 20, `only ${ok} puts in 4 s`);
    await assertServing("after-flood");
  });

  test("one inconsistent append over Stream: the node stays up", async () => {
    const { leader, followers: fs } = await followers();
    for (const f of fs) {
      const at = await position(f);
      // Its one entry repeats prevIndex instead of following it; commit is one past the log.
      const entries: Entry[] = [
        { term: at.term, index: at.lastIndex, kind: 0, data: Buffer.alloc(0) },
      ];
      const m = append(leader.id, f.id, at.term, at.lastIndex, at.term, entries, at.lastIndex + 1);
      const out = await attacker(f).stream([batchOf(at.clusterId, leader.id, f.id, [m])]);
      assert.equal(out.code, grpc.status.OK, out.details);
    }
    await assertServing("after-inconsistent");
    assertAllRunning();
  });

  test("malformed protobuf and a uint64 above 2^53 get INVALID_ARGUMENT on both ports", async () => {
    const { leader, followers: fs } = await followers();
    const f = fs[0] as ServerProcess;
    const at = await position(f);
    const peer = attacker(f);
    const cases: [string, Promise<{ code: number; details: string }>, RegExp][] = [
      [
        "peer Deliver, malformed",
        peer.unaryRaw("/dfs.raft.v1.RaftPeer/Deliver", MALFORMED_PROTOBUF),
        /malformed protobuf/,
      ],
      [
        "peer Stream, malformed",
        peer.streamRaw("/dfs.raft.v1.RaftPeer/Stream", [MALFORMED_PROTOBUF]),
        /malformed protobuf/,
      ],
      [
        "peer Deliver, term 2^60",
        peer.unaryRaw(
          "/dfs.raft.v1.RaftPeer/Deliver",
          batchWithRawTerm(at.clusterId, leader.id, f.id, 2n ** 60n),
        ),
        /above 2\^53-1/,
      ],
    ];
    const client = new PeerAttacker(f.address);
    try {
      const bigVersion = Buffer.from(
        new BinaryWriter()
          .uint32(10)
          .string("k")
          .uint32(24)
          .uint64(2n ** 60n)
          .finish(),
      );
      cases.push(
        [
          "client Put, malformed",
          client.unaryRaw("/dfs.v1.Dfs/Put", MALFORMED_PROTOBUF),
          /malformed protobuf/,
        ],
        [
          "client Get, malformed",
          client.unaryRaw("/dfs.v1.Dfs/Get", MALFORMED_PROTOBUF),
          /malformed protobuf/,
        ],
        [
          "client Put, if_version 2^60",
          client.unaryRaw("/dfs.v1.Dfs/Put", bigVersion),
          /above 2\^53-1/,
        ],
        [
          "client Download, malformed",
          client.serverStreamRaw("/dfs.v1.Dfs/Download", MALFORMED_PROTOBUF),
          /malformed protobuf/,
        ],
        [
          "client Upload, malformed",
          client.streamRaw("/dfs.v1.Dfs/Upload", [MALFORMED_PROTOBUF]),
          /malformed protobuf/,
        ],
        [
          "client BatchStream, malformed",
          client.bidiRaw("/dfs.v1.Dfs/BatchStream", [MALFORMED_PROTOBUF]),
          /malformed protobuf/,
        ],
      );
      for (const [name, call, details] of cases) {
        const out = await call;
        assert.equal(out.code, grpc.status.INVALID_ARGUMENT, `${name}: ${out.code} ${out.details}`);
        assert.match(out.details, details, name);
      }
    } finally {
      client.close();
    }
    await assertServing("after-malformed");
    assertAllRunning();
  });

  // The last two attacks move terms up (by design), so they run after the others.
  test("heartbeats in term 2^52 and 2^52-1 move terms up 2^20 at most; the cluster elects", async () => {
    // Both used to be adopted: a node in term 2^52 can never campaign again (the term is
    // durable), so one such heartbeat to every node ended elections for good.
    const { leader, followers: fs } = await followers();
    const start = await highestTerm();
    // Six forged messages, each moving one node at most MAX_TERM_STEP past the highest term.
    termCeiling = start + 6 * MAX_TERM_STEP + SMALL_TERM;
    for (const term of [MAX_TERM, MAX_TERM - 1]) {
      for (const target of [...fs, leader]) {
        const at = await position(target);
        const from = target === leader ? (fs[0] as ServerProcess).id : leader.id;
        const m = heartbeat(from, target.id, term, 0);
        const out = await attacker(target).deliver(batchOf(at.clusterId, from, target.id, [m]));
        assert.equal(out.code, grpc.status.OK, out.details);
        const after = await position(target);
        assert.ok(after.term < termCeiling, `node ${target.id} moved to term ${after.term}`);
      }
    }
    await assertServing("after-term-2^52");
    await assertElects(await highestTerm());
    await assertServing("after-term-2^52-election");
    await restartAll();
    await assertElects(await highestTerm());
    await assertServing("after-term-2^52-restart");
  });

  test("a heartbeat exactly 2^20 terms ahead is adopted; the cluster elects past it", async () => {
    const { leader, followers: fs } = await followers();
    const f = fs[0] as ServerProcess;
    const at = await position(f);
    const top = at.term + MAX_TERM_STEP; // the highest term one message can move a node to
    termCeiling = top + SMALL_TERM;
    const m = heartbeat(leader.id, f.id, top, 0);
    const out = await attacker(f).deliver(batchOf(at.clusterId, leader.id, f.id, [m]));
    assert.equal(out.code, grpc.status.OK, out.details);
    // The term spreads (answers carry it), and the cluster elects above it.
    await waitFor(
      "a leader above the forged term",
      async () => {
        const p = await position(cluster.node(await cluster.waitForLeader()));
        return p.term > top ? p : undefined;
      },
      30_000,
    );
    await assertServing("after-step-term");
    await assertElects(await highestTerm());
    await assertServing("after-step-term-election");
    await restartAll();
    await assertElects(await highestTerm());
    await assertServing("after-step-term-restart");
  });

  test("every acknowledged write is on every node", async () => {
    assert.ok(acked.size >= 100);
    for (const n of cluster.nodes) {
      await caughtUp(cluster, n.id);
      await assertNodeHolds(cluster, n.id, acked);
    }
  });
});
