/**
 * The client-facing gRPC service (proto/dfs.proto): validates requests, turns writes into
 * proposals (stamped with the leader's clock, the client's session and, with auth on, the
 * caller) and linearizable reads into ReadIndex rounds, and maps failures to typed errors.
 * Every RPC asks the node's {@link AuthGuard} first (docs/auth.md): who calls, and may
 * they; auth off, that is one boolean check.
 */
import type * as grpc from "@grpc/grpc-js";
import {
  checkKey,
  checkMetadata,
  checkValueSize,
  DfsError,
  MAX_VALUE_BYTES,
} from "../api/index.ts";
import {
  type ApplyResult,
  encodeCommand,
  type FsmCommand,
  readFileChunk,
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
import { adminOnlyServerStream, adminOnlyUnary } from "./admin-only.ts";
import { AuthGuard, type CallCredentials, type Caller } from "./auth/index.ts";
import { authService, callerField } from "./auth-service.ts";
import { type GetBudget, OverBudget, runBatch } from "./batch.ts";
import { batchStreamHandler, type RequestTimer } from "./batch-stream.ts";
import { isBlobPut, proposeBlobPut } from "./blob-put.ts";
import { defragHandler } from "./defrag-handler.ts";
import { downloadHandler } from "./download-handler.ts";
import { toServiceError } from "./grpc-errors.ts";
import { fileInfo, listPage } from "./listing.ts";
import type { MemberAdmin } from "./member-admin.ts";
import type { RaftLoop } from "./raft-loop.ts";
import { validateSession, writeOutcome } from "./request-checks.ts";
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from "./resource-limits.ts";
import { s3CredentialsHandler } from "./s3-credentials.ts";
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
  /** Lifetime of issued tokens in seconds (`--auth-token-ttl`). */
  readonly authTokenTtlS?: number;
  /** Whether the client port verifies client certificates (`--client-ca`): their CN is a user. */
  readonly certUsers?: boolean;
  /** Times each request on a BatchStream (the node's metrics); absent: untimed. */
  readonly batchStreamMetrics?: RequestTimer;
}

type Handler<Req, Res> = (
  call: grpc.ServerUnaryCall<Req, Res>,
  callback: grpc.sendUnaryData<Res>,
) => void;

