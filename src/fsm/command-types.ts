/**
 * The shape of a state-machine command, apart from its encoding (commands.ts) so the
 * general and the exact-size encoder (payload-command-encoder.ts) both use it without
 * importing each other.
 */
import type { Metadata } from "../api/index.ts";
import type { AuthOp } from "../gen/command.ts";

/** A change to users, roles or the auth switch, as proto/command.proto defines it. */
export type { AuthOp };

/** Which client write a command is, for exactly-once application (Raft thesis §6.3). */
export interface CommandSession {
  readonly clientId: string;
  readonly sequence: number;
  /** The client's lowest sequence still awaiting an answer; older results may be dropped. */
  readonly firstIncomplete: number;
}

/**
 * Who proposed a command when auth is on (docs/auth.md): the state machine checks the
 * caller's permission against the auth state at the command's own index, so nothing a
 * revoked user proposed can apply after the revocation.
 */
export interface CommandCaller {
  readonly user: string;
  /** The user's generation the caller's credentials were issued for (see AuthUser). */
  readonly generation: number;
}

/** What every command carries besides its operation. */
export interface CommandMeta {
  /** The authenticated caller (absent: none; refused while auth is on, except abort_upload). */
  readonly caller?: CommandCaller;
  /** Present for exactly-once writes. */
  readonly session?: CommandSession;
  /** The proposing leader's clock (ms); the state machine's deterministic notion of time. */
  readonly timeMs?: number;
}

/** A decoded state-machine command. */
export type FsmCommand =
  | (CommandMeta & {
      readonly op: "put";
      readonly key: string;
      readonly value: Uint8Array;
      /** Compare-and-set: apply only if the current version equals this (0 = absent). */
      readonly ifVersion?: number;
      /** Kept with the value; absent or empty: none. */
      readonly metadata?: Metadata;
    })
  | (CommandMeta & { readonly op: "delete"; readonly key: string })
  /** One chunk of a file upload (seq from 0, in order). */
  | (CommandMeta & {
      readonly op: "upload_chunk";
      readonly uploadId: string;
      readonly seq: number;
      /** The chunk's bytes; empty when `stored` is set. */
      readonly data: Uint8Array;
      /**
       * Set in a node's own log only (never on the wire): the bytes are already durable in
       * this node's blob file of the upload, at `seq` × 1 MiB; `data` is then empty.
       */
      readonly stored?: { readonly length: number; readonly crc32: number };
    })
  /** Makes a complete upload visible under `key`. */
  | (CommandMeta & {
      readonly op: "commit_upload";
      readonly uploadId: string;
      readonly key: string;
      readonly size: number;
      readonly sha256: Uint8Array;
      readonly chunks: number;
      readonly ifVersion?: number;
      /** Kept with the file; absent or empty: none. */
      readonly metadata?: Metadata;
    })
  | (CommandMeta & { readonly op: "abort_upload"; readonly uploadId: string })
  /** Deletes `prefix` and every key under `prefix/`. */
  | (CommandMeta & { readonly op: "delete_prefix"; readonly prefix: string })
  /** A change to users, roles or the auth switch (admin only while auth is on). */
  | (CommandMeta & { readonly op: "auth"; readonly auth: AuthOp });
