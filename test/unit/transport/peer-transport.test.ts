/**
 * The send side follows the configuration: a link is made on the first message to a peer
 * the node can dial, none for one it cannot (not a member it knows), and a link whose
 * peer left the configuration or moved is closed by reconcile().
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Message } from "../../../src/raft/index.ts";
import { PeerTransport } from "../../../src/transport/index.ts";

const heartbeat = (to: number): Message => ({
  type: "heartbeat",
  from: 1,
  to,
  term: 1,
  commit: 0,
  context: 0,
});

test("links follow the configuration: made on first send, closed when a peer leaves or moves", () => {
  // Nothing listens on port 9: deliveries fail quietly (Raft tolerates loss).
  const addresses = new Map([
    [2, "127.0.0.1:9"],
    [3, "127.0.0.1:9"],
  ]);
  const transport = new PeerTransport({
    selfId: 1,
    clusterId: "c",
    identity: "a".repeat(32),
    dial: (id) => addresses.get(id),
    onError: () => {},
  });
  try {
    assert.deepEqual(transport.linkedPeers(), []);
    transport.send([heartbeat(2), heartbeat(4), heartbeat(1)]);
    assert.deepEqual(transport.linkedPeers(), [2], "none for an unknown peer or itself");
    addresses.set(4, "127.0.0.1:9");
    transport.send([heartbeat(3), heartbeat(4)]);
    assert.deepEqual(transport.linkedPeers(), [2, 3, 4], "a member added gets one");
    addresses.delete(2);
    addresses.set(3, "127.0.0.2:9");
    transport.reconcile();
    assert.deepEqual(transport.linkedPeers(), [4], "removed and moved peers lose theirs");
    transport.send([heartbeat(3)]);
    assert.deepEqual(transport.linkedPeers(), [3, 4], "the moved one is dialed anew");
  } finally {
    transport.close();
  }
  assert.deepEqual(transport.linkedPeers(), []);
});
