/**
 * The shape of a state-machine command, apart from its encoding (commands.ts) so the
 * general and the exact-size encoder (payload-command-encoder.ts) both use it without
 * importing each other.
 */

/** Which client write a command is, for exactly-once application (Raft thesis §6.3). */
export interface CommandSession {
  readonly clientId: string;
  readonly sequence: number;
  /** The client's lowest sequence still awaiting an answer; older results may be dropped. */
  readonly firstIncomplete: number;
}

/** What every command carries besides its operation. */
export interface CommandMeta {
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
    })
  | (CommandMeta & { readonly op: "delete"; readonly key: string })
  /** One chunk of a file upload (seq from 0, in order). */
  | (CommandMeta & {
      readonly op: "upload_chunk";
      readonly uploadId: string;
      readonly seq: number;
      readonly data: Uint8Array;
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
    })
  | (CommandMeta & { readonly op: "abort_upload"; readonly uploadId: string })
  /** Deletes `prefix` and every key under `prefix/`. */
  | (CommandMeta & { readonly op: "delete_prefix"; readonly prefix: string });
