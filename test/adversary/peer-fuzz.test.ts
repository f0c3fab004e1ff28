/**
 * Seeded peer fuzzing against a live 3-node cluster: for FUZZ_SECONDS
 * (default 60) throw random and mutated peer messages (test/support/peer-fuzz.ts) at the
 * nodes' RaftPeer service while a client writes. Every call must end with a refusal or an
 * ack, never INTERNAL or a dead node; at the end the cluster serves, every acknowledged
 * write is on every node, every WAL (read with the project's reader) holds only valid
 * entries in small terms, and after all nodes restart they serve and hold every write.
 *
 * Replay: FUZZ_SEED=<seed> FUZZ_SECONDS=<s> node --import tsx --test test/adversary/peer-fuzz.test.ts
 * (the attacks replay exactly; their concrete terms and indexes follow the live cluster).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as fc from "fast-check";
import { LocalCluster } from "../../src/cluster/index.ts";
import { type Acked, assertNodeHolds, caughtUp, writeAcked } from "../support/acked-writes.ts";
import {
  type CallOutcome,
  encodeBatch,
  PeerAttacker,
  removedIds,
} from "../support/peer-attacker.ts";
import {
  type Attack,
  attackArbitrary,
  batchFor,
  chunkFor,
  REMOVED_IDS,
  type TargetView,
} from "../support/peer-fuzz.ts";
import { assertWalValid } from "../support/wal-check.ts";

process.env.DFS_CHECK_INVARIANTS = "1";

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 60);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REPLAY = `FUZZ_SEED=${SEED} FUZZ_SECONDS=${SECONDS} node --import tsx --test test/adversary/peer-fuzz.test.ts`;

/** Status codes that mean a handler threw or the node went away: never acceptable. */
const BROKEN = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN, grpc.status.UNAVAILABLE]);

