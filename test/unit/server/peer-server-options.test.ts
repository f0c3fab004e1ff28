/** The peer port's server options and the plain-text warning rule. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isLoopbackHost, peerServerOptions } from "../../../src/server/peer-server-options.ts";
import {
  PEER_KEEPALIVE_TIME_MS,
  PEER_MAX_CONCURRENT_STREAMS,
  PEER_MAX_CONNECTION_IDLE_MS,
} from "../../../src/server/resource-limits.ts";

describe("peer server options", () => {
  test("bound streams per connection, keepalive and idle connections", () => {
    const options = peerServerOptions();
    assert.equal(options["grpc.max_concurrent_streams"], PEER_MAX_CONCURRENT_STREAMS);
    assert.equal(options["grpc.keepalive_time_ms"], PEER_KEEPALIVE_TIME_MS);
    assert.equal(options["grpc.max_connection_idle_ms"], PEER_MAX_CONNECTION_IDLE_MS);
    assert.equal(options["grpc.max_receive_message_length"], 64 * 1024 * 1024);
    assert.ok(PEER_MAX_CONCURRENT_STREAMS >= 2 && PEER_MAX_CONCURRENT_STREAMS <= 16);
  });

  test("only loopback names count as loopback", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "LOCALHOST"]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of [
      "0.0.0.0",
      "::",
      "10.0.0.5",
      "node1.example",
      "128.0.0.1",
      "127.0.0.1.nip.io",
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
