/**
 * A peer link holds a bounded number of bytes whatever the peer does (issue 22: memory
 * bounded by design): at most `maxQueueBytes` queued, and at most one batch in gRPC's
 * hands beyond `maxUnsentBytes`, since a batch is written only while less than that is
 * outstanding. A peer that stops reading makes the link drop, not grow; once it reads
 * again, everything kept arrives, in order.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { type MessageBatch, RaftPeerService } from "../../../src/gen/raft.ts";
import { DEFAULT_TUNING } from "../../../src/server/config.ts";
import { fromWire } from "../../../src/transport/index.ts";
import { DEFAULT_LINK_LIMITS, PeerLink } from "../../../src/transport/peer-link.ts";
import { MiB, mibAppend } from "./mib-append.ts";

const append = mibAppend;

/** A peer that reads nothing until `resume()` (HTTP/2 flow control then holds the link). */
async function stalledPeer(): Promise<{
  address: string;
  got: number[];
  resume: () => void;
  close: () => void;
}> {
  const got: number[] = [];
  let resume = () => {};
  const server = new grpc.Server();
  server.addService(RaftPeerService, {
    deliver: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}),
    stream: (call: grpc.ServerReadableStream<MessageBatch, object>) => {
      call.pause();
      resume = () => call.resume();
      call.on("data", (batch: MessageBatch) => {
        for (const m of batch.messages) {
          const message = fromWire(m);
          if (message?.type === "append") got.push(...message.entries.map((e) => e.index));
        }
      });
    },
    installSnapshot: () => {},
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    got,
    resume: () => resume(),
    close: () => server.forceShutdown(),
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

test("the default limits bound a link to 24 MiB queued and one 8 MiB batch unsent", () => {
  assert.equal(DEFAULT_LINK_LIMITS.maxQueueBytes, 24 * MiB);
  assert.equal(DEFAULT_LINK_LIMITS.maxUnsentBytes, 8 * MiB);
  assert.equal(DEFAULT_LINK_LIMITS.maxBatchBytes, 8 * MiB);
});

test("Raft's byte window per follower, plus the one append that may pass it, fits a link's queue", () => {
  // Else a healthy follower's appends are dropped here and resent from the blobs.
  const { maxInflightAppendBytes, maxAppendBytes } = DEFAULT_TUNING;
  assert.ok(maxInflightAppendBytes > 0, "the byte window is on");
  assert.ok(maxInflightAppendBytes + maxAppendBytes < DEFAULT_LINK_LIMITS.maxQueueBytes);
});

test("a stalled peer: bytes in gRPC's hands stay under the bound, the rest is dropped", async (t) => {
  const peer = await stalledPeer();
  t.after(peer.close);
  const limits = { maxQueueBytes: 4 * MiB, maxBatchBytes: 2 * MiB, maxUnsentBytes: 2 * MiB };
  const link = new PeerLink(1, 2, peer.address, "c", limits, () => {});
  t.after(() => link.close());
  let peakUnsent = 0;
  // 64 MiB of appends, one per turn of the event loop, far more than the peer's windows.
  for (let i = 1; i <= 64; i++) {
    link.enqueue(append(i));
    link.flush();
    peakUnsent = Math.max(peakUnsent, link.unsentBytes);
    await new Promise((r) => setImmediate(r));
  }
  await until("drops", () => link.dropped > 0);
  assert.ok(peakUnsent <= 2 * MiB + 2 * MiB + 4096, `peak unsent ${peakUnsent} bytes`);
  assert.ok(link.unsentBytes > 0, "the stalled peer holds some back");
  peer.resume();
  await until("the kept appends", () => peer.got.length === 64 - link.dropped);
  const sorted = [...peer.got].sort((a, b) => a - b);
  assert.deepEqual(peer.got, sorted, "in order");
  await until("nothing unsent", () => link.unsentBytes === 0);
});
