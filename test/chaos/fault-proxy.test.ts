/**
 * The fault proxy does exactly what the harness relies on: bytes pass unaltered and in
 * order, a blackhole holds them (and releases them on heal), a delay is measurable, drop
 * destroys connections, and heal restores a working link.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../../src/cluster/index.ts";
import { Rng } from "../support/rng.ts";
import { FaultProxy } from "./fault-proxy.ts";

/** An echo server that greets each connection with "hi:" so the backward lane carries bytes unprompted. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.write("hi:");
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address !== null ? address.port : 0 };
}

/** A client connection that collects what it receives. */
interface Probe {
  readonly socket: Socket;
  received: Buffer;
  closed: boolean;
}

async function dial(port: number): Promise<Probe> {
  const socket = connect({ host: "127.0.0.1", port });
  const probe: Probe = { socket, received: Buffer.alloc(0), closed: false };
  socket.on("data", (chunk: Buffer) => {
    probe.received = Buffer.concat([probe.received, chunk]);
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    probe.closed = true;
  });
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return probe;
}

const GREETING = Buffer.from("hi:");

function untilReceived(probe: Probe, bytes: number, timeoutMs = 5000): Promise<true> {
  return waitFor(
    `${bytes} bytes through the proxy`,
    () => (probe.received.length >= bytes ? true : undefined),
    timeoutMs,
    5,
  );
}

/** Observes a link for `ms` to show that nothing arrives (an absence needs a window). */
function observe(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("fault proxy", () => {
  let echo: { server: Server; port: number };
  const proxies: FaultProxy[] = [];
  const probes: Probe[] = [];

  async function proxy(seed = 1): Promise<FaultProxy> {
    const rng = new Rng(seed);
    const p = await FaultProxy.start(echo.port, { random: rng.source() });
    proxies.push(p);
    return p;
  }
  async function client(p: FaultProxy): Promise<Probe> {
    const probe = await dial(p.port);
    probes.push(probe);
    return probe;
  }

  before(async () => {
    echo = await echoServer();
  });
  after(async () => {
    for (const probe of probes) probe.socket.destroy();
    await Promise.all(proxies.map((p) => p.close()));
    await new Promise<void>((resolve) => echo.server.close(() => resolve()));
  });

  test("passes bytes through exactly, both ways", async () => {
    const p = await proxy();
    const probe = await client(p);
    const payload = randomBytes(2 * 1024 * 1024);
    probe.socket.write(payload);
    await untilReceived(probe, GREETING.length + payload.length);
    assert.deepEqual(probe.received, Buffer.concat([GREETING, payload]));
    assert.equal(p.stats.bytesForward, payload.length);
    assert.equal(p.stats.bytesBackward, GREETING.length + payload.length);
  });

  test("blackhole holds every byte until healed, then delivers them in order", async () => {
    const p = await proxy();
    const probe = await client(p);
    await untilReceived(probe, GREETING.length);
    p.set({ kind: "blackhole" });
    probe.socket.write("one,");
    probe.socket.write("two");
    await observe(300);
    assert.deepEqual(probe.received, GREETING, "bytes crossed a blackholed link");
    assert.equal(probe.closed, false, "a blackhole holds, it does not close");
    p.heal();
    await untilReceived(probe, GREETING.length + 7);
    assert.equal(probe.received.toString(), "hi:one,two");
  });

  test("a one-way blackhole holds one direction only", async () => {
    const p = await proxy();
    p.set({ kind: "blackhole" }, "forward");
    const probe = await client(p);
    await untilReceived(probe, GREETING.length); // backward still flows
    probe.socket.write("ping");
    await observe(300);
    assert.equal(probe.received.toString(), "hi:");
    p.heal();
    await untilReceived(probe, GREETING.length + 4);
    assert.equal(probe.received.toString(), "hi:ping");
  });

  test("delay is measurable and keeps byte order", async () => {
    const p = await proxy();
    const probe = await client(p);
    await untilReceived(probe, GREETING.length);
    p.set({ kind: "delay", ms: 150, jitterMs: 50 });
    const started = performance.now();
    const parts = Array.from({ length: 20 }, (_, i) => `<${i}>`);
    for (const part of parts) probe.socket.write(part);
    const expected = `hi:${parts.join("")}`;
    await untilReceived(probe, expected.length);
    const rtt = performance.now() - started;
    assert.ok(rtt >= 200, `round trip ${rtt.toFixed(0)} ms is below 2 × (150 - 50) ms`);
    assert.equal(probe.received.toString(), expected);
  });

  test("drop destroys connections, and heal restores the link", async () => {
    const p = await proxy();
    const probe = await client(p);
    await untilReceived(probe, GREETING.length);
    p.set({ kind: "drop", p: 1 }, "forward");
    probe.socket.write("lost");
    await waitFor("the dropped connection to close", () => (probe.closed ? true : undefined));
    assert.equal(p.stats.dropped, 1);
    assert.equal(probe.received.toString(), "hi:", "a dropped chunk must not be delivered");
    p.heal();
    const fresh = await client(p);
    fresh.socket.write("back");
    await untilReceived(fresh, GREETING.length + 4);
    assert.equal(fresh.received.toString(), "hi:back");
    assert.equal(p.stats.dropped, 1);
  });

  test("drop with p = 0.5 destroys some connections and never alters bytes", async () => {
    const p = await proxy();
    let destroyed = 0;
    for (let i = 0; i < 20; i++) {
      p.set({ kind: "drop", p: 0.5 }, "forward");
      const probe = await client(p);
      await untilReceived(probe, GREETING.length);
      probe.socket.write(`m${i}`);
      await waitFor(`connection ${i} to echo or close`, () =>
        probe.closed || probe.received.length >= GREETING.length + `m${i}`.length
          ? true
          : undefined,
      );
      if (probe.closed) destroyed++;
      else assert.equal(probe.received.toString(), `hi:m${i}`);
      probe.socket.destroy();
    }
    assert.ok(destroyed > 0 && destroyed < 20, `${destroyed} of 20 connections destroyed`);
    assert.equal(p.stats.dropped, destroyed);
  });
});
