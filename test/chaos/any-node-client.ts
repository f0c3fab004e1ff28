/**
 * A workload client that cannot follow leader hints, as a load balancer or a plain gRPC
 * program in another language would be: every attempt (write or linearizable read) goes
 * to a random node as one unary call, so writes reach followers and are relayed to the
 * leader, and reads are served by whichever node gets them (ReadIndex on a follower).
 * Writes carry a session (one sequence per write, reused by every retry), so retries
 * after an unknown outcome stay exactly-once, as the library's are.
 */
import { randomBytes } from "node:crypto";
import { ChannelPool, callUnary, toDfsError } from "../../src/client/index.ts";
import type { WorkloadClient } from "../../src/verify/workload-ops.ts";

/** One attempt's deadline; the op's whole deadline is the workload's timeout. */
const ATTEMPT_MS = 1000;

/** Pause between attempts, so a cluster without a leader is not hammered. */
const RETRY_PAUSE_MS = 50;

/** Unary calls to random nodes; never follows a hint. */
export class AnyNodeClient implements WorkloadClient {
  private readonly pool = new ChannelPool();
  private readonly clientId = `any-${randomBytes(8).toString("hex")}`;
  private sequence = 0;

  constructor(
    private readonly endpoints: readonly string[],
    private readonly timeoutMs: number,
    private readonly random: () => number,
  ) {}

  put(key: string, value: Uint8Array, options: { readonly ifVersion?: number } = {}) {
    const session = this.session();
    const request = {
      key,
      value: Buffer.from(value),
      ifVersion: options.ifVersion,
      session,
      metadata: {},
    };
    return this.retry((stub, deadline) => callUnary(stub.put.bind(stub), request, deadline));
  }

  get(key: string) {
    const request = { key, serializable: false };
    return this.retry((stub, deadline) => callUnary(stub.get.bind(stub), request, deadline));
  }

  delete(key: string) {
    const request = { key, session: this.session() };
    return this.retry((stub, deadline) => callUnary(stub.delete.bind(stub), request, deadline));
  }

  close(): void {
    this.pool.close();
  }

  private session() {
    const sequence = ++this.sequence;
    return { clientId: this.clientId, sequence, firstIncomplete: sequence };
  }

  /**
   * Tries random nodes until an answer or the deadline. `unavailable` and `not_leader`
   * (no leader known, or a relay reached a node that just lost leadership) are retried;
   * past the deadline they stand, and the workload records the op as indeterminate.
   */
  private async retry<T>(
    attempt: (stub: ReturnType<ChannelPool["get"]>, deadline: Date) => Promise<T>,
  ): Promise<T> {
    const end = Date.now() + this.timeoutMs;
    for (;;) {
      const endpoint = this.endpoints[Math.floor(this.random() * this.endpoints.length)] as string;
      const deadline = new Date(Math.min(end, Date.now() + ATTEMPT_MS));
      try {
        return await attempt(this.pool.get(endpoint), deadline);
      } catch (err) {
        const error = toDfsError(err);
        const retryable = error.code === "unavailable" || error.code === "not_leader";
        if (!retryable || Date.now() + RETRY_PAUSE_MS >= end) throw error;
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
      }
    }
  }
}
