/**
 * Who is calling (docs/auth.md): the token in the call's `authorization: Bearer <token>`
 * metadata or, when the client port requires client certificates (`--client-ca`) and the
 * call carries no token, the common name of the certificate the TLS handshake verified.
 * A token, when present, wins. Auth off: nobody is asked anything (one boolean check).
 */
import type * as grpc from "@grpc/grpc-js";
import { DfsError } from "../../api/index.ts";
import type { AuthLookup, Caller } from "./auth-lookup.ts";
import type { Tokens } from "./tokens.ts";

/** The metadata key clients send their token under (lower case, as HTTP/2 carries it). */
export const AUTHORIZATION_METADATA = "authorization";

/** The parts of a grpc-js server call that carry credentials. */
export interface CallCredentials {
  readonly metadata: grpc.Metadata;
  getAuthContext?(): { sslPeerCertificate?: { subject?: { CN?: string | string[] } } };
}

/** Refusal of a call without credentials while auth is on. */
export const AUTH_REQUIRED = "authentication required: auth is on; give --user";

/** Resolves callers against the applied auth state. */
export class CallerResolver {
  constructor(
    private readonly tokens: Tokens,
    /** Whether the client port verified client certificates (`--client-ca`). */
    private readonly certUsers: boolean,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The caller of `call` under `auth`, or null when auth is off (credentials ignored).
   * Throws `unauthenticated` when auth is on and the credentials are missing or void.
   */
  async resolve(auth: AuthLookup, call: CallCredentials): Promise<Caller | null> {
    if (!auth.enabled) return null;
    const token = bearerToken(call.metadata);
    if (token !== undefined) return this.tokens.verify(auth, token, this.clock());
    const cn = this.certUsers ? certificateUser(call) : undefined;
    if (cn === undefined) throw new DfsError("unauthenticated", AUTH_REQUIRED);
    const user = auth.user(cn);
    if (user === undefined) {
      throw new DfsError(
        "unauthenticated",
        `client certificate names user ${cn}, who does not exist`,
      );
    }
    return { user: cn, generation: user.generation };
  }
}

/** The token of `authorization: Bearer <token>`, or undefined when there is none. */
export function bearerToken(metadata: grpc.Metadata): string | undefined {
  const values = metadata.get(AUTHORIZATION_METADATA);
  const value = values[0];
  if (typeof value !== "string") return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  if (match === null)
    throw new DfsError("unauthenticated", "authorization metadata is not 'Bearer <token>'");
  return match[1];
}

/** The verified client certificate's common name, if the handshake had one. */
function certificateUser(call: CallCredentials): string | undefined {
  const cn = call.getAuthContext?.().sslPeerCertificate?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name === undefined || name === "" ? undefined : name;
}
