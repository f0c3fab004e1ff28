/**
 * Streaming calls on a front end: relayed as raw messages (no decode) to the loop
 * thread's own gRPC server on loopback, with the caller's metadata and deadline, and the
 * answer's headers, messages and status relayed back (an upload waits for the node's
 * headers before it sends). Flow control holds on both legs (pipe).
 */
import type { Readable, Writable } from "node:stream";
import type * as grpc from "@grpc/grpc-js";

type Kind = "clientStream" | "serverStream" | "bidi";
type Raw = Buffer;
const identity = (b: Raw): Raw => b;

/** Pipes messages from `from` to `to` with backpressure (grpc-js streams are object streams). */
function pipe(from: unknown, to: unknown): void {
  (from as Readable).pipe(to as Writable);
}

/** Call options for the inner call: the outer call's deadline. */
function optionsOf(call: { getDeadline(): grpc.Deadline }): grpc.CallOptions {
  return { deadline: call.getDeadline() };
}

/** A status for the outer call from the inner call's error. */
function statusOf(error: grpc.ServiceError): Partial<grpc.StatusObject> {
  return { code: error.code, details: error.details, metadata: error.metadata };
}

/** The handler of one streaming method that relays it to `internal`. */
export function relayHandler(
  internal: grpc.Client,
  path: string,
  kind: Kind,
): grpc.UntypedHandleCall {
  if (kind === "clientStream") {
    const handler: grpc.handleClientStreamingCall<Raw, Raw> = (call, callback) => {
      const inner = internal.makeClientStreamRequest<Raw, Raw>(
        path,
        identity,
        identity,
        call.metadata,
        optionsOf(call),
        (error, response) => {
          if (error !== null) callback(statusOf(error));
          else callback(null, response);
        },
      );
      inner.on("metadata", (md: grpc.Metadata) => call.sendMetadata(md));
      pipe(call, inner);
      call.on("cancelled", () => inner.cancel());
    };
    return handler;
  }
  if (kind === "serverStream") {
    const handler: grpc.handleServerStreamingCall<Raw, Raw> = (call) => {
      const inner = internal.makeServerStreamRequest<Raw, Raw>(
        path,
        identity,
        identity,
        call.request,
        call.metadata,
        optionsOf(call),
      );
      inner.on("metadata", (md: grpc.Metadata) => call.sendMetadata(md));
      inner.on("error", (error: grpc.ServiceError) => call.emit("error", statusOf(error)));
      pipe(inner, call);
      call.on("cancelled", () => inner.cancel());
    };
    return handler;
  }
  const handler: grpc.handleBidiStreamingCall<Raw, Raw> = (call) => {
    const inner = internal.makeBidiStreamRequest<Raw, Raw>(
      path,
      identity,
      identity,
      call.metadata,
      optionsOf(call),
    );
    inner.on("metadata", (md: grpc.Metadata) => call.sendMetadata(md));
    inner.on("error", (error: grpc.ServiceError) => call.emit("error", statusOf(error)));
    pipe(inner, call);
    pipe(call, inner);
    call.on("cancelled", () => inner.cancel());
  };
  return handler;
}
