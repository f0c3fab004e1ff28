/**
 * Makes a gRPC service safe against what arrives (malformed requests, handlers that throw), for every
 * service the same way:
 *
 * - A request that does not decode (malformed protobuf, or a uint64 above 2^53 that the
 *   generated decoder refuses) gets INVALID_ARGUMENT with a message. grpc-js answers a
 *   throwing `requestDeserialize` with `INTERNAL: Error deserializing request`, so the
 *   definition's deserializers catch and return a marker instead, and the handlers answer
 *   the marker (on streams: the first malformed message ends the call with it).
 * - No handler can throw out of its callback: a synchronous throw in a handler or in any
 *   listener it registers on the call (`data`, `end`, …) becomes an INTERNAL status with a
 *   one-line message and a log line, never an uncaught exception that stops the process.
 *
 * Serializers are left as they are (the transport's fast batch encoder is client-side).
 */
import * as grpc from "@grpc/grpc-js";
import { type DfsErrorCode, ERROR_CODE_METADATA } from "../api/index.ts";

/** What the guard reports: a handler that threw, or a request that did not decode. */
export type GuardReport = (
  event: { kind: "threw" | "malformed"; method: string; error: string },
  message: string,
) => void;

const MALFORMED = Symbol("malformed request");

/** Stands in for a request message whose bytes did not decode. */
interface Malformed {
  readonly [MALFORMED]: string;
}

function isMalformed(value: unknown): value is Malformed {
  return typeof value === "object" && value !== null && MALFORMED in value;
}

/**
 * Why a request from a guarded deserializer did not decode, or undefined when it did: a
 * server that hands requests on elsewhere (a front end) answers malformed ones itself.
 */
export function malformedReason(request: unknown): string | undefined {
  return isMalformed(request) ? request[MALFORMED] : undefined;
}

/** The service definition and implementation to register instead of the given ones. */
export interface GuardedService<D, I> {
  readonly definition: D;
  readonly implementation: I;
}

/** Wraps `definition`'s deserializers and every handler of `implementation` (see the module doc). */
export function guardService<
  D extends grpc.ServiceDefinition,
  I extends grpc.UntypedServiceImplementation,
>(definition: D, implementation: I, report: GuardReport): GuardedService<D, I> {
  const defs: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const impls: Record<string, grpc.UntypedHandleCall> = {};
  for (const [name, method] of Object.entries(definition)) {
    defs[name] = { ...method, requestDeserialize: safeDeserialize(method) };
    const handler = implementation[name];
    if (handler !== undefined) impls[name] = guardHandler(method, handler, report);
  }
  return { definition: defs as D, implementation: impls as I };
}

function safeDeserialize(method: grpc.MethodDefinition<unknown, unknown>): (b: Buffer) => unknown {
  const decode = method.requestDeserialize;
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (error) {
      return { [MALFORMED]: describeDecodeError(method.path, error) };
    }
  };
}

/** One line saying what was wrong with the request's bytes. */
function describeDecodeError(path: string, error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const reason = /MAX_SAFE_INTEGER/.test(text)
    ? "a 64-bit integer field is above 2^53-1, the largest this server accepts"
    : `malformed protobuf (${text})`;
  return `invalid request to ${path}: ${reason}`;
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> &
  grpc.ServerReadableStream<unknown, unknown> &
  grpc.ServerWritableStream<unknown, unknown>;

function guardHandler(
  method: grpc.MethodDefinition<unknown, unknown>,
  handler: grpc.UntypedHandleCall,
  report: GuardReport,
): grpc.UntypedHandleCall {
  const respondsWithCallback = !method.responseStream;
  return ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
    let finished = false;
    const once: grpc.sendUnaryData<unknown> = (error, value) => {
      if (finished) return;
      finished = true;
      callback?.(error, value);
    };
    let cleanedUp = false;
    const end = (status: Partial<grpc.StatusObject>): void => {
      if (respondsWithCallback) {
        once(status as grpc.ServiceError);
        // Let the handler's own cleanup run (uploads, snapshot transfers), if it has any;
        // once only, so a cleanup listener that throws cannot bring us back here forever.
        if (method.requestStream && !cleanedUp && call.listenerCount("error") > 0) {
          cleanedUp = true;
          call.emit("error", status);
        }
      } else if (!finished) {
        finished = true;
        call.emit("error", status);
      }
    };
    const threw = (error: unknown): void => {
      const text = error instanceof Error ? error.message : String(error);
      report({ kind: "threw", method: method.path, error: text }, "gRPC handler threw");
      end(status(grpc.status.INTERNAL, "internal", `internal error in ${method.path}: ${text}`));
    };
    const malformed = (m: Malformed): void => {
      report({ kind: "malformed", method: method.path, error: m[MALFORMED] }, m[MALFORMED]);
      end(status(grpc.status.INVALID_ARGUMENT, "invalid_argument", m[MALFORMED]));
    };
    if (!method.requestStream && isMalformed(call.request)) {
      malformed(call.request);
      return;
    }
    const unguard = guardListeners(call, threw, method.requestStream ? malformed : null);
    try {
      if (respondsWithCallback) (handler as (c: AnyCall, cb: typeof once) => void)(call, once);
      else (handler as (c: AnyCall) => void)(call);
    } catch (error) {
      threw(error);
    } finally {
      unguard();
    }
  }) as grpc.UntypedHandleCall;
}

/** A status with the `dfs-error` trailer clients map to their typed errors. */
function status(
  code: grpc.status,
  kind: DfsErrorCode,
  details: string,
): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA, kind);
  return { code, details, metadata };
}

/**
 * Wraps every listener the handler registers on `call` while it runs (our handlers
 * register theirs synchronously): a throw becomes `threw`, and on request streams a
 * malformed message goes to `malformed` instead of the `data` listener. Returns the
 * function that puts the call's own methods back, so listeners added later (grpc-js's,
 * `events.once` in a handler's await) are registered, and removable, as usual.
 */
function guardListeners(
  call: AnyCall,
  threw: (error: unknown) => void,
  malformed: ((m: Malformed) => void) | null,
): () => void {
  let refused = false;
  const target = call as unknown as Record<string, unknown>;
  for (const name of METHODS) {
    const register = (call[name] as (e: string, l: (...a: unknown[]) => void) => unknown).bind(
      call,
    );
    target[name] = (event: string, listener: (...args: unknown[]) => void) =>
      register(event, (...args: unknown[]) => {
        if (event === "data" && malformed !== null) {
          if (refused) return;
          if (isMalformed(args[0])) {
            refused = true;
            malformed(args[0]);
            return;
          }
        }
        try {
          listener(...args);
        } catch (error) {
          threw(error);
        }
      });
  }
  return () => {
    for (const name of METHODS) delete target[name];
  };
}

/** The EventEmitter methods that register a listener. */
const METHODS = ["on", "once", "addListener", "prependListener"] as const;
