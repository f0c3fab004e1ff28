/**
 * Encoding of state-machine commands into Raft entry payloads (protobuf `Command`, see
 * proto/command.proto) so the log format can grow new operations without breaking old
 * data dirs.
 */
import { Command } from "../gen/command.ts";

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
  | (CommandMeta & { readonly op: "delete"; readonly key: string });

/** Serializes a command for a log entry. */
export function encodeCommand(command: FsmCommand): Uint8Array {
  const meta = { session: command.session, timeMs: command.timeMs ?? 0 };
  if (command.op === "put") {
    const put = { key: command.key, value: asBuffer(command.value), ifVersion: command.ifVersion };
    return Command.encode({ put, delete: undefined, ...meta }).finish();
  }
  return Command.encode({ put: undefined, delete: { key: command.key }, ...meta }).finish();
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
  return null;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
