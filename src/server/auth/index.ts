/** The node's auth: tokens, password hashes, login throttling, callers and checks. */
export type { AuthAction, AuthLookup, AuthUserEntry, Caller } from "./auth-lookup.ts";
export { AUTHORIZATION_METADATA, type CallCredentials } from "./caller.ts";
export { AuthGuard, type AuthGuardOptions, type ListFilter } from "./guard.ts";
export { LoginLimiter } from "./login-limiter.ts";
export { checkPassword, DECOY_HASH, hashPassword, verifyPassword } from "./passwords.ts";
export { ScryptGate } from "./scrypt-gate.ts";
