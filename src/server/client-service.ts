/**
 * The client-facing gRPC service (proto/dfs.proto): validates requests, turns writes into
 * proposals (stamped with the leader's clock and the client's session) and linearizable
 * reads into ReadIndex rounds, and maps failures to typed errors.
 */
import type * as grpc from "@grpc/grpc-js";
import { DfsError } from "../api/errors.ts";
import { keyProblem } from "../api/keys.ts";
import { MAX_VALUE_BYTES } from "../api/limits.ts";
import {
  type ApplyResult,
  type CommandSession,
  encodeCommand,
  type FsmCommand,
  type StateMachine,
  type StoredValue,
} from "../fsm/index.ts";
import type { DfsServer, Session, StatusResponse } from "../gen/dfs.ts";
import { toServiceError } from "./grpc-errors.ts";
import type { RaftLoop } from "./raft-loop.ts";

/** What the service needs from its node. */
export interface ClientServiceDeps {
  readonly loop: RaftLoop;
  readonly fsm: StateMachine;
  readonly status: () => StatusResponse;
  /** The leader's clock, stamped into every command (the state machine's only time source). */
  readonly now: () => number;
}

type Handler<Req, Res> = (
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
) => void;

/** Wraps an async handler so every failure reaches the client as a typed error. */
function unary<Req, Res>(fn: (request: Req) => Promise<Res>): Handler<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error)),
    );
  };
}

function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== null) throw new DfsError("invalid_argument", `invalid key: ${problem}`);
}

function validateSession(session: Session | undefined): CommandSession | undefined {
  if (session === undefined) return undefined;
  if (session.clientId.length === 0 || session.clientId.length > 64 || session.sequence < 1) {
    throw new DfsError(
      "invalid_argument",
      "invalid session: needs a client id (1-64 chars) and a sequence >= 1",
    );
  }
  return session;
}

/** Turns a write's apply result into its answer, or the typed error it stands for. */
function writeOutcome(result: ApplyResult, key: string): { index: number; version: number } {
  switch (result.kind) {
    case "put":
      return { index: result.index, version: result.version };
    case "delete":
      if (!result.existed) throw new DfsError("not_found", `key not found: ${key}`);
      return { index: result.index, version: 0 };
    case "precondition_failed":
      throw new DfsError(
        "precondition_failed",
        `precondition failed: ${key} is at version ${result.currentVersion}`,
      );
    case "session_expired":
      throw new DfsError("unavailable", "client session expired; the write's outcome is unknown");
    default:
      throw new DfsError("internal", `unexpected apply result ${result.kind}`);
  }
}

/** Builds the Dfs service implementation. */
export function clientService(deps: ClientServiceDeps): DfsServer {
  const { loop, fsm } = deps;
  const propose = async (command: FsmCommand) => {
    const { result } = await loop.propose(encodeCommand({ ...command, timeMs: deps.now() }));
    return writeOutcome(result, command.key);
  };
  const read = async (key: string, serializable: boolean): Promise<StoredValue> => {
    validateKey(key);
    if (!serializable) await loop.linearizableRead();
    const stored = fsm.get(key);
    if (stored === undefined) throw new DfsError("not_found", `key not found: ${key}`);
    return stored;
  };
  return {
    put: unary(async (req) => {
      validateKey(req.key);
      if (req.value.byteLength > MAX_VALUE_BYTES) {
        throw new DfsError(
          "too_large",
          `value is ${req.value.byteLength} bytes; the limit is ${MAX_VALUE_BYTES}`,
        );
      }
      const session = validateSession(req.session);
      const cas = req.ifVersion === undefined ? {} : { ifVersion: req.ifVersion };
      return propose({
        op: "put",
        key: req.key,
        value: req.value,
        ...cas,
        ...(session ? { session } : {}),
      });
    }),
    get: unary(async (req) => {
      const stored = await read(req.key, req.serializable);
      const value = Buffer.from(
        stored.value.buffer,
        stored.value.byteOffset,
        stored.value.byteLength,
      );
      return { value, version: stored.version, modIndex: stored.modIndex };
    }),
    stat: unary(async (req) => {
      const stored = await read(req.key, req.serializable);
      return { version: stored.version, modIndex: stored.modIndex, size: stored.value.byteLength };
    }),
    delete: unary(async (req) => {
      validateKey(req.key);
      const session = validateSession(req.session);
      const { index } = await propose({
        op: "delete",
        key: req.key,
        ...(session ? { session } : {}),
      });
      return { index };
    }),
    status: unary(async () => deps.status()),
  };
}
