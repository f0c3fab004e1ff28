/**
 * A scripted stand-in for a dfs node: a real gRPC server speaking the client API whose
 * answers (values or typed errors, with the server's trailer convention) the test
 * chooses. It lets the client's redirect, retry and error mapping be tested without a
 * cluster, and records every call so tests can check which node was asked.
 */
import { Metadata, Server, ServerCredentials, type ServiceError, status } from "@grpc/grpc-js";
import {
  type DfsErrorCode,
  ERROR_CODE_METADATA,
  LEADER_METADATA,
} from "../../../src/api/errors.ts";
import {
  type DeleteRequest,
  type DeleteResponse,
  type DfsServer,
  DfsService,
  type GetRequest,
  type GetResponse,
  type PutRequest,
  type PutResponse,
  type StatRequest,
  type StatResponse,
  type StatusResponse,
} from "../../../src/gen/dfs.ts";

/** A failure as a dfs server sends it: status, and optionally the dfs trailers. */
export interface FakeFailure {
  readonly status: status;
  readonly message: string;
  readonly code?: DfsErrorCode;
  readonly leader?: string;
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
}

/** A running fake node. */
export interface FakeNode {
  readonly address: string;
  /** Every request received, in order, tagged with its method. */
  readonly calls: Array<{ method: string; request: unknown }>;
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
    return (call: { request: Req }, callback: Callback<Res>) => {
      calls.push({ method, request: call.request });
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
    // Streaming calls are exercised against real nodes (test/integration), not this fake.
    upload: (_call, callback) =>
      callback({ code: status.UNIMPLEMENTED, details: "fake: no upload" }),
    download: (call) =>
      call.destroy({
        code: status.UNIMPLEMENTED,
        details: "fake: no download",
        name: "",
        message: "",
      } as ServiceError),
    list: handle("list", undefined),
    deletePrefix: handle("deletePrefix", undefined),
  };
}

function serviceError(failure: FakeFailure): Partial<ServiceError> {
  const metadata = new Metadata();
  if (failure.code !== undefined) metadata.set(ERROR_CODE_METADATA, failure.code);
  if (failure.leader !== undefined) metadata.set(LEADER_METADATA, failure.leader);
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
    ...overrides,
  };
}
