/**
 * Encoding of state-machine commands into Raft entry payloads (protobuf `Command`, see
 * proto/command.proto) so the log format can grow new operations without breaking old
 * data dirs.
 */
import { Command } from "../gen/command.ts";
import { encodePayloadCommand } from "./payload-command-encoder.ts";

/** Which client write a command is, for exactly-once application (Raft thesis §6.3). */
export interface CommandSession {
  readonly clientId: string;
  readonly sequence: number;
  /** The client's lowest sequence still awaiting an answer; older results may be dropped. */
  readonly firstIncomplete: number;
}

/** What every command carries besides its operation. */
interface CommandMeta {
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

/** Serializes a command for a log entry. */
export function encodeCommand(command: FsmCommand): Uint8Array {
  if (command.op === "put" || command.op === "upload_chunk") return encodePayloadCommand(command);
  const meta = { session: command.session, timeMs: command.timeMs ?? 0 };
  return Command.encode({ ...NO_OP, ...operation(command), ...meta }).finish();
}

/** Every oneof member unset; exactly one is then set by {@link operation}. */
const NO_OP = {
  put: undefined,
  delete: undefined,
  uploadChunk: undefined,
  commitUpload: undefined,
  abortUpload: undefined,
  deletePrefix: undefined,
};

function operation(command: FsmCommand): Partial<Command> {
  switch (command.op) {
    case "put":
      return {
        put: { key: command.key, value: asBuffer(command.value), ifVersion: command.ifVersion },
      };
    case "delete":
      return { delete: { key: command.key } };
    case "upload_chunk":
      return {
        uploadChunk: { uploadId: command.uploadId, seq: command.seq, data: asBuffer(command.data) },
      };
    case "commit_upload":
      return {
        commitUpload: {
          uploadId: command.uploadId,
          key: command.key,
          size: command.size,
          sha256: asBuffer(command.sha256),
          chunks: command.chunks,
          ifVersion: command.ifVersion,
        },
      };
    case "abort_upload":
      return { abortUpload: { uploadId: command.uploadId } };
    case "delete_prefix":
      return { deletePrefix: { prefix: command.prefix } };
  }
}

/** Parses a log entry payload; null when it is not a command this version understands. */
export function decodeCommand(data: Uint8Array): FsmCommand | null {
  let decoded: Command;
  try {
    decoded = Command.decode(data);
  } catch {
    return null;
  }
  const meta: CommandMeta = {
    ...(decoded.session ? { session: decoded.session } : {}),
    timeMs: decoded.timeMs,
  };
  if (decoded.put !== undefined) {
    const { key, value, ifVersion } = decoded.put;
    return ifVersion === undefined
      ? { op: "put", key, value, ...meta }
      : { op: "put", key, value, ifVersion, ...meta };
  }
  if (decoded.delete !== undefined) return { op: "delete", key: decoded.delete.key, ...meta };
  if (decoded.uploadChunk !== undefined) {
    const { uploadId, seq, data } = decoded.uploadChunk;
    return { op: "upload_chunk", uploadId, seq, data, ...meta };
  }
  if (decoded.commitUpload !== undefined) {
    const { uploadId, key, size, sha256, chunks, ifVersion } = decoded.commitUpload;
    const cas = ifVersion === undefined ? {} : { ifVersion };
    return { op: "commit_upload", uploadId, key, size, sha256, chunks, ...cas, ...meta };
  }
  if (decoded.abortUpload !== undefined)
    return { op: "abort_upload", uploadId: decoded.abortUpload.uploadId, ...meta };
  if (decoded.deletePrefix !== undefined)
    return { op: "delete_prefix", prefix: decoded.deletePrefix.prefix, ...meta };
  return null;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
