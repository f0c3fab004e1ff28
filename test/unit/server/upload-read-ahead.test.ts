/**
 * An upload's call holds at most UPLOAD_READ_AHEAD_MESSAGES decoded messages while the
 * handler has it paused (Raft's window full): a real grpc-js server and client over
 * loopback, the client writing 1 MiB messages as fast as flow control lets it.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as grpc from "@grpc/grpc-js";
import { limitReadAhead, UPLOAD_READ_AHEAD_MESSAGES } from "../../../src/server/upload-handler.ts";

const MiB = 1024 * 1024;
const same = (b: Buffer): Buffer => b;
const SERVICE: grpc.ServiceDefinition = {
  up: {
    path: "/test.ReadAhead/Up",
    requestStream: true,
    responseStream: false,
    requestSerialize: same,
    requestDeserialize: same,
    responseSerialize: same,
    responseDeserialize: same,
  },
};

test("a paused upload call holds at most UPLOAD_READ_AHEAD_MESSAGES messages", async () => {
  let held = -1;
  let limited = false;
  const server = new grpc.Server({ "grpc.max_receive_message_length": 2 * MiB });
  server.addService(SERVICE, {
    up: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      limited = limitReadAhead(call);
      call.once("data", () => {
        call.pause(); // as the handler does while Raft's window is full
        void sleep(500).then(() => {
          held = call.readableLength;
          call.resume();
          call.on("data", () => {});
        });
      });
      call.on("end", () => callback(null, Buffer.alloc(0)));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const Client = grpc.makeGenericClientConstructor(SERVICE, "ReadAhead");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 2 * MiB,
  });
  try {
    const done = new Promise<void>((resolve, reject) => {
      const stream = client.up((error: grpc.ServiceError | null) =>
        error ? reject(error) : resolve(),
      );
      void (async () => {
        for (let i = 0; i < 32; i++) {
          if (!stream.write(Buffer.alloc(MiB, i))) await once(stream, "drain");
        }
        stream.end();
      })();
    });
    await done;
  } finally {
    client.close();
    server.forceShutdown();
  }
  assert.ok(limited, "Node's readable state has highWaterMark");
  // grpc-js's default (Node's object mode high-water mark) held 16 messages here.
  assert.ok(held >= 0 && held <= UPLOAD_READ_AHEAD_MESSAGES, `held ${held} messages while paused`);
});
