/**
 * The generated stub of the Dfs service and the one way this library makes a unary call
 * on it (with a deadline, raw errors kept for classification). Apart from the channel
 * pool so the batcher, the pool and the client can all use it without importing each
 * other in a circle.
 */
import { type CallOptions, type ClientUnaryCall, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { DfsClient as DfsStub } from "../gen/dfs.ts";

/** The generated gRPC stub of the Dfs service. */
export type { DfsStub };

/** The callback-style shape every generated unary method has (its four-argument overload). */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** Runs one unary call with a deadline; rejects with the raw ServiceError for classification. */
export function callUnary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  deadline: Date,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, new Metadata(), { deadline }, (error, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}
