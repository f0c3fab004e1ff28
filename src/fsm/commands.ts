/**
 * Encoding of state-machine commands into Raft entry payloads (protobuf `Command`, see
 * proto/command.proto) so the log format can grow new operations without breaking old
 * data dirs.
 */
import { Command } from "../gen/command.ts";
import type { CommandMeta, FsmCommand } from "./command-types.ts";
import { encodePayloadCommand } from "./payload-command-encoder.ts";

/** Serializes a command for a log entry. */
export function encodeCommand(command: FsmCommand): Uint8Array {
  if (command.op === "put" || command.op === "upload_chunk") return encodePayloadCommand(command);
  const meta = { session: command.session, timeMs: command.timeMs ?? 0, caller: command.caller };
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
  auth: undefined,
};

function operation(command: FsmCommand): Partial<Command> {
  switch (command.op) {
    case "put":
      return {
        put: {
          key: command.key,
          value: asBuffer(command.value),
          ifVersion: command.ifVersion,
          metadata: {},
        },
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
          metadata: {},
        },
      };
    case "abort_upload":
      return { abortUpload: { uploadId: command.uploadId } };
    case "delete_prefix":
      return { deletePrefix: { prefix: command.prefix } };
    case "auth":
      return { auth: command.auth };
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
    ...(decoded.caller ? { caller: decoded.caller } : {}),
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
  if (decoded.auth !== undefined) return { op: "auth", auth: decoded.auth, ...meta };
  return null;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