/** Wraps an async handler so every failure reaches the client as a typed error. */
function unary<Req, Res>(
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): Handler<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
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
  const guard = new AuthGuard({
    auth: () => fsm.auth,
    ...(deps.authTokenTtlS !== undefined ? { tokenTtlS: deps.authTokenTtlS } : {}),
    certUsers: deps.certUsers === true,
    clusterId: () => deps.status().clusterId,
  });
  const callerOf = (call: CallCredentials) => guard.caller(call);
  const auth = authService({ loop, auth: () => fsm.auth, guard, now: deps.now });
  const proposeCommand = async (command: FsmCommand, caller: Caller | null) => {
    const { result } = await loop.propose(
      encodeCommand({ ...command, timeMs: deps.now(), ...callerField(caller) }),
    );
    return result;
  };
  const propose = async (key: string, command: FsmCommand, caller: Caller | null) => {
    const result = await proposeCommand(command, caller);
    return { result, ...writeOutcomeOrPrefix(result, key) };
  };
  /** Waits for ReadIndex unless serializable, then checks `read` on the state it will read. */
  const readable = async (key: string, serializable: boolean, caller: Caller | null) => {
    if (!serializable) await loop.linearizableRead();
    guard.allow(caller, "read", key);
  };
  const read = async (
    key: string,
    serializable: boolean,
    caller: Caller | null,
  ): Promise<StoredValue> => {
    checkKey(key);
    await readable(key, serializable, caller);
    const stored = fsm.get(key);
    if (stored === undefined) throw new DfsError("not_found", `key not found: ${key}`);
    return stored;
  };
  const ops = {
    put: async (req: PutRequest, caller: Caller | null): Promise<PutResponse> => {
      checkKey(req.key);
      checkValueSize(req.value.byteLength);
      const metadata = req.metadata ?? {};
      checkMetadata(metadata);
      const session = validateSession(req.session);
      guard.allow(caller, "write", req.key);
      const cas = req.ifVersion === undefined ? {} : { ifVersion: req.ifVersion };
      if (isBlobPut(req.value.byteLength)) {
        const put = {
          key: req.key,
          value: req.value,
          metadata,
          ...cas,
          ...(session ? { session } : {}),
        };
        const result = await proposeBlobPut(put, (command) => proposeCommand(command, caller));
        return writeOutcome(result, req.key);
      }
      const { index, version } = await propose(
        req.key,
        {
          op: "put",
          key: req.key,
          value: req.value,
          metadata,
          ...cas,
          ...(session ? { session } : {}),
        },
        caller,
      );
      return { index, version };
    },
    get: async (
      req: GetRequest,
      caller: Caller | null,
      budget?: GetBudget,
    ): Promise<GetResponse> => {
      checkKey(req.key);
      await readable(req.key, req.serializable, caller);
      const view = fsm.openView();
      try {
        const stored = view.get(req.key);
        if (stored === undefined) throw new DfsError("not_found", `key not found: ${req.key}`);
        if (budget !== undefined) {
          if (stored.size > budget.left) throw new OverBudget();
          budget.left -= stored.size;
        }
        return {
          value: await inlineContent(view, req.key, stored),
          version: stored.version,
          modIndex: stored.modIndex,
          metadata: { ...stored.metadata },
        };
      } finally {
        view.close();
      }
    },
    stat: async (req: StatRequest, caller: Caller | null): Promise<StatResponse> => {
      const stored = await read(req.key, req.serializable, caller);
      return fileInfo(stored);
    },
    delete: async (req: DeleteRequest, caller: Caller | null): Promise<DeleteResponse> => {
      checkKey(req.key);
      const session = validateSession(req.session);
      guard.allow(caller, "write", req.key);
      const { index } = await propose(
        req.key,
        { op: "delete", key: req.key, ...(session ? { session } : {}) },
        caller,
      );
      return { index };
    },
  };
  /** A unary data RPC: its caller resolved from the call's credentials, then the op. */
  const withCaller =
    <Req, Res>(op: (req: Req, caller: Caller | null) => Promise<Res>) =>
    async (req: Req, call: CallCredentials): Promise<Res> =>
      op(req, await callerOf(call));
  /** A membership RPC for administrators. */
  const asAdmin =
    <Req, Res>(op: (req: Req) => Promise<Res>) =>
    async (req: Req, call: CallCredentials): Promise<Res> => {
      await guard.requireAdmin(call);
      return op(req);
    };
  return {
    put: unary(withCaller(ops.put)),
    get: unary(withCaller((req: GetRequest, caller) => ops.get(req, caller))),
    stat: unary(withCaller(ops.stat)),
    delete: unary(withCaller(ops.delete)),
    batch: unary(withCaller((req: BatchRequest, caller) => runBatch(ops, req, caller))),
    batchStream: batchStreamHandler(ops, limits, callerOf, deps.batchStreamMetrics),
    deletePrefix: unary(
      withCaller(async (req, caller) => {
        checkKey(req.prefix);
        const session = validateSession(req.session);
        // `write` on every key it would delete is checked by the state machine at apply,
        // against the keys that exist then; here only who asks.
        const { index, deleted } = await propose(
          req.prefix,
          { op: "delete_prefix", prefix: req.prefix, ...(session ? { session } : {}) },
          caller,
        );
        return { index, deleted };
      }),
    ),
    list: unary(
      withCaller(async (req, caller) => {
        if (req.prefix !== "") checkKey(req.prefix);
        if (!req.serializable) await loop.linearizableRead();
        const filter = guard.listFilter(caller);
        const view = fsm.openView();
        try {
          return listPage(view, req, filter);
        } finally {
          view.close();
        }
      }),
    ),
    status: unary(async () => deps.status()),
    upload: uploadHandler({
      loop,
      now: deps.now,
      slots,
      idleMs: limits.uploadIdleMs,
      minProgressBytes: limits.uploadMinProgressBytes,
      guard,
    }),
    download: downloadHandler({ ...deps, guard }),
    memberList: unary(async (_req, call) => {
      await guard.requireUser(call);
      return admin().list();
    }),
    memberAdd: unary(asAdmin((req) => admin().add(req))),
    memberPromote: unary(asAdmin((req) => admin().promote(req))),
    memberRemove: unary(asAdmin((req) => admin().remove(req))),
    leaderTransfer: unary(asAdmin((req) => admin().transfer(req))),
    authenticate: unary((req) => auth.authenticate(req)),
    authChange: unary((req, call) => auth.change(req, call)),
    authRead: unary((_req, call) => auth.read(call)),
    defrag: adminOnlyUnary(guard, unary(defragHandler(fsm))),
    snapshotSave: adminOnlyServerStream(guard, snapshotSaveHandler(deps)),
    s3Credentials: unary(
      s3CredentialsHandler({ loop, auth: () => fsm.auth, guard, now: deps.now }),
    ),
  };
  function admin(): MemberAdmin {
    if (deps.admin === undefined) throw new DfsError("internal", "membership RPCs are not wired");
    return deps.admin;
  }
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
async function inlineContent(view: StateView, key: string, stored: StoredValue): Promise<Buffer> {
  if (stored.file === undefined)
    return Buffer.from(stored.value.buffer, stored.value.byteOffset, stored.value.byteLength);
  if (stored.size > MAX_VALUE_BYTES || stored.file.count > 1) {
    throw new DfsError(
      "too_large",
      `${key} is a ${stored.size}-byte file; read it with a streamed download (dfs get, DfsClient.download)`,
    );
  }
  return await readFileChunk(view, stored, 0);
}
