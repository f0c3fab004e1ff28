/**
 * The TypeScript client of a dfs cluster. It hides that a cluster has several nodes:
 * callers give a few addresses and get typed results or typed {@link DfsError}s, while
 * the client finds the leader, follows redirects and rides out elections and restarts
 * within one deadline.
 */
import { DfsError } from "../api/errors.ts";
import type { StatusResponse } from "../gen/dfs.ts";
import { Attempts } from "./attempts.ts";
import { ChannelPool, callUnary, type DfsStub } from "./channel-pool.ts";
import { EndpointSet, parseHostPort } from "./endpoints.ts";
import { type AttemptFailure, classifyFailure, toDfsError } from "./grpc-errors.ts";
import { DEFAULT_TIMEOUT_MS } from "./retry.ts";
import { checkKey, checkValue } from "./validation.ts";

/** How to reach a cluster. */
export interface DfsClientOptions {
  /** `host:port` of one or more nodes; any node will do, the leader is found from there. */
  readonly endpoints: readonly string[];
  /** Deadline of a whole operation, retries included (default {@link DEFAULT_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** Result of a put: the key's new version and the log index that made it durable. */
export interface PutResult {
  readonly version: number;
  readonly index: number;
}

/** Result of a get: the exact stored bytes and which write produced them. */
export interface GetResult {
  readonly value: Uint8Array;
  readonly version: number;
  readonly modIndex: number;
}

/** Result of a delete: the log index at which the key disappeared. */
export interface DeleteResult {
  readonly index: number;
}

/** Read options; linearizable unless the caller explicitly accepts staleness. */
export interface GetOptions {
  /** Let any node answer from its applied state; faster, but may miss recent writes. */
  readonly serializable?: boolean;
}

/** One leader-only call, given the stub of the node to try and the attempt's deadline. */
type LeaderCall<T> = (stub: DfsStub, deadline: Date) => Promise<T>;

/**
 * A connection to a dfs cluster. Create one per process and reuse it: channels are
 * opened lazily, one per node, and kept until {@link DfsClient.close}.
 *
 * Retry semantics. An operation is sent to the last known leader (else to the
 * endpoints in turn). `not_leader` with a hint goes straight to the hinted node; a
 * refused connection, an unavailable node, `not_leader` without a hint or an attempt
 * that outlives its own deadline moves on to the next node after a short jittered
 * backoff. Everything else is a definite answer and is thrown at once. When the overall
 * deadline passes, the operation fails with `unavailable` listing what was tried.
 *
 * Writes are at-least-once. A write that timed out or lost its connection may still
 * have committed, and the client sends it again. Alone, a repeated put leaves the same
 * value (its version may go up by two); but if another client wrote the key in between,
 * the repeat overwrites that newer value. A repeated delete whose first attempt
 * succeeded reports `not_found`. Writes answered with a definite error, or refused
 * before reaching a leader (`not_leader`), were not applied and are never ambiguous.
 * Exactly-once retries (client id plus sequence number, remembered by the state
 * machine) will remove these effects.
 */
export class DfsClient {
  private readonly endpoints: EndpointSet;
  private readonly pool = new ChannelPool();
  private readonly timeoutMs: number;
  private closed = false;

  /** @throws DfsError `invalid_argument` for an empty or malformed endpoint list or timeout */
  constructor(options: DfsClientOptions) {
    this.endpoints = new EndpointSet(validEndpoints(options.endpoints));
    this.timeoutMs = validTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /** Stores `value` under `key`; resolves once committed on a majority. */
  async put(key: string, value: Uint8Array): Promise<PutResult> {
    checkKey(key);
    checkValue(value);
    const request = { key, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) };
    return this.onLeader("put", (stub, deadline) =>
      callUnary(stub.put.bind(stub), request, deadline),
    );
  }

  /** Reads `key`; linearizable unless `serializable` is set. */
  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    checkKey(key);
    const request = { key, serializable: options.serializable ?? false };
    const response = await this.onLeader("get", (stub, deadline) =>
      callUnary(stub.get.bind(stub), request, deadline),
    );
    return { value: response.value, version: response.version, modIndex: response.modIndex };
  }

  /** Removes `key`; resolves once committed. A missing key is `not_found`. */
  async delete(key: string): Promise<DeleteResult> {
    checkKey(key);
    return this.onLeader("delete", (stub, deadline) =>
      callUnary(stub.delete.bind(stub), { key }, deadline),
    );
  }

  /**
   * Asks exactly one node how it sees the cluster: one attempt, no redirect, because
   * the caller wants that node's view (and to learn whether it is reachable at all).
   */
  async status(endpoint: string): Promise<StatusResponse> {
    this.assertOpen();
    const stub = this.pool.get(validEndpoints([endpoint])[0] as string);
    try {
      return await callUnary(stub.status.bind(stub), {}, new Date(Date.now() + this.timeoutMs));
    } catch (err) {
      throw toDfsError(err);
    }
  }

  /** Closes every channel. Operations still running fail; the client cannot be reused. */
  close(): void {
    this.closed = true;
    this.pool.close();
  }

  /** Runs `call` on the leader, finding it and retrying as the class comment describes. */
  private async onLeader<T>(op: string, call: LeaderCall<T>): Promise<T> {
    const attempts = new Attempts(op, this.timeoutMs);
    for (;;) {
      this.assertOpen();
      const endpoint = this.endpoints.next();
      try {
        const result = await call(this.pool.get(endpoint), attempts.attemptDeadline());
        this.endpoints.succeeded(endpoint);
        return result;
      } catch (err) {
        await this.recover(endpoint, err, attempts);
      }
    }
  }

  /** Throws if a failed attempt is final; otherwise picks the next node and waits for it. */
  private async recover(endpoint: string, err: unknown, attempts: Attempts): Promise<void> {
    this.assertOpen();
    const failure = classifyFailure(err);
    if (failure.action === "fail") throw failure.error;
    const redirected = this.follow(endpoint, failure);
    await attempts.pause(endpoint, failure.error, redirected);
  }

  /** Updates the endpoint memory; true when the next attempt goes to a hinted leader. */
  private follow(endpoint: string, failure: AttemptFailure): boolean {
    const hint = failure.error.leaderHint;
    if (failure.action === "redirect" && hint !== undefined && hint !== endpoint) {
      this.endpoints.redirect(hint);
      return true;
    }
    this.endpoints.failed(endpoint);
    return false;
  }

  private assertOpen(): void {
    if (this.closed) throw new DfsError("internal", "the dfs client has been closed");
  }
}

function validEndpoints(endpoints: readonly string[]): string[] {
  if (endpoints.length === 0) throw new DfsError("invalid_argument", "no endpoints given");
  for (const endpoint of endpoints) {
    const parsed = parseHostPort(endpoint);
    if (!parsed.ok) throw new DfsError("invalid_argument", `bad endpoint ${parsed.problem}`);
  }
  return [...endpoints];
}

function validTimeout(timeoutMs: number): number {
  if (Number.isFinite(timeoutMs) && timeoutMs > 0) return timeoutMs;
  throw new DfsError(
    "invalid_argument",
    `timeout must be a positive number of ms, got ${timeoutMs}`,
  );
}
