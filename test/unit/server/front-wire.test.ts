/**
 * What crosses a front end's MessagePort (src/server/front/): views into larger buffers
 * are copied before cloning (a clone would send the whole underlying buffer), Buffers come
 * back as Buffers, and metadata keeps every value of every key, binary ones included.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageChannel } from "node:worker_threads";
import { Metadata } from "@grpc/grpc-js";
import { fromWire, toWire } from "../../../src/server/front/metadata.ts";
import { compactBuffers, reviveBuffers } from "../../../src/server/front/wire.ts";

/** One trip through a real MessagePort (structured clone). */
function cloned<T>(value: T): Promise<unknown> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.once("message", (m) => {
      port1.close();
      port2.close();
      resolve(m);
    });
    port1.postMessage(value);
  });
}

test("a view into a slab crosses as its own bytes and comes back a Buffer", async () => {
  const slab = Buffer.alloc(8192, 1);
  const value = slab.subarray(100, 356);
  const request = { key: "k", value, metadata: { a: "b" }, session: undefined };
  const compact = compactBuffers(request) as typeof request;
  assert.equal(request.value, value, "the original is left alone");
  assert.equal(compact.value.buffer.byteLength, 256);
  const back = reviveBuffers(await cloned(compact)) as typeof request;
  assert.ok(Buffer.isBuffer(back.value));
  assert.deepEqual(back.value, value);
  assert.deepEqual(back.metadata, { a: "b" });
});

test("nested buffers in arrays (a Batch) are compacted and revived too", async () => {
  const slab = Buffer.alloc(4096, 2);
  const batch = {
    ops: [{ put: { key: "a", value: slab.subarray(0, 10) } }, { get: { key: "b" } }],
  };
  const back = reviveBuffers(await cloned(compactBuffers(batch))) as typeof batch;
  const put = back.ops[0]?.put as { value: Buffer };
  assert.ok(Buffer.isBuffer(put.value));
  assert.equal(put.value.byteLength, 10);
  assert.equal(put.value.buffer.byteLength, 10);
});

test("metadata keeps every value, text and binary", async () => {
  const md = new Metadata();
  md.add("authorization", "Bearer t");
  md.add("x-many", "1");
  md.add("x-many", "2");
  md.add("x-id-bin", Buffer.from([0, 1, 2]));
  const back = fromWire((await cloned(toWire(md))) as ReturnType<typeof toWire>);
  assert.deepEqual(back.get("authorization"), ["Bearer t"]);
  assert.deepEqual(back.get("x-many"), ["1", "2"]);
  assert.deepEqual(back.get("x-id-bin"), [Buffer.from([0, 1, 2])]);
  assert.deepEqual(toWire(undefined), []);
});

test("large copies are listed for transfer, small ones are not", () => {
  const big = Buffer.alloc(64 * 1024 + 10, 4).subarray(5, 64 * 1024 + 5);
  const small = Buffer.alloc(100, 5).subarray(1, 50);
  const transfer: ArrayBuffer[] = [];
  const out = compactBuffers({ a: big, b: small }, transfer) as { a: Uint8Array; b: Uint8Array };
  assert.equal(transfer.length, 1);
  assert.equal(transfer[0], out.a.buffer);
  assert.deepEqual(Buffer.from(out.a), big);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(out, transfer);
  assert.equal(out.a.byteLength, 0, "moved, not copied");
  assert.equal(out.b.byteLength, 49);
  port1.close();
  port2.close();
});
