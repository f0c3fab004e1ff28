/** The `--peers` parser and its cross-checks, directly. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ownPeer,
  parseNodeId,
  parsePeer,
  parsePeers,
  peerAddressText,
} from "../../../src/cli/peers.ts";
import { UsageError } from "../../../src/cli/usage-error.ts";

function rejects(spec: string, pattern: RegExp): void {
  assert.throws(
    () => parsePeers(spec),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `not a UsageError: ${String(err)}`);
      assert.match(err.message, pattern, `for '${spec}'`);
      return true;
    },
  );
}

describe("parsePeers", () => {
  test("parses a well-formed list in order", () => {
    assert.deepEqual(parsePeers("1@localhost:50051,2@10.0.0.2:7000,3@[::1]:50053"), [
      { id: 1, host: "localhost", port: 50051, peerHost: "localhost", peerPort: 60051 },
      { id: 2, host: "10.0.0.2", port: 7000, peerHost: "10.0.0.2", peerPort: 17000 },
      { id: 3, host: "[::1]", port: 50053, peerHost: "[::1]", peerPort: 60053 },
    ]);
  });

  test("tolerates spaces around entries", () => {
    assert.deepEqual(parsePeers(" 1@a:1 , 2@b:2 "), [
      { id: 1, host: "a", port: 1, peerHost: "a", peerPort: 10001 },
      { id: 2, host: "b", port: 2, peerHost: "b", peerPort: 10002 },
    ]);
  });

  test("the seed's list keeps working: peer ports default to port + 10000", () => {
    const peers = parsePeers("1@localhost:50051,2@localhost:50052,3@localhost:50053");
    assert.deepEqual(
      peers.map((p) => `${p.host}:${p.port} ${peerAddressText(p)}`),
      [
        "localhost:50051 localhost:60051",
        "localhost:50052 localhost:60052",
        "localhost:50053 localhost:60053",
      ],
    );
  });

  test("an explicit peer port or peer host:port overrides the default", () => {
    assert.deepEqual(parsePeer("1@a:60000/50000"), {
      id: 1,
      host: "a",
      port: 60000,
      peerHost: "a",
      peerPort: 50000,
    });
    assert.deepEqual(parsePeer("2@10.0.0.2:2379/10.1.0.2:2380"), {
      id: 2,
      host: "10.0.0.2",
      port: 2379,
      peerHost: "10.1.0.2",
      peerPort: 2380,
    });
    assert.deepEqual(parsePeer("3@[::1]:7000/[::1]:7001"), {
      id: 3,
      host: "[::1]",
      port: 7000,
      peerHost: "[::1]",
      peerPort: 7001,
    });
  });

  test("accepts the port range bounds", () => {
    assert.equal(parsePeer("1@h:1").port, 1);
    assert.equal(parsePeer("1@h:55535").peerPort, 65535);
    assert.equal(parsePeer("1@h:65535/1").port, 65535);
  });

  test("a client port above 55535 needs its peer port spelled out", () => {
    rejects(
      "1@h:55536",
      /default peer port 55536\+10000 is above 65535; give it explicitly \(1@h:55536\/<peerPort>\)/,
    );
    assert.equal(parsePeer("1@h:55536/1234").peerPort, 1234);
  });

  test("rejects malformed peer listeners, naming the entry", () => {
    rejects("1@h:1/", /entry '1@h:1\/' .*nothing after '\/'/);
    rejects("1@h:1/0", /peer port 0 is not in 1\.\.65535/);
    rejects("1@h:1/70000", /peer port 70000 is not in/);
    rejects("1@h:1/x", /peer address 'x' has no ':port'/);
    rejects("1@h:1/x:", /peer address 'x:': port '' is not a number/);
    rejects("1@h:1/::1:5", /peer address .*brackets/);
    rejects("1@h:1/2/3", /peer address/);
  });

  test("rejects malformed entries, naming the entry", () => {
    rejects("", /is empty/);
    rejects("1@h:1,", /entry '' .*empty entry/);
    rejects("h:1", /entry 'h:1' .*missing '@'/);
    rejects("@h:1", /id '' is not a positive integer/);
    rejects("0@h:1", /id '0'/);
    rejects("01@h:1", /id '01'/);
    rejects("1.0@h:1", /id '1\.0'/);
    rejects("4294967296@h:1", /id '4294967296'/);
    rejects("1@h", /no ':port'/);
    rejects("1@h:", /port '' is not a number/);
    rejects("1@h:0", /port 0 is not in/);
    rejects("1@h:65536", /port 65536 is not in/);
    rejects("1@h:-5", /port '-5' is not a number/);
    rejects("1@:5", /host is empty/);
    rejects("1@a b:5", /characters/);
    rejects("1@::1:5", /brackets/);
    rejects("1@[zz]:5", /bracketed IPv6/);
  });

  test("rejects duplicate ids and addresses", () => {
    rejects("1@a:1,2@b:2,1@c:3", /lists id 1 more than once/);
    rejects("1@a:1,2@A:1", /lists address A:1 more than once/);
  });

  test("rejects a peer address that is also a client or peer address", () => {
    rejects(
      "1@h:50051,2@h:60051/7",
      /lists address h:60051 more than once \(peer address of 1, client address of 2\)/,
    );
    rejects(
      "1@h:1/h:1",
      /lists address h:1 more than once \(client address of 1, peer address of 1\)/,
    );
    rejects(
      "1@h:1/9,2@h:2/9",
      /lists address h:9 more than once \(peer address of 1, peer address of 2\)/,
    );
    rejects("1@h:1/H:9,2@h:2/9", /lists address h:9 more than once/);
    assert.equal(parsePeers("1@a:1/9,2@b:2/9").length, 2, "same port on different hosts");
  });

  test("the same host on different ports is fine (local clusters)", () => {
    assert.equal(parsePeers("1@localhost:1,2@localhost:2").length, 2);
  });
});

describe("ownPeer", () => {
  const peers = parsePeers("1@a:10,2@b:20");

  test("returns this node's entry", () => {
    assert.deepEqual(ownPeer(peers, 2, 20), {
      id: 2,
      host: "b",
      port: 20,
      peerHost: "b",
      peerPort: 10020,
    });
    assert.equal(ownPeer(peers, 2, 20, 10020).id, 2);
  });

  test("rejects a --peer-port that differs from the entry", () => {
    assert.throws(
      () => ownPeer(peers, 1, 10, 10020),
      /--peer-port 10020 does not match this node's peer port 10010 in --peers \(a:10010\)/,
    );
  });

  test("rejects an id that is not a member", () => {
    assert.throws(() => ownPeer(peers, 3, 30), /no entry for this node's --id 3 \(ids: 1, 2\)/);
  });

  test("rejects a --port that differs from the entry", () => {
    assert.throws(() => ownPeer(peers, 1, 20), /--port 20 does not match .* 1@a:10/);
  });
});

describe("parseNodeId", () => {
  test("accepts positive uint32 integers only", () => {
    assert.equal(parseNodeId("1"), 1);
    assert.equal(parseNodeId("4294967295"), 4294967295);
    for (const bad of ["", "0", "-1", "+1", "1e3", "0x1", " 1", "4294967296"]) {
      assert.equal(parseNodeId(bad), null, bad);
    }
  });
});
