/**
 * Exact-size encoding of the two commands that carry bulk bytes — a put's value and an
 * upload's chunk, up to 1 MiB each — so the leader writes each once into a buffer of its
 * final size instead of through the generated encoder's doubling buffer and copy-out
 * (see wire/proto-writer.ts). Byte-identical to `Command.encode`, which the tests check;
 * every other command is small and keeps the generated encoder.
 */
import {
  bytesFieldSize,
  lengthDelimitedSize,
  ProtoWriter,
  presentUintFieldSize,
  uintFieldSize,
  utf8Length,
} from "../wire/index.ts";
import type { CommandCaller, CommandSession, FsmCommand } from "./command-types.ts";

/** A command this module encodes. */
export type PayloadCommand = Extract<FsmCommand, { op: "put" } | { op: "upload_chunk" }>;

/** Command field numbers (proto/command.proto). */
const PUT = 1;
const SESSION = 3;
const TIME_MS = 4;
const UPLOAD_CHUNK = 5;
const CALLER = 10;

/** Serializes a put or upload_chunk command exactly as `Command.encode` would. */
export function encodePayloadCommand(command: PayloadCommand): Buffer {
  const first = utf8Length(command.op === "put" ? command.key : command.uploadId);
  const opSize = command.op === "put" ? putSize(command, first) : chunkSize(command, first);
  const session = command.session;
  const clientIdBytes = session === undefined ? 0 : utf8Length(session.clientId);
  const sessionBytes = session === undefined ? 0 : sessionSize(session, clientIdBytes);
  const caller = command.caller;
  const userBytes = caller === undefined ? 0 : utf8Length(caller.user);
  const callerBytes = caller === undefined ? 0 : callerSize(caller, userBytes);
  const timeMs = command.timeMs ?? 0;
  const w = new ProtoWriter(
    lengthDelimitedSize(command.op === "put" ? PUT : UPLOAD_CHUNK, opSize) +
      (caller === undefined ? 0 : lengthDelimitedSize(CALLER, callerBytes)) +
      (session === undefined ? 0 : lengthDelimitedSize(SESSION, sessionBytes)) +
      uintFieldSize(TIME_MS, timeMs),
  );
  if (command.op === "put") {
    w.lengthPrefix(PUT, opSize).string(1, command.key, first).bytes(2, command.value);
    if (command.ifVersion !== undefined) w.presentUint(3, command.ifVersion);
  } else {
    writeChunkOp(w, command, opSize, first);
  }
  // Field order as the generated encoder writes it: the operation, caller, session, time.
  if (caller !== undefined) {
    w.lengthPrefix(CALLER, callerBytes).string(1, caller.user, userBytes);
    w.uint(2, caller.generation);
  }
  if (session !== undefined) {
    w.lengthPrefix(SESSION, sessionBytes).string(1, session.clientId, clientIdBytes);
    w.uint(2, session.sequence).uint(3, session.firstIncomplete);
  }
  return w.uint(TIME_MS, timeMs).finish();
}

function putSize(c: Extract<PayloadCommand, { op: "put" }>, keyBytes: number): number {
  return (
    bytesFieldSize(1, keyBytes) +
    bytesFieldSize(2, c.value.length) +
    (c.ifVersion === undefined ? 0 : presentUintFieldSize(3, c.ifVersion))
  );
}

/** The fields of an upload_chunk operation (the payload or the stored form). */
export interface ChunkOpFields {
  readonly uploadId: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly stored?: { readonly length: number; readonly crc32: number } | undefined;
}

/** Bytes of an UploadChunkOp's fields (without its own tag and length). */
export function chunkSize(c: ChunkOpFields, idBytes: number): number {
  const stored = c.stored === undefined ? -1 : storedSize(c.stored);
  return (
    bytesFieldSize(1, idBytes) +
    uintFieldSize(2, c.seq) +
    bytesFieldSize(3, c.data.length) +
    (stored < 0 ? 0 : lengthDelimitedSize(4, stored))
  );
}

/** Writes the upload_chunk field (tag, length, fields) of `opSize` = {@link chunkSize}. */
export function writeChunkOp(
  w: ProtoWriter,
  c: ChunkOpFields,
  opSize: number,
  idBytes: number,
): void {
  w.lengthPrefix(UPLOAD_CHUNK, opSize).string(1, c.uploadId, idBytes);
  w.uint(2, c.seq).bytes(3, c.data);
  if (c.stored === undefined) return;
  w.lengthPrefix(4, storedSize(c.stored)).uint(1, c.stored.length).uint(2, c.stored.crc32);
}

function storedSize(s: { readonly length: number; readonly crc32: number }): number {
  return uintFieldSize(1, s.length) + uintFieldSize(2, s.crc32);
}

function sessionSize(s: CommandSession, clientIdBytes: number): number {
  return (
    bytesFieldSize(1, clientIdBytes) +
    uintFieldSize(2, s.sequence) +
    uintFieldSize(3, s.firstIncomplete)
  );
}

function callerSize(c: CommandCaller, userBytes: number): number {
  return bytesFieldSize(1, userBytes) + uintFieldSize(2, c.generation);
}
