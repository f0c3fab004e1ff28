/**
 * A scripted stand-in for a dfs node: a real gRPC server speaking the client API whose
 * answers (values or typed errors, with the server's trailer convention) the test
 * chooses. It lets the client's redirect, retry and error mapping be tested without a
 * cluster, and records every call so tests can check which node was asked.
 */
import { createHash } from "node:crypto";
import { Metadata, Server, ServerCredentials, type ServiceError, status } from "@grpc/grpc-js";
import {
  type DfsErrorCode,
  ERROR_CODE_METADATA,
  LEADER_METADATA,
  REASON_METADATA,
} from "../../../src/api/errors.ts";
import {
  type AuthChangeRequest,
  type AuthChangeResponse,
  type AuthenticateRequest,
  type AuthenticateResponse,
  type AuthReadResponse,
  type DeleteRequest,
  type DeleteResponse,
  type DfsServer,
  DfsService,
  type GetRequest,
  type GetResponse,
  type MemberListResponse,
  type MemberRemoveRequest,
  type PutRequest,
  type PutResponse,
  type StatRequest,
  type StatResponse,
  type StatusResponse,
  type UploadRequest,
} from "../../../src/gen/dfs.ts";

/** A failure as a dfs server sends it: status, and optionally the dfs trailers. */
export interface FakeFailure {
  readonly status: status;
  readonly message: string;
  readonly code?: DfsErrorCode;
  readonly leader?: string;
  /** A refused membership change's reason (trailer `dfs-reason`). */
  readonly reason?: string;
}

/** One scripted answer. */
export type FakeReply<T> = { readonly value: T } | { readonly fail: FakeFailure };

/** How the fake answers each method; a missing method answers UNIMPLEMENTED. */
export interface FakeBehavior {
  put?(request: PutRequest): FakeReply<PutResponse>;
  get?(request: GetRequest): FakeReply<GetResponse>;
  delete?(request: DeleteRequest): FakeReply<DeleteResponse>;
  stat?(request: StatRequest): FakeReply<StatResponse>;
  status?(): FakeReply<StatusResponse>;
  memberList?(): FakeReply<MemberListResponse>;
  memberRemove?(request: MemberRemoveRequest): FakeReply<MemberListResponse>;
  authenticate?(request: AuthenticateRequest): FakeReply<AuthenticateResponse>;
  authChange?(request: AuthChangeRequest): FakeReply<AuthChangeResponse>;
  authRead?(): FakeReply<AuthReadResponse>;
}

/** A running fake node. */
export interface FakeNode {
  readonly address: string;
  /**
   * Every request received, in order, tagged with its method and, for unary calls, the
   * `authorization` metadata it carried ("" when none).
   */
  readonly calls: Array<{ method: string; request: unknown; authorization?: string }>;
  stop(): Promise<void>;
}

/** The not_leader failure a follower sends; `leader` undefined when it knows none. */
export function notLeader(leader?: string): { fail: FakeFailure } {
  const base = {
    status: status.FAILED_PRECONDITION,
    code: "not_leader" as const,
    message: "not the leader",
  };
  return { fail: leader === undefined ? base : { ...base, leader } };
}

