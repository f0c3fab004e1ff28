/**
 * Encoding of state-machine commands into Raft entry payloads (protobuf `Command`, see
 * proto/command.proto) so the log format can grow new operations without breaking old
 * data dirs.
 */
import type { Metadata } from "../api/index.ts";
import { Command } from "../gen/command.ts";
import type { CommandMeta, FsmCommand } from "./command-types.ts";
import { encodePayloadCommand } from "./payload-command-encoder.ts";

/** Serializes a command for a log entry. */
export function encodeCommand(command: FsmCommand): Uint8Array {
  // A put with metadata takes the generated encoder (the exact-size one writes no map).
  if (command.op === "upload_chunk" || (command.op === "put" && !hasMetadata(command.metadata)))
    return encodePayloadCommand(command);
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
          metadata: { ...command.metadata },
        },
      };
    case "delete":
      return { delete: { key: command.key } };
    case "upload_chunk":
      return {
        uploadChunk: {
          uploadId: command.uploadId,
          seq: command.seq,
          data: asBuffer(command.data),
          stored: command.stored,
        },
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
          metadata: { ...command.metadata },
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
    const { key, value, ifVersion, metadata } = decoded.put;
    const cas = ifVersion === undefined ? {} : { ifVersion };
    return { op: "put", key, value, ...cas, ...metadataField(metadata), ...meta };
  }
  if (decoded.delete !== undefined) return { op: "delete", key: decoded.delete.key, ...meta };
  if (decoded.uploadChunk !== undefined) {
    const { uploadId, seq, data, stored } = decoded.uploadChunk;
    const kept = stored === undefined ? {} : { stored: { ...stored } };
    return { op: "upload_chunk", uploadId, seq, data, ...kept, ...meta };
  }
  if (decoded.commitUpload !== undefined) {
    const { uploadId, key, size, sha256, chunks, ifVersion, metadata } = decoded.commitUpload;
    const cas = ifVersion === undefined ? {} : { ifVersion };
    const kept = metadataField(metadata);
    return { op: "commit_upload", uploadId, key, size, sha256, chunks, ...cas, ...kept, ...meta };
  }
  if (decoded.abortUpload !== undefined)
    return { op: "abort_upload", uploadId: decoded.abortUpload.uploadId, ...meta };
  if (decoded.deletePrefix !== undefined)
    return { op: "delete_prefix", prefix: decoded.deletePrefix.prefix, ...meta };
  if (decoded.auth !== undefined) return { op: "auth", auth: decoded.auth, ...meta };
  return null;
}

/** True when `metadata` holds at least one entry. */
export function hasMetadata(metadata: Metadata | undefined): metadata is Metadata {
  return metadata !== undefined && Object.keys(metadata).length > 0;
}

/** The command's metadata field: absent when the map is empty (a command of before). */
function metadataField(metadata: Metadata): { metadata?: Metadata } {
  return hasMetadata(metadata) ? { metadata } : {};
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
