/**
 * Entries kept in the stored form never go on the wire: the link rehydrates them just
 * before a batch is written, keeps the order of messages to a peer while a read is in
 * flight, and sends nothing of a batch whose bytes it cannot vouch for.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { RaftPeerService } from "../../../src/gen/raft.ts";
import { type Entry, EntryKind, type Message } from "../../../src/raft/index.ts";
import {
  type EntryRehydrator,
  PeerDrops,
  PeerTransport,
  peerService,
} from "../../../src/transport/index.ts";

const LIGHT = 0xee; // a "stored form" in this test: one marker byte, then the index

function light(index: number): Entry {
  return { term: 1, index, kind: EntryKind.Normal, data: Buffer.from([LIGHT, index]) };
}
function full(index: number): Entry {
  return { term: 1, index, kind: EntryKind.Normal, data: Buffer.alloc(1000, index) };
}
function append(entries: Entry[]): Message {
  const first = entries[0]?.index ?? 1;
  return {
    type: "append",
    from: 1,
    to: 2,
    term: 1,
    prevIndex: first - 1,
    prevTerm: first > 1 ? 1 : 0,
    entries,
    commit: 0,
  };
}
const heartbeat: Message = { type: "heartbeat", from: 1, to: 2, term: 1, commit: 0, context: 7 };

/** A peer on a local port that records what it is delivered. */
async function listen(): Promise<{ address: string; got: Message[]; close: () => void }> {
  const got: Message[] = [];
  const server = new grpc.Server();
  server.addService(
    RaftPeerService,
    peerService({
      selfId: 2,
      clusterId: "c",
      isMember: () => true,
      deliver: (ms) => void got.push(...ms),
      drops: new PeerDrops(() => {}),
    }),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, got, close: () => server.forceShutdown() };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), "timed out");
}

function rehydrator(
  delays: Map<number, number>,
  broken = new Set<number>(),
): EntryRehydrator & { reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    needs: (e) => e.data[0] === LIGHT,
    bytes: () => 1000,
    rehydrate: async (e) => {
      reads.push(e.index);
      await new Promise((r) => setTimeout(r, delays.get(e.index) ?? 0));
      if (broken.has(e.index)) throw new Error(`blob of entry ${e.index} is damaged`);
      return full(e.index);
    },
  };
}

test("stored-form entries go out rehydrated, in order with everything else", async (t) => {
  const peer = await listen();
  t.after(peer.close);
  const r = rehydrator(new Map([[1, 100]])); // the first read is slow
  const transport = new PeerTransport({
    selfId: 1,
    clusterId: "c",
    dial: () => peer.address,
    onError: () => {},
    rehydrator: r,
  });
  t.after(() => transport.close());
  transport.send([append([light(1), full(2)]), heartbeat]);
  transport.send([append([full(3)]), append([light(4)])]);
  await until(() => peer.got.length === 4);
  assert.deepEqual(
    peer.got.map((m) => m.type),
    ["append", "heartbeat", "append", "append"],
  );
  const sent = peer.got.flatMap((m) => (m.type === "append" ? m.entries : []));
  assert.deepEqual(
    sent.map((e) => [e.index, Buffer.from(e.data).equals(full(e.index).data)]),
    [1, 2, 3, 4].map((i) => [i, true]),
  );
  assert.deepEqual(r.reads, [1, 4]);
});

test("a batch whose bytes cannot be read is not sent; later messages still are", async (t) => {
  const peer = await listen();
  t.after(peer.close);
  const errors: string[] = [];
  const transport = new PeerTransport({
    selfId: 1,
    clusterId: "c",
    dial: () => peer.address,
    onError: (_peer, e) => errors.push(e.message),
    rehydrator: rehydrator(new Map(), new Set([5])),
  });
  t.after(() => transport.close());
  transport.send([append([light(5)])]);
  await until(() => errors.length === 1);
  transport.send([heartbeat]);
  await until(() => peer.got.length === 1);
  assert.equal(peer.got[0]?.type, "heartbeat");
  assert.match(errors[0] ?? "", /not sent to 2: blob of entry 5 is damaged/);
});