/** Starts a fake node on a free 127.0.0.1 port. */
export async function startFakeNode(behavior: FakeBehavior): Promise<FakeNode> {
  const server = new Server();
  const calls: FakeNode["calls"] = [];
  server.addService(DfsService, implementation(behavior, calls));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  return {
    address: `127.0.0.1:${port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

type Callback<T> = (error: Partial<ServiceError> | null, value?: T) => void;

function implementation(behavior: FakeBehavior, calls: FakeNode["calls"]): DfsServer {
  function handle<Req, Res>(method: string, script: ((r: Req) => FakeReply<Res>) | undefined) {
    return (call: { request: Req; metadata: Metadata }, callback: Callback<Res>) => {
      const authorization = call.metadata.get("authorization")[0];
      calls.push({
        method,
        request: call.request,
        authorization: typeof authorization === "string" ? authorization : "",
      });
      const reply: FakeReply<Res> = script
        ? script(call.request)
        : { fail: { status: status.UNIMPLEMENTED, message: `fake: no ${method}` } };
      if ("value" in reply) callback(null, reply.value);
      else callback(serviceError(reply.fail));
    };
  }
  return {
    put: handle("put", behavior.put),
    get: handle("get", behavior.get),
    delete: handle("delete", behavior.delete),
    stat: handle("stat", behavior.stat),
    status: handle<unknown, StatusResponse>("status", behavior.status),
    // Membership RPCs: list and remove scriptable, the others UNIMPLEMENTED.
    memberList: handle<unknown, MemberListResponse>("memberList", behavior.memberList),
    memberAdd: handle("memberAdd", undefined),
    memberPromote: handle("memberPromote", undefined),
    memberRemove: handle("memberRemove", behavior.memberRemove),
    leaderTransfer: handle("leaderTransfer", undefined),
    authenticate: handle("authenticate", behavior.authenticate),
    authChange: handle("authChange", behavior.authChange),
    authRead: handle<unknown, AuthReadResponse>("authRead", behavior.authRead),
    defrag: handle("defrag", undefined),
    snapshotSave: (call) => {
      call.emit(
        "error",
        serviceError({ status: status.UNIMPLEMENTED, message: "fake: no snapshotSave" }),
      );
    },
    // The streaming calls answer from the same scripts: a download streams what `get`
    // would return (recorded as "download"), an upload collects its data into the
    // PutRequest that `put` would see (recorded as "upload").
    upload: (call, callback) => {
      const parts: Buffer[] = [];
      let key = "";
      call.on("data", (m: UploadRequest) => {
        if (parts.length === 0 && key === "") {
          key = m.key;
          call.sendMetadata(new Metadata());
        }
        parts.push(Buffer.from(m.data));
        if (!m.done) return;
        const request = { key, value: Buffer.concat(parts), session: undefined };
        calls.push({ method: "upload", request });
        const reply: FakeReply<PutResponse> = behavior.put
          ? behavior.put(request)
          : { fail: { status: status.UNIMPLEMENTED, message: "fake: no put" } };
        if ("value" in reply) callback(null, reply.value);
        else callback(serviceError(reply.fail));
      });
    },
    download: (call) => {
      calls.push({ method: "download", request: call.request });
      const reply: FakeReply<GetResponse> = behavior.get
        ? behavior.get(call.request)
        : { fail: { status: status.UNIMPLEMENTED, message: "fake: no get" } };
      if (!("value" in reply)) {
        call.emit("error", serviceError(reply.fail));
        return;
      }
      const { value, version, modIndex } = reply.value;
      const sha256 = createHash("sha256").update(value).digest();
      const info = { size: value.length, sha256, version, modIndex, modTimeMs: 0, chunks: 0 };
      call.write({ info, data: Buffer.alloc(0) });
      call.write({ info: undefined, data: Buffer.from(value) });
      call.end();
    },
    list: handle("list", undefined),
    deletePrefix: handle("deletePrefix", undefined),
    batch: handle("batch", undefined),
    // Like a node from before BatchStream: the client falls back to plain calls.
    batchStream: (call) => {
      call.emit(
        "error",
        serviceError({ status: status.UNIMPLEMENTED, message: "fake: no stream" }),
      );
    },
  };
}

function serviceError(failure: FakeFailure): Partial<ServiceError> {
  const metadata = new Metadata();
  if (failure.code !== undefined) metadata.set(ERROR_CODE_METADATA, failure.code);
  if (failure.leader !== undefined) metadata.set(LEADER_METADATA, failure.leader);
  if (failure.reason !== undefined) metadata.set(REASON_METADATA, failure.reason);
  return { code: failure.status, details: failure.message, metadata };
}

/** A StatusResponse with sensible defaults for table tests. */
export function fakeStatus(overrides: Partial<StatusResponse>): StatusResponse {
  return {
    id: 1,
    address: "",
    role: "follower",
    term: 1,
    leaderId: 0,
    leaderAddress: "",
    commitIndex: 0,
    firstIndex: 1,
    appliedIndex: 0,
    lastIndex: 0,
    clusterId: "test",
    members: [],
    droppedPeerMessages: [],
    version: "",
    authEnabled: false,
    health: "",
    ...overrides,
  };
}
