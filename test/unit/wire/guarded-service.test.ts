/**
 * guardService (src/wire/guarded-service.ts) on a real in-process gRPC server: malformed
 * requests and uint64s above 2^53 get INVALID_ARGUMENT with a message (not grpc-js's
 * `INTERNAL: Error deserializing request`), and a handler that throws, directly or from a
 * stream listener, answers INTERNAL instead of crashing the process.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  type DeliverAck,
  type MessageBatch,
  type RaftPeerServer,
  RaftPeerService,
} from "../../../src/gen/raft.ts";
import { guardService } from "../../../src/wire/guarded-service.ts";
import {
  batchOf,
  batchWithRawTerm,
  encodeBatch,
  heartbeat,
  MALFORMED_PROTOBUF,
  PeerAttacker,
} from "../../support/peer-attacker.ts";

const DELIVER = "/dfs.raft.v1.RaftPeer/Deliver";
const STREAM = "/dfs.raft.v1.RaftPeer/Stream";

/** Behaves by the batch's cluster id: "throw" throws, "ok" answers, anything else counts. */
const implementation: RaftPeerServer = {
  deliver(call, callback) {
    if (call.request.clusterId === "throw") throw new Error("boom in deliver");
    callback(null, {});
  },
  stream(call: grpc.ServerReadableStream<MessageBatch, DeliverAck>, callback) {
    let cleanupThrows = false;
    call.on("data", (batch: MessageBatch) => {
      cleanupThrows = batch.clusterId === "throw-twice";
      if (batch.clusterId.startsWith("throw")) throw new Error("boom in a data listener");
    });
    call.on("end", () => callback(null, {}));
    call.on("error", () => {
      if (cleanupThrows) throw new Error("boom in the cleanup");
    });
  },
  installSnapshot(_call, callback) {
    callback({ code: grpc.status.UNIMPLEMENTED });
  },
};

describe("guardService", () => {
  const reports: { kind: string; error: string }[] = [];
  const server = new grpc.Server();
  let attacker: PeerAttacker;

  before(async () => {
    const guarded = guardService(RaftPeerService, implementation, (fields) => reports.push(fields));
    server.addService(guarded.definition, guarded.implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) =>
        e === null ? resolve(p) : reject(e),
      ),
    );
    attacker = new PeerAttacker(`127.0.0.1:${port}`);
  });
  after(() => {
    attacker.close();
    server.forceShutdown();
  });

  test("a well-formed call still works", async () => {
    const out = await attacker.deliver(batchOf("ok", 2, 1, [heartbeat(2, 1, 1)]));
    assert.equal(out.code, grpc.status.OK);
  });

  test("malformed protobuf gets INVALID_ARGUMENT with a message (unary and stream)", async () => {
    const unary = await attacker.unaryRaw(DELIVER, MALFORMED_PROTOBUF);
    assert.equal(unary.code, grpc.status.INVALID_ARGUMENT, unary.details);
    assert.match(
      unary.details,
      /invalid request to \/dfs\.raft\.v1\.RaftPeer\/Deliver: malformed protobuf/,
    );
    const ok = encodeBatch(batchOf("ok", 2, 1, []));
    const stream = await attacker.streamRaw(STREAM, [ok, MALFORMED_PROTOBUF, ok]);
    assert.equal(stream.code, grpc.status.INVALID_ARGUMENT, stream.details);
    assert.match(stream.details, /malformed protobuf/);
  });

  test("a uint64 above 2^53 gets INVALID_ARGUMENT naming the limit", async () => {
    const out = await attacker.unaryRaw(DELIVER, batchWithRawTerm("ok", 2, 1, 2n ** 60n));
    assert.equal(out.code, grpc.status.INVALID_ARGUMENT, out.details);
    assert.match(out.details, /above 2\^53-1/);
  });

  test("a handler that throws answers INTERNAL and the process lives on", async () => {
    const out = await attacker.deliver(batchOf("throw", 2, 1, []));
    assert.equal(out.code, grpc.status.INTERNAL);
    assert.match(out.details, /boom in deliver/);
    assert.ok(reports.some((r) => r.kind === "threw" && r.error === "boom in deliver"));
  });

  test("a stream listener that throws answers INTERNAL", async () => {
    const out = await attacker.stream([batchOf("ok", 2, 1, []), batchOf("throw", 2, 1, [])]);
    assert.equal(out.code, grpc.status.INTERNAL);
    assert.match(out.details, /boom in a data listener/);
    const after = await attacker.deliver(batchOf("ok", 2, 1, []));
    assert.equal(after.code, grpc.status.OK, "the server still serves");
  });

  test("a cleanup listener that throws as well still ends the call once", async () => {
    const out = await attacker.stream([batchOf("throw-twice", 2, 1, [])]);
    assert.equal(out.code, grpc.status.INTERNAL);
    assert.match(out.details, /boom in a data listener/);
    assert.ok(reports.some((r) => r.error === "boom in the cleanup"));
    const after = await attacker.deliver(batchOf("ok", 2, 1, []));
    assert.equal(after.code, grpc.status.OK, "the server still serves");
  });
});
