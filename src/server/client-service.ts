/**
 * The client-facing gRPC service (proto/dfs.proto): validates requests, turns writes into
 * proposals (stamped with the leader's clock and the client's session) and linearizable
 * reads into ReadIndex rounds, and maps failures to typed errors.
 */
import type * as grpc from "@grpc/grpc-js";
import { checkKey, checkValueSize, DfsError, MAX_VALUE_BYTES } from "../api/index.ts";
import {
  type ApplyResult,
  encodeCommand,
  type FsmCommand,
  type StateMachine,
  type StateView,
  type StoredValue,
} from "../fsm/index.ts";
import type {
  BatchRequest,
  DeleteRequest,
  DeleteResponse,
  DfsServer,
  GetRequest,
  GetResponse,
  PutRequest,
  PutResponse,
  StatRequest,
  StatResponse,
  StatusResponse,
} from "../gen/dfs.ts";
import { type GetBudget, OverBudget, runBatch } from "./batch.ts";
import { batchStreamHandler } from "./batch-stream.ts";
import { defragHandler } from "./defrag-handler.ts";
import { downloadHandler } from "./download-handler.ts";
import { toServiceError } from "./grpc-errors.ts";
import { fileInfo, listPage } from "./listing.ts";
import type { MemberAdmin } from "./member-admin.ts";
import type { RaftLoop } from "./raft-loop.ts";
import { validateSession, writeOutcome } from "./request-checks.ts";
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from "./resource-limits.ts";
import { snapshotSaveHandler } from "./snapshot-save.ts";
import { uploadHandler } from "./upload-handler.ts";
import { UploadSlots } from "./upload-slots.ts";

/** What the service needs from its node. */
export interface ClientServiceDeps {
  readonly loop: RaftLoop;
  readonly fsm: StateMachine;
  readonly status: () => StatusResponse;
  /** The leader's clock, stamped into every command (the state machine's only time source). */
  readonly now: () => number;
  /** Bounds on what one client may make the node hold ({@link DEFAULT_RESOURCE_LIMITS}). */
  readonly limits?: Partial<ResourceLimits>;
  /** The membership RPCs; absent: they answer `internal` (a node assembled without them). */
  readonly admin?: MemberAdmin;
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

/** Builds the Dfs service implementation. */
export function clientService(deps: ClientServiceDeps): DfsServer {
  const { loop, fsm } = deps;
  const limits: ResourceLimits = { ...DEFAULT_RESOURCE_LIMITS, ...deps.limits };
  const slots = new UploadSlots(limits);
  const propose = async (key: string, command: FsmCommand) => {
    const { result } = await loop.propose(encodeCommand({ ...command, timeMs: deps.now() }));
    return { result, ...writeOutcomeOrPrefix(result, key) };
  };
  const read = async (key: string, serializable: boolean): Promise<StoredValue> => {
    checkKey(key);
    if (!serializable) await loop.linearizableRead();
    const stored = fsm.get(key);
    if (stored === undefined) throw new DfsError("not_found", `key not found: ${key}`);
    return stored;
  };
  const ops = {
    put: async (req: PutRequest): Promise<PutResponse> => {
      checkKey(req.key);
      checkValueSize(req.value.byteLength);
      const session = validateSession(req.session);
      const cas = req.ifVersion === undefined ? {} : { ifVersion: req.ifVersion };
      const { index, version } = await propose(req.key, {
        op: "put",
        key: req.key,
        value: req.value,
        ...cas,
        ...(session ? { session } : {}),
      });
      return { index, version };
    },
    get: async (req: GetRequest, budget?: GetBudget): Promise<GetResponse> => {
      checkKey(req.key);
      if (!req.serializable) await loop.linearizableRead();
      const view = fsm.openView();
      try {
        const stored = view.get(req.key);
        if (stored === undefined) throw new DfsError("not_found", `key not found: ${req.key}`);
        if (budget !== undefined) {
          if (stored.size > budget.left) throw new OverBudget();
          budget.left -= stored.size;
        }
        return {
          value: inlineContent(view, req.key, stored),
          version: stored.version,
          modIndex: stored.modIndex,
        };
      } finally {
        view.close();
      }
    },
    stat: async (req: StatRequest): Promise<StatResponse> => {
      const stored = await read(req.key, req.serializable);
      return fileInfo(stored);
    },
    delete: async (req: DeleteRequest): Promise<DeleteResponse> => {
      checkKey(req.key);
      const session = validateSession(req.session);
      const { index } = await propose(req.key, {
        op: "delete",
        key: req.key,
        ...(session ? { session } : {}),
      });
      return { index };
    },
  };
  return {
    put: unary(ops.put),
    get: unary(ops.get),
    stat: unary(ops.stat),
    delete: unary(ops.delete),
    batch: unary((req: BatchRequest) => runBatch(ops, req)),
    batchStream: batchStreamHandler(ops, limits),
    deletePrefix: unary(async (req) => {
      checkKey(req.prefix);
      const session = validateSession(req.session);
      const { index, deleted } = await propose(req.prefix, {
        op: "delete_prefix",
        prefix: req.prefix,
        ...(session ? { session } : {}),
      });
      return { index, deleted };
    }),
    list: unary(async (req) => {
      if (req.prefix !== "") checkKey(req.prefix);
      if (!req.serializable) await loop.linearizableRead();
      const view = fsm.openView();
      try {
        return listPage(view, req);
      } finally {
        view.close();
      }
    }),
    status: unary(async () => deps.status()),
    upload: uploadHandler({
      loop,
      now: deps.now,
      slots,
      idleMs: limits.uploadIdleMs,
      minProgressBytes: limits.uploadMinProgressBytes,
    }),
    download: downloadHandler(deps),
    memberList: unary(async () => admin().list()),
    memberAdd: unary(async (req) => admin().add(req)),
    memberPromote: unary(async (req) => admin().promote(req)),
    memberRemove: unary(async (req) => admin().remove(req)),
    leaderTransfer: unary(async (req) => admin().transfer(req)),
    // TODO(#18, #19): the session's helpers replace these with the real handlers.
    authenticate: unary(notYet),
    authChange: unary(notYet),
    authRead: unary(notYet),
    defrag: unary(defragHandler(fsm)),
    snapshotSave: snapshotSaveHandler(deps),
  };
  function admin(): MemberAdmin {
    if (deps.admin === undefined) throw new DfsError("internal", "membership RPCs are not wired");
    return deps.admin;
  }
}

async function notYet(): Promise<never> {
  throw new DfsError("internal", "not wired yet");
}

/** Maps a delete_prefix result, and every other write result as {@link writeOutcome} does. */
function writeOutcomeOrPrefix(
  result: ApplyResult,
  key: string,
): { index: number; version: number; deleted: number } {
  if (result.kind === "delete_prefix")
    return { index: result.index, version: 0, deleted: result.deleted };
  return { ...writeOutcome(result, key), deleted: 0 };
}

/**
 * A value's bytes for the unary Get: inline values, and files of one chunk. Larger files
 * only stream (Download), so no call ever builds a huge message.
 */
function inlineContent(view: StateView, key: string, stored: StoredValue): Buffer {
  if (stored.file === undefined)
    return Buffer.from(stored.value.buffer, stored.value.byteOffset, stored.value.byteLength);
  if (stored.size > MAX_VALUE_BYTES || stored.file.count > 1) {
    throw new DfsError(
      "too_large",
      `${key} is a ${stored.size}-byte file; read it with a streamed download (dfs get, DfsClient.download)`,
    );
  }
  return Buffer.from(view.chunk(stored.file.uploadId, 0));
}
