/**
 * The client library never builds a request over the server's message limit
 * (MAX_GRPC_MESSAGE_BYTES, 1 MiB plus framing): the batcher cuts coalesced operations
 * by their bytes, keys included, and a put too big to share a batch travels alone.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import { MAX_GRPC_MESSAGE_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES } from "../../../src/api/limits.ts";
import { Batcher } from "../../../src/client/batcher.ts";
import type { DfsStub } from "../../../src/client/unary-call.ts";
import { BatchStreamRequest, PutRequest } from "../../../src/gen/dfs.ts";

/** A stub that records the encoded size of every message (and answers none). */
function recordingStub() {
  const sizes: number[] = [];
  let ops = 0;
  const stream = Object.assign(new EventEmitter(), {
    write(message: BatchStreamRequest) {
      sizes.push(BatchStreamRequest.encode(message).finish().length);
      ops += message.batch?.ops.length ?? 0;
    },
    end() {},
    cancel() {
      stream.emit("error", new Error("cancelled"));
    },
  });
  const stub = {
    batchStream: () => stream,
    put: (request: PutRequest, _m: unknown, _o: unknown, callback: (e: Error) => void) => {
      sizes.push(PutRequest.encode(request).finish().length);
      ops++;
      callback(new Error("recorded"));
    },
  } as unknown as DfsStub;
  return { stub, sizes, ops: () => ops };
}

test("coalesced puts with long keys are cut into messages under the server's limit", async () => {
  const { stub, sizes, ops } = recordingStub();
  const batcher = new Batcher(stub);
  const deadline = new Date(Date.now() + 60_000);
  const session = { clientId: "c".repeat(32), sequence: 1e9, firstIncomplete: 1e9 };
  const calls: Promise<unknown>[] = [];
  const put = (i: number, valueBytes: number) =>
    calls.push(
      batcher
        .call(
          "put",
          {
            metadata: {},
            key: `${i}`.padEnd(MAX_KEY_BYTES, "k"),
            value: Buffer.alloc(valueBytes),
            ifVersion: undefined,
            session,
          },
          deadline,
        )
        .catch(() => {}),
    );
  for (let i = 0; i < 700; i++) put(i, 3000);
  put(700, MAX_VALUE_BYTES);
  put(701, MAX_VALUE_BYTES - 100);
  await new Promise((resolve) => setImmediate(resolve));
  batcher.close();
  await Promise.all(calls);
  assert.equal(ops(), 702, "every put was sent");
  assert.ok(sizes.length >= 4, `${sizes.length} messages`);
  for (const size of sizes)
    assert.ok(
      size <= MAX_GRPC_MESSAGE_BYTES,
      `a ${size}-byte message (limit ${MAX_GRPC_MESSAGE_BYTES})`,
    );
});
