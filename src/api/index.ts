/**
 * What every layer shares (error kinds, key and size rules, limits, peer identities, the
 * Node flags of a server process): other layers import it from here.
 */
export * from "./errors.ts";
export * from "./keys.ts";
export * from "./limits.ts";
export * from "./node-flags.ts";
export * from "./peer-identity.ts";
export * from "./peer-ports.ts";
