/**
 * One protocol front end: a worker thread that accepts client connections on the node's
 * client port and does the protocol work there (HTTP/2, gRPC framing, protobuf decode and
 * encode), so the Raft loop's thread only runs the calls themselves. Unary calls cross to
 * the loop's thread decoded, in batches over the worker's port (wire.ts); streaming calls
 * (BatchStream, Upload, Download, SnapshotSave) are relayed byte for byte to the loop
 * thread's own gRPC server on loopback. See docs/architecture.md#front-ends.
 */
import { createServer, type Server as NetServer } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import * as grpc from "@grpc/grpc-js";
import { ERROR_CODE_METADATA } from "../../api/index.ts";
import { DfsService } from "../../gen/dfs.ts";
import { guardService, malformedReason } from "../../wire/index.ts";
import { CLIENT_STREAM_RECEIVE_WINDOW, clientServerOptions } from "../client-server-options.ts";
import { raiseConnectionWindow, raiseStreamWindow } from "../receive-window.ts";
import { fromWire, toWire } from "./metadata.ts";
import { relayHandler } from "./relay.ts";
import {
  compactBuffers,
  type FrontEndData,
  type FrontEndReady,
  type WireAnswer,
  type WireCall,
} from "./wire.ts";

const data = workerData as FrontEndData;
const port = parentPort;
if (port === null) throw new Error("front-end-worker runs only as a worker thread");

type UnaryCallback = (error: Partial<grpc.StatusObject> | null, value?: unknown) => void;
const waiting = new Map<number, UnaryCallback>();
let nextId = 1;
let outbox: WireCall[] = [];
/** Buffers of the outbox's requests that move to the loop's thread (wire.ts). */
let transfers: ArrayBuffer[] = [];

function flush(): void {
  const calls = outbox;
  outbox = [];
  const transfer = transfers;
  transfers = [];
  port?.postMessage({ kind: "calls", calls }, transfer);
}

port.on("message", (message: { kind: "answers"; answers: WireAnswer[] }) => {
  for (const a of message.answers) {
    const callback = waiting.get(a.id);
    if (callback === undefined) continue;
    waiting.delete(a.id);
    if (a.ok) callback(null, a.response);
    else callback({ code: a.code, details: a.details, metadata: fromWire(a.metadata) });
  }
});

/** A unary method: decoded here, run on the loop's thread, encoded here. */
function bridged(method: string): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const malformed = malformedReason(call.request);
    if (malformed !== undefined) {
      const metadata = new grpc.Metadata();
      metadata.set(ERROR_CODE_METADATA, "invalid_argument");
      callback({ code: grpc.status.INVALID_ARGUMENT, details: malformed, metadata });
      return;
    }
    const id = nextId++;
    waiting.set(id, callback as UnaryCallback);
    const deadline = call.getDeadline();
    if (outbox.length === 0) setImmediate(flush);
    outbox.push({
      id,
      method,
      request: compactBuffers(call.request, transfers),
      metadata: toWire(call.metadata),
      peer: call.getPeer(),
      deadline: deadline instanceof Date ? deadline.getTime() : deadline,
    });
  };
}

const server = new grpc.Server(clientServerOptions());
const internal = new grpc.Client(data.internal, grpc.credentials.createInsecure(), {
  "grpc.max_send_message_length": -1,
  "grpc.max_receive_message_length": -1,
});
const identity = (b: Buffer): Buffer => b;
const guarded = guardService(DfsService, {}, () => {}).definition;
for (const [name, def] of Object.entries(guarded)) {
  if (!def.requestStream && !def.responseStream) {
    server.register(
      def.path,
      bridged(name),
      def.responseSerialize as (v: unknown) => Buffer,
      def.requestDeserialize as (b: Buffer) => unknown,
      "unary",
    );
  } else {
    const kind = def.requestStream
      ? def.responseStream
        ? "bidi"
        : "clientStream"
      : "serverStream";
    server.register(def.path, relayHandler(internal, def.path, kind), identity, identity, kind);
  }
}
raiseStreamWindow(server, CLIENT_STREAM_RECEIVE_WINDOW);
const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
raiseConnectionWindow(server);

const listener: NetServer = createServer({ noDelay: true }, (socket) => {
  injector.injectConnection(socket);
});
const ready = (r: FrontEndReady): void => port.postMessage({ kind: "ready", ready: r });
listener.on("error", (error: NodeJS.ErrnoException) => {
  ready({ kind: "failed", message: error.message, inUse: error.code === "EADDRINUSE" });
});
const onListening = (): void => {
  const handle = (listener as unknown as { _handle?: { fd?: number } })._handle;
  ready({ kind: "listening", fd: handle?.fd ?? -1 });
};
if (data.fd !== undefined) listener.listen({ fd: data.fd }, onListening);
else if (data.listen !== undefined)
  listener.listen(data.listen.port, data.listen.host, onListening);
