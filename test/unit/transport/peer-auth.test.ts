/** The peer identity rule: CN `dfs-node-<id>` must name the claimed sender. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { memberIdOfCommonName, nodeCommonName } from "../../../src/api/peer-identity.ts";
import { type AuthenticatedCall, PeerAuthenticator } from "../../../src/transport/peer-auth.ts";
import { PeerDrops } from "../../../src/transport/peer-drops.ts";

function callWith(cn: unknown, transport = "ssl"): AuthenticatedCall {
  return {
    getAuthContext: () => ({
      transportSecurityType: transport,
      sslPeerCertificate: { subject: { CN: cn } } as never,
    }),
  };
}

describe("peer identity", () => {
  test("round-trips ids and rejects look-alikes", () => {
    assert.equal(memberIdOfCommonName(nodeCommonName(7)), 7);
    assert.equal(memberIdOfCommonName("dfs-node-4294967295"), 4294967295);
    for (const bad of [
      "dfs-node-0",
      "dfs-node-07",
      "dfs-node-",
      "dfs-node-1 ",
      "node-1",
      "dfs-node-4294967296",
      ["dfs-node-1"],
      undefined,
    ]) {
      assert.equal(memberIdOfCommonName(bad), null, String(bad));
    }
  });

  test("accepts the member the certificate names, refuses and counts any other", () => {
    const logs: object[] = [];
    const drops = new PeerDrops(
      (fields) => logs.push(fields),
      () => 0,
    );
    const auth = new PeerAuthenticator(drops);
    assert.equal(auth.authorize(callWith("dfs-node-2"), 2), null);
    assert.match(auth.authorize(callWith("dfs-node-2"), 3) ?? "", /member 2 .* from 3/);
    assert.match(auth.authorize(callWith("dfs-client"), 4) ?? "", /names no member/);
    assert.match(auth.authorize(callWith(undefined, "insecure"), 5) ?? "", /not TLS/);
    assert.equal(drops.snapshot().get("not_authorized"), 3);
    assert.equal(logs.length, 3, "one line per distinct sender");
  });

  test("refusals share the node's drop counter and its once-a-minute log", () => {
    const logs: { reason: string }[] = [];
    let now = 0;
    const drops = new PeerDrops(
      (fields) => logs.push(fields),
      () => now,
    );
    const auth = new PeerAuthenticator(drops);
    for (let i = 0; i < 100; i++) auth.authorize(callWith("dfs-node-2"), 3);
    drops.record(3, "not_member", "another refusal from the same sender");
    now = 59_999;
    auth.authorize(callWith("dfs-node-2"), 3);
    assert.equal(logs.length, 1);
    now = 60_000;
    auth.authorize(callWith("dfs-node-2"), 3);
    assert.equal(logs.length, 2);
    assert.deepEqual(
      logs.map((l) => l.reason),
      ["not_authorized", "not_authorized"],
    );
    assert.equal(drops.snapshot().get("not_authorized"), 102);
    assert.equal(drops.snapshot().get("not_member"), 1);
  });
});
