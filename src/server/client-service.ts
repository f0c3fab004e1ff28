/**
 * The client-facing gRPC service (proto/dfs.proto): validates requests, turns writes into
 * proposals and linearizable reads into ReadIndex rounds, and maps failures to typed errors.
 */
import type * as grpc from "@grpc/grpc-js";
import { DfsError } from "../api/errors.ts";
import { keyProblem } from "../api/keys.ts";
import { MAX_VALUE_BYTES } from "../api/limits.ts";
import { encodeCommand, type StateMachine } from "../fsm/index.ts";
import type { DfsServer, StatusResponse } from "../gen/dfs.ts";
import { toServiceError } from "./grpc-errors.ts";
import type { RaftLoop } from "./raft-loop.ts";

/** What the service needs from its node. */
export interface ClientServiceDeps {
  readonly loop: RaftLoop;
  readonly fsm: StateMachine;
  readonly status: () => StatusResponse;
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

/** Builds the Dfs service implementation. */
export function clientService(deps: ClientServiceDeps): DfsServer {
  const { loop, fsm } = deps;
  return {
    put: unary(async (req) => {
      validateKey(req.key);
      if (req.value.byteLength > MAX_VALUE_BYTES) {
        throw new DfsError(
          "too_large",
          `value is ${req.value.byteLength} bytes; the limit is ${MAX_VALUE_BYTES}`,
        );
      }
      const { index, result } = await loop.propose(
        encodeCommand({ op: "put", key: req.key, value: req.value }),
      );
      if (result.kind !== "put")
        throw new DfsError("internal", `unexpected apply result ${result.kind}`);
      return { version: result.version, index };
    }),
    get: unary(async (req) => {
      validateKey(req.key);
      if (!req.serializable) await loop.linearizableRead();
      const stored = fsm.get(req.key);
      if (stored === undefined) throw new DfsError("not_found", `key not found: ${req.key}`);
      return {
        value: Buffer.from(stored.value.buffer, stored.value.byteOffset, stored.value.byteLength),
        version: stored.version,
        modIndex: stored.modIndex,
      };
    }),
    delete: unary(async (req) => {
      validateKey(req.key);
      const { index, result } = await loop.propose(encodeCommand({ op: "delete", key: req.key }));
      if (result.kind !== "delete")
        throw new DfsError("internal", `unexpected apply result ${result.kind}`);
      if (!result.existed) throw new DfsError("not_found", `key not found: ${req.key}`);
      return { index };
    }),
    status: unary(async () => deps.status()),
  };
}
