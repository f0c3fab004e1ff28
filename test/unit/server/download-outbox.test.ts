/**
 * A download holds a bounded number of bytes in gRPC's hands (issue 22: memory bounded
 * by design): the next chunk is read only once no more than DOWNLOAD_UNSENT_BYTES of
 * earlier writes are outstanding, whatever gRPC's own buffer would still accept; a
 * cancelled call stops the wait.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { FILE_CHUNK_BYTES } from "../../../src/api/index.ts";
import {
  DOWNLOAD_UNSENT_BYTES,
  type Outbox,
  type SendTarget,
  send,
} from "../../../src/server/download-handler.ts";

/** A call whose writes complete only when the test says (flow control held). */
class HeldCall extends EventEmitter {
  cancelled = false;
  readonly pending: (() => void)[] = [];
  write(_message: unknown, cb?: () => void): boolean {
    if (cb) this.pending.push(cb);
    return true; // gRPC's buffer (16 messages) would still take more
  }
  complete(): void {
    this.pending.shift()?.();
  }
}

const chunk = () => ({ info: undefined, data: Buffer.alloc(FILE_CHUNK_BYTES) });

test("the bound is two chunks", () => {
  assert.equal(DOWNLOAD_UNSENT_BYTES, 2 * FILE_CHUNK_BYTES);
});

test("a send waits while more than the bound is unsent, and goes on as writes complete", async () => {
  const call = new HeldCall();
  const target = call as unknown as SendTarget;
  const outbox: Outbox = { bytes: 0, writes: [] };
  await send(target, chunk(), outbox);
  await send(target, chunk(), outbox);
  let third = false;
  const sending = send(target, chunk(), outbox).then(() => (third = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false, "three chunks unsent: the third send waits");
  assert.equal(outbox.bytes, 3 * FILE_CHUNK_BYTES);
  call.complete();
  await sending;
  assert.equal(third, true, "the oldest write completed: the send returns");
  assert.equal(outbox.bytes, 2 * FILE_CHUNK_BYTES);
});

test("a cancelled call ends the wait with an error, and leaves no listener behind", async () => {
  const call = new HeldCall();
  const target = call as unknown as SendTarget;
  const outbox: Outbox = { bytes: 0, writes: [] };
  await send(target, chunk(), outbox);
  await send(target, chunk(), outbox);
  const sending = send(target, chunk(), outbox);
  await new Promise((r) => setImmediate(r));
  call.cancelled = true;
  call.emit("cancelled");
  await assert.rejects(sending, /cancelled/);
  assert.equal(call.listenerCount("cancelled"), 0);
  assert.equal(call.listenerCount("drain"), 0);
});
