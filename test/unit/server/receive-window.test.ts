import assert from "node:assert/strict";
import http2 from "node:http2";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { CLIENT_STREAM_RECEIVE_WINDOW } from "../../../src/server/client-server-options.ts";
import {
  CONNECTION_RECEIVE_WINDOW,
  raiseConnectionWindow,
  raiseStreamWindow,
  STREAM_RECEIVE_WINDOW,
} from "../../../src/server/receive-window.ts";

/** A real grpc-js server on 127.0.0.1, windows raised as a node raises them. */
async function startServer(streamWindow?: number): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  assert.equal(
    raiseStreamWindow(server, streamWindow),
    true,
    "grpc-js internals for the stream window",
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  assert.equal(raiseConnectionWindow(server), true, "grpc-js internals for the connection window");
  return { server, port };
}

/** Polls `read` until it returns `want` or the deadline passes; returns the last value. */
async function pollFor<T>(read: () => T, want: T, deadlineMs: number): Promise<T> {
  const until = Date.now() + deadlineMs;
  let value = read();
  while (value !== want && Date.now() < until) {
    await new Promise((resolve) => setImmediate(resolve));
    value = read();
  }
  return value;
}

/** The stream window a fresh connection to `port` is told. */
async function advertisedStreamWindow(port: number): Promise<number | undefined> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const settings = await new Promise<http2.Settings>((resolve, reject) => {
      session.once("remoteSettings", resolve);
      session.once("error", reject);
    });
    return settings.initialWindowSize;
  } finally {
    session.close();
  }
}

test("the client port advertises its smaller stream window, the peer port 8 MiB", async () => {
  assert.ok(CLIENT_STREAM_RECEIVE_WINDOW < STREAM_RECEIVE_WINDOW);
  const client = await startServer(CLIENT_STREAM_RECEIVE_WINDOW);
  const peer = await startServer();
  try {
    assert.equal(await advertisedStreamWindow(client.port), CLIENT_STREAM_RECEIVE_WINDOW);
    assert.equal(await advertisedStreamWindow(peer.port), STREAM_RECEIVE_WINDOW);
  } finally {
    client.server.forceShutdown();
    peer.server.forceShutdown();
  }
});

test("a peer connecting to our gRPC server may send 8 MiB per stream and 16 MiB per connection unacknowledged", async () => {
  const { server, port } = await startServer();
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const settings = await new Promise<http2.Settings>((resolve, reject) => {
      session.once("remoteSettings", resolve);
      session.once("error", reject);
    });
    assert.equal(settings.initialWindowSize, STREAM_RECEIVE_WINDOW);
    // HTTP/2's default is 65,535 bytes: without the raise a 1 MiB message waits for ~16
    // WINDOW_UPDATEs from the receiver on its way.
    const connectionWindow = await pollFor(
      () => session.state.remoteWindowSize,
      CONNECTION_RECEIVE_WINDOW,
      5000,
    );
    assert.equal(connectionWindow, CONNECTION_RECEIVE_WINDOW);
  } finally {
    session.close();
    server.forceShutdown();
  }
});
