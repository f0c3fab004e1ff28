/**
 * Puts the client's token on every call and stream it starts (unary calls, BatchStream,
 * Upload, Download) as metadata `authorization: Bearer <token>`, in one place, so no call
 * site can forget it. Authenticate itself carries none: it is how a token is obtained.
 */
import { InterceptingCall, type Interceptor } from "@grpc/grpc-js";

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
