/**
 * Puts the client's token on every call and stream it starts (unary calls, BatchStream,
 * Upload, Download) as metadata `authorization: Bearer <token>`, in one place, so no call
 * site can forget it. Authenticate itself carries none: it is how a token is obtained.
 * Also here: the `dfs-no-forward` header every call of a hint-following client carries.
 */
import { InterceptingCall, type Interceptor } from "@grpc/grpc-js";
import { NO_FORWARD_METADATA } from "../api/index.ts";

/** The metadata key nodes read the token from (docs/auth.md "Tokens"). */
export const AUTHORIZATION_METADATA = "authorization";

/** The method that must not carry a token. */
const AUTHENTICATE_PATH = "/dfs.v1.Dfs/Authenticate";

/** An interceptor adding `authorization: Bearer <token()>` whenever token() gives one. */
export function bearerInterceptor(token: () => string | undefined): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        const current = token();
        if (current !== undefined && options.method_definition.path !== AUTHENTICATE_PATH) {
          metadata.set(AUTHORIZATION_METADATA, `Bearer ${current}`);
        }
        next(metadata, listener);
      },
    });
}

/**
 * An interceptor adding `dfs-no-forward: 1` to every call: a client that follows leader
 * hints asks a follower for NOT_LEADER and the leader's address rather than having the
 * follower relay its write (docs/architecture.md#the-put-path).
 */
export function noForwardInterceptor(): Interceptor {
  return (options, nextCall) =>
    new InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(NO_FORWARD_METADATA, "1");
        next(metadata, listener);
      },
    });
}
