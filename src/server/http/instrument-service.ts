/**
 * Times every call of a gRPC service into {@link ClientApiMetrics}: unary and
 * client-streaming calls from arrival to their callback, server-streaming calls from
 * arrival to their end (or error, or cancellation), each under its method name and the
 * gRPC code it ended with. Bidirectional streams are left to their handler, which times
 * each request on the stream (batch-stream.ts). Upload and Download also count bytes.
 */
import * as grpc from "@grpc/grpc-js";
import type { ClientApiMetrics, MethodMetrics } from "./client-metrics.ts";

type AnyHandler = (call: unknown, callback?: unknown) => void;

/** Wraps each handler of `implementation` that `definition` declares, keeping its type. */
export function instrumentService<I extends object>(
  definition: grpc.ServiceDefinition,
  implementation: I,
  metrics: ClientApiMetrics,
): I {
  const out: Record<string, unknown> = { ...(implementation as Record<string, unknown>) };
  for (const [name, method] of Object.entries(definition)) {
    const handler = (implementation as Record<string, AnyHandler | undefined>)[name];
    if (handler === undefined || (method.requestStream && method.responseStream)) continue;
    const rpc = method.path.slice(method.path.lastIndexOf("/") + 1);
    const m = metrics.method(rpc);
    out[name] = method.responseStream
      ? serverStream(handler, m, rpc === "Download" ? metrics : null)
      : unaryLike(handler, m, method.requestStream ? metrics : null);
  }
  return out as I;
}

type UnaryCallback = (error: grpc.ServiceError | null, ...rest: unknown[]) => void;

/** Unary and client-streaming calls: ended by their callback. */
function unaryLike(handler: AnyHandler, m: MethodMetrics, upload: ClientApiMetrics | null) {
  const h = handler as unknown as (call: unknown, callback: UnaryCallback) => void;
  return (call: grpc.ServerReadableStream<never, unknown>, callback: UnaryCallback): void => {
    const started = m.start();
    try {
      h(call, (error, ...rest) => {
        m.end(started, error === null ? grpc.status.OK : (error.code ?? grpc.status.UNKNOWN));
        callback(error, ...rest);
      });
    } catch (error) {
      m.end(started, grpc.status.INTERNAL); // the guard answers it as internal (wire/)
      throw error;
    }
    if (upload !== null) upload.countUpload(call);
  };
}

/** Server-streaming calls: ended by their end, an error they emit, or cancellation. */
function serverStream(handler: AnyHandler, m: MethodMetrics, download: ClientApiMetrics | null) {
  const h = handler as (call: unknown) => void;
  return (call: grpc.ServerWritableStream<unknown, unknown>): void => {
    const started = m.start();
    let done = false;
    const end = (code: number): void => {
      if (done) return;
      done = true;
      m.end(started, code);
    };
    call.on("error", (e: { code?: number }) => end(e.code ?? grpc.status.UNKNOWN));
    call.on("cancelled", () => end(grpc.status.CANCELLED));
    call.on("finish", () => end(grpc.status.OK));
    if (download !== null) countDownload(call, download);
    h(call);
  };
}

/**
 * Counts the `data` bytes of every message a Download writes: a message object's, or
 * the `dataBytes` of one the handler encoded itself (wire/framed-message.ts).
 */
function countDownload(
  call: grpc.ServerWritableStream<unknown, unknown>,
  metrics: ClientApiMetrics,
): void {
  const write = call.write.bind(call) as (message: unknown, ...rest: unknown[]) => boolean;
  call.write = ((message: { data?: Uint8Array; dataBytes?: number }, ...rest: unknown[]) => {
    metrics.downloadBytes.inc(message.dataBytes ?? message.data?.length ?? 0);
    return write(message, ...rest);
  }) as typeof call.write;
}
