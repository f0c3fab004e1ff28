/**
 * Admin-only wrappers for RPC handlers built elsewhere (SnapshotSave, Defrag): the call's
 * credentials are checked with {@link AuthGuard.requireAdmin} before the handler sees the
 * call, so the handler itself needs no auth code. Auth off: every call passes.
 */
import type * as grpc from "@grpc/grpc-js";
import type { AuthGuard } from "./auth/index.ts";
import { toServiceError } from "./grpc-errors.ts";

/** `handler` behind an admin check, for a unary RPC. */
export function adminOnlyUnary<Req, Res>(
  guard: AuthGuard,
  handler: grpc.handleUnaryCall<Req, Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    guard.requireAdmin(call).then(
      () => handler(call, callback),
      (error: unknown) => callback(toServiceError(error)),
    );
  };
}

/** `handler` behind an admin check, for a server-streaming RPC. */
export function adminOnlyServerStream<Req, Res>(
  guard: AuthGuard,
  handler: grpc.handleServerStreamingCall<Req, Res>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    guard.requireAdmin(call).then(
      () => handler(call),
      (error: unknown) => call.emit("error", toServiceError(error)),
    );
  };
}
