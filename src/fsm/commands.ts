/**
 * Encoding of state-machine commands into Raft entry payloads (protobuf `Command`, see
 * proto/command.proto) so the log format can grow new operations without breaking old
 * data dirs.
 */
import { Command } from "../gen/command.ts";

/** A decoded state-machine command. */
export type FsmCommand =
  | {
      readonly op: "put";
      readonly key: string;
      readonly value: Uint8Array;
      /** Compare-and-set: apply only if the current version equals this (0 = absent). */
      readonly ifVersion?: number;
    }
  | { readonly op: "delete"; readonly key: string };

/** Serializes a command for a log entry. */
export function encodeCommand(command: FsmCommand): Uint8Array {
  if (command.op === "put") {
    const put = { key: command.key, value: asBuffer(command.value), ifVersion: command.ifVersion };
    return Command.encode({ put }).finish();
  }
  return Command.encode({ delete: { key: command.key } }).finish();
}

/** Parses a log entry payload; null when it is not a command this version understands. */
export function decodeCommand(data: Uint8Array): FsmCommand | null {
  let decoded: Command;
  try {
    decoded = Command.decode(data);
  } catch {
    return null;
  }
  if (decoded.put !== undefined) {
    const { key, value, ifVersion } = decoded.put;
    return ifVersion === undefined
      ? { op: "put", key, value }
      : { op: "put", key, value, ifVersion };
  }
  if (decoded.delete !== undefined) return { op: "delete", key: decoded.delete.key };
  return null;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
