/**
 * Dfs.BatchStream: Batch calls as messages on one long-lived stream. A grpc-js call costs
 * several times a message on an open stream (a new HTTP/2 stream, headers, trailers, a
 * deadline timer on both sides: measured here, a unary round trip takes 0.44–0.53 ms at
 * one in flight, a stream message 0.12–0.17 ms), which a single client waiting on each
 * put pays on every operation. Requests run concurrently, exactly as Batch calls would,
 * and each response carries its request's id, so a slow one holds back no other.
 *
 * A client that sends requests but does not read the answers must not make the server
 * hold them all: past {@link ResourceLimits.streamAnswersInFlight} answers (being worked
 * on, or written and not yet taken) or {@link ResourceLimits.streamAnswerBytes} bytes
 * written and not taken, the call stops reading requests until answers drain, so HTTP/2
 * flow control holds the client back (docs/security.md "Resource limits").
 *
 * Credentials come from the stream's metadata and are checked again for every request
 * (a cached token costs a map lookup), so a token that expires or is revoked while the
 * stream is open stops working at the next request: that request is answered
 * `unauthenticated` as a whole, and the stream stays open for a client that logs in again
 * on a new one (docs/auth.md).
 */
import type * as grpc from "@grpc/grpc-js";
import { MAX_STREAM_GET_BYTES } from "../api/index.ts";
import type { BatchResponse, BatchStreamRequest, BatchStreamResponse } from "../gen/dfs.ts";
import type { CallCredentials, Caller } from "./auth/index.ts";
import { type BatchOps, runBatch, toOpError } from "./batch.ts";
import { grpcStatusOf } from "./grpc-errors.ts";
import type { ResourceLimits } from "./resource-limits.ts";

type Limits = Pick<ResourceLimits, "streamAnswersInFlight" | "streamAnswerBytes">;

/** Times requests (the node's metrics): `start` returns a token `end` takes back. */
export interface RequestTimer {
  start(): number;
  /** The request ended with gRPC status `code` (0: OK). */
  end(started: number, code: number): void;
}

/** The handler of one BatchStream call: answers every request until the client ends it. */
export function batchStreamHandler(
  ops: BatchOps,
  limits: Limits,
  callerOf: (call: CallCredentials) => Promise<Caller | null>,
  timer?: RequestTimer,
): grpc.handleBidiStreamingCall<BatchStreamRequest, BatchStreamResponse> {
  return (call) => {
    /** Requests being worked on plus answers written but not yet flushed to the client. */
    let inFlight = 0;
    /** Bytes of answers written but not yet flushed. */
    let unflushedBytes = 0;
    let paused = false;
    let clientEnded = false;
    let closed = false;
    const close = () => {
      closed = true;
    };
    call.on("error", close); // the client went away: answers have nowhere to go
    call.on("cancelled", close);
    const endIfDone = () => {
      if (clientEnded && inFlight === 0 && !closed) {
        closed = true;
        call.end();
      }
    };
    const full = () =>
      inFlight >= limits.streamAnswersInFlight || unflushedBytes >= limits.streamAnswerBytes;
    const throttle = () => {
      if (!paused && full()) {
        paused = true;
        call.pause();
      } else if (paused && !full()) {
        paused = false;
        call.resume();
      }
    };
    call.on("end", () => {
      clientEnded = true;
      endIfDone();
    });
    call.on("data", (request: BatchStreamRequest) => {
      const started = timer === undefined ? 0 : timer.start();
      inFlight++;
      throttle();
      callerOf(call)
        .then((caller) => runBatch(ops, request.batch ?? { ops: [] }, caller, MAX_STREAM_GET_BYTES))
        .then(
          (batch): BatchStreamResponse => ({ id: request.id, batch, error: undefined }),
          (error: unknown): BatchStreamResponse => ({
            id: request.id,
            batch: undefined,
            error: toOpError(error),
          }),
        )
        .then((response) => {
          if (timer !== undefined) timer.end(started, statusOfAnswer(response));
          if (closed) {
            inFlight--;
            return;
          }
          const bytes = answerBytes(response.batch);
          unflushedBytes += bytes;
          // The callback runs once the answer is handed to the connection; until then it
          // counts, so a client that stops reading stops us reading it.
          call.write(response, () => {
            inFlight--;
            unflushedBytes -= bytes;
            throttle();
            endIfDone();
          });
          throttle();
        });
    });
  };
}

/**
 * The gRPC status of an answer for the metrics: the request's own error, else the first
 * failed op's (a put refused as not_leader is not OK), else OK.
 */
function statusOfAnswer(response: BatchStreamResponse): number {
  if (response.error !== undefined) return grpcStatusOf(response.error.code);
  for (const result of response.batch?.results ?? []) {
    if (result.error !== undefined) return grpcStatusOf(result.error.code);
  }
  return 0;
}

/** Roughly what an answer weighs: its values plus a little per result. */
function answerBytes(batch: BatchResponse | undefined): number {
  let bytes = 64;
  for (const result of batch?.results ?? []) bytes += 64 + (result.get?.value.length ?? 0);
  return bytes;
}