test(`peer fuzz for ${SECONDS} s (seed ${SEED})`, {
  timeout: SECONDS * 1000 + 240_000,
}, async (t) => {
  process.stderr.write(`peer fuzz: seed ${SEED}; replay with: ${REPLAY}\n`);
  t.diagnostic(`seed ${SEED}; replay: ${REPLAY}`);
  const cluster = await LocalCluster.start();
  const attackers = cluster.nodes.map((n) => new PeerAttacker(n.peerAddress));
  t.after(async () => {
    for (const a of attackers) a.close();
    await cluster.destroy();
  });
  const acked: Acked = new Map();
  await writeAcked(cluster, acked, "before", 100);
  // Only removed ids (and 0) are refused whole: make the fuzz's outsiders removed members.
  const admin = cluster.client();
  try {
    await removedIds(admin, REMOVED_IDS);
  } finally {
    admin.close();
  }

  const views = new Map<number, TargetView>();
  const members = cluster.nodes.map((n) => n.id);
  const refresh = async (): Promise<void> => {
    for (const n of cluster.nodes) {
      const s = await cluster.status(n);
      if (s !== undefined) {
        views.set(n.id, {
          id: n.id,
          term: s.term,
          lastIndex: s.lastIndex,
          leaderId: s.leaderId,
          clusterId: s.clusterId,
          members,
        });
      }
    }
  };
  await refresh();
  let running = true;
  const refresher = (async () => {
    while (running) {
      await refresh();
      await new Promise((r) => setTimeout(r, 300));
    }
  })();

  const writes = { ok: 0, failed: 0 };
  const writer = (async () => {
    const client = cluster.client(cluster.endpoints(), 5_000);
    try {
      for (let i = 0; running; i++) {
        const key = `fuzz/${i % 50}`;
        try {
          const { index } = await client.put(key, Buffer.from(`fuzz-${i}`));
          writes.ok++;
          if (index > (acked.get(key)?.index ?? 0)) acked.set(key, { index, value: `fuzz-${i}` });
        } catch {
          writes.failed++; // unacknowledged: may or may not have happened
        }
      }
    } finally {
      client.close();
    }
  })();

  const outcomes = new Map<string, number>();
  const alive = (): boolean =>
    cluster.nodes.every(
      (n) => n.proc !== null && n.proc.exitCode === null && n.proc.signalCode === null,
    );
  const send = async (attack: Attack): Promise<CallOutcome> => {
    const node = cluster.nodes[attack.target] as (typeof cluster.nodes)[number];
    const a = attackers[attack.target] as PeerAttacker;
    const view = views.get(node.id) as TargetView;
    switch (attack.kind) {
      case "bytes": {
        const path = { deliver: "Deliver", stream: "Stream", snapshot: "InstallSnapshot" }[
          attack.carrier
        ];
        const bytes = Buffer.from(attack.bytes);
        return attack.carrier === "deliver"
          ? a.unaryRaw(`/dfs.raft.v1.RaftPeer/${path}`, bytes)
          : a.streamRaw(`/dfs.raft.v1.RaftPeer/${path}`, [bytes]);
      }
      case "chunk":
        return a.streamRaw("/dfs.raft.v1.RaftPeer/InstallSnapshot", [chunkFor(attack, view)]);
      default: {
        const batch = batchFor(attack, view);
        return attack.carrier === "deliver"
          ? a.deliver(batch)
          : a.streamRaw("/dfs.raft.v1.RaftPeer/Stream", [encodeBatch(batch)]);
      }
    }
  };

  let sent = 0;
  try {
    await fc.assert(
      fc.asyncProperty(attackArbitrary, async (attack) => {
        const out = await send(attack);
        sent++;
        const key = `${attack.kind}:${grpc.status[out.code]}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        assert.ok(
          !BROKEN.has(out.code),
          `${JSON.stringify(attack, bigints)} -> ${grpc.status[out.code]} ${out.details}`,
        );
        if (attack.kind === "random")
          assert.equal(out.code, grpc.status.FAILED_PRECONDITION, out.details);
        assert.ok(alive(), `a node died\n${cluster.logs()}`);
      }),
      {
        seed: SEED,
        numRuns: 10_000_000,
        interruptAfterTimeLimit: SECONDS * 1000,
        endOnFailure: true,
      },
    );
  } catch (error) {
    process.stderr.write(`peer fuzz FAILED; replay with: ${REPLAY}\n`);
    throw error;
  } finally {
    running = false;
    await Promise.all([refresher, writer]);
    t.diagnostic(
      `${sent} attacks; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; writes ${JSON.stringify(writes)}`,
    );
  }
  assert.ok(sent >= SECONDS * 20, `only ${sent} attacks in ${SECONDS} s`);
  assert.ok(
    writes.ok >= SECONDS * 5,
    `the client only wrote ${writes.ok} times (${writes.failed} failed)`,
  );

  await writeAcked(cluster, acked, "after", 50);
  for (const n of cluster.nodes) {
    await caughtUp(cluster, n.id);
    await assertNodeHolds(cluster, n.id, acked);
  }
  await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id)));
  for (const n of cluster.nodes) {
    const held = await assertWalValid(n.dataDir, 1_000);
    t.diagnostic(`node ${n.id}: WAL holds ${held} valid entries`);
  }
  await Promise.all(cluster.nodes.map((n) => cluster.restart(n.id)));
  await cluster.waitForLeader(30_000);
  await writeAcked(cluster, acked, "restarted", 20);
  for (const n of cluster.nodes) {
    await caughtUp(cluster, n.id);
    await assertNodeHolds(cluster, n.id, acked);
  }
  assert.ok(alive(), `a node died after the restart\n${cluster.logs()}`);
});

function bigints(_key: string, value: unknown): unknown {
  return typeof value === "bigint"
    ? value.toString()
    : value instanceof Uint8Array
      ? `<${value.length} bytes>`
      : value;
}
