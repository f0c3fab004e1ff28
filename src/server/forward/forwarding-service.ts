/**
 * The client service with write forwarding (see forwarder.ts): unary Put, Delete,
 * DeletePrefix and a Batch holding a write go to the leader when this node follows one;
 * everything else, and every call on the leader, runs here as before. Reads stay local:
 * a follower serves them itself through ReadIndex.
 */
import type * as grpc from "@grpc/grpc-js";
import type { BatchRequest, DfsServer } from "../../gen/dfs.ts";
import type { ForwardedMethod, Forwarder } from "./forwarder.ts";

/** `service` with its unary writes relayed to the leader from a follower. */
export function withForwarding(service: DfsServer, forwarder: Forwarder): DfsServer {
  const wrap =
    <Req, Res>(
      method: ForwardedMethod,
      local: grpc.handleUnaryCall<Req, Res>,
      writes: (request: Req) => boolean = () => true,
    ): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      const address = writes(call.request) ? forwarder.target(call.metadata) : undefined;
      if (address === undefined) {
        local(call, callback);
        return;
      }
      forwarder.relay(
        method,
        address,
        call as grpc.ServerUnaryCall<unknown, unknown>,
        callback as grpc.sendUnaryData<unknown>,
      );
    };
  return {
    ...service,
    put: wrap("put", service.put),
    delete: wrap("delete", service.delete),
    deletePrefix: wrap("deletePrefix", service.deletePrefix),
    batch: wrap("batch", service.batch, hasWrite),
  };
}

/** A batch of only reads is served here; one write sends the whole batch to the leader. */
function hasWrite(request: BatchRequest): boolean {
  return request.ops.some((op) => op.put !== undefined || op.delete !== undefined);
}
