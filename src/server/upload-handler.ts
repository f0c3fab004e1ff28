/**
 * The leader's side of a streamed upload (Dfs.Upload). Bytes are cut into 1 MiB chunks
 * as they arrive; each chunk is proposed as its own log entry, with at most
 * {@link UPLOAD_WINDOW_CHUNKS} in flight (the stream is paused meanwhile, so gRPC flow
 * control holds the client back: memory stays bounded whatever the file size). The
 * leader hashes what it received; only if that SHA-256 equals the client's does it
 * propose the commit entry that makes the file visible, atomically. A failed upload
 * proposes an abort so its chunks are freed at once (else the state machine reclaims
 * them after 15 idle minutes). Uploads are bounded per connection and per node, and one
 * that sends less than 64 KiB in a minute is closed as stalled (docs/security.md
 * "Resource limits").
 *
 * With auth on, the caller (from the call's credentials) needs `write` on the key: checked
 * at the first message and again before the commit, and stamped into every chunk and the
 * commit, so the state machine refuses a revoked caller's chunks too (docs/auth.md).
 */
import { createHash, randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import {
  checkKey,
  checkMetadata,
  DfsError,
  FILE_CHUNK_BYTES,
  type Metadata,
  UPLOAD_WINDOW_CHUNKS,
} from "../api/index.ts";
import { encodeCommand, type FsmCommand } from "../fsm/index.ts";
import type { PutResponse, UploadRequest } from "../gen/dfs.ts";
import { releaseBuffer } from "../wire/index.ts";
import type { AuthGuard, CallCredentials, Caller } from "./auth/index.ts";
import { callerField } from "./auth-service.ts";
import { toServiceError } from "./grpc-errors.ts";
import type { RaftLoop } from "./raft-loop.ts";
import { authRefusal, validateSession, writeOutcome } from "./request-checks.ts";
import { StallClock } from "./stall-clock.ts";
import type { UploadSlots } from "./upload-slots.ts";

/** What an upload needs from its node. */
export interface UploadDeps {
  readonly loop: RaftLoop;
  /** The leader's clock, stamped into every command. */
  readonly now: () => number;
  /** The node's upload counts, bounded per connection and per node. */
  readonly slots: UploadSlots;
  /**
   * An upload that sends less than {@link minProgressBytes} within a window of this
   * length is closed (ResourceLimits.uploadIdleMs).
   */
  readonly idleMs: number;
  /** Progress required per window (ResourceLimits.uploadMinProgressBytes). */
  readonly minProgressBytes: number;
  /** Who calls and whether they may write (docs/auth.md). */
  readonly guard: AuthGuard;
}

/**
 * Messages an upload's call may hold decoded beyond the one being proposed. The handler
 * pauses the call while Raft takes a chunk, but a paused stream still reads until its
 * buffer reaches the stream's high-water mark, and grpc-js leaves that at Node's object
 * mode default, 16 messages: 16 MiB per upload sat decoded in the leader's memory
 * (a heap snapshot of the leader mid-upload, bench/README.md session 6). Two keep the
 * next chunk at hand the moment Raft's window opens; behind them the client's bytes wait
 * in the HTTP/2 stream window (CLIENT_STREAM_RECEIVE_WINDOW) and then in the client.
 */
export const UPLOAD_READ_AHEAD_MESSAGES = 2;

/**
 * Bytes of a received upload message besides its data: gRPC's 5-byte header, the data
 * field's tag and length (≤ 5), and `done` (2). A message holding any other bytes field
 * (a SHA-256 is 34 bytes) is larger, so {@link releaseBuffer} leaves it alone.
 */
export const UPLOAD_MESSAGE_SLACK = 12;

/** The part of Node's readable-stream state we set; checked at run time (not public). */
interface ReadableInternals {
  _readableState?: { highWaterMark?: unknown };
}

/**
 * Lowers the high-water mark of an incoming message stream (an upload's call) to
 * `messages`, so pausing it stops reading after that many. Returns false (nothing
 * changed) if Node's stream no longer has the internals.
 */
export function limitReadAhead(
  stream: NodeJS.ReadableStream,
  messages: number = UPLOAD_READ_AHEAD_MESSAGES,
): boolean {
  const state = (stream as unknown as ReadableInternals)._readableState;
  if (typeof state !== "object" || state === null || typeof state.highWaterMark !== "number") {
    return false;
  }
  state.highWaterMark = messages;
  return true;
}

/** The Upload handler. */
export function uploadHandler(
  deps: UploadDeps,
): grpc.handleClientStreamingCall<UploadRequest, PutResponse> {
  return (call, callback) => {
    let release: () => void;
    try {
      release = deps.slots.acquire(call.getPeer());
    } catch (error) {
      callback(toServiceError(error));
      return;
    }
    limitReadAhead(call);
    const upload = new Upload(deps, call, () => call.sendMetadata(new grpc.Metadata()));
    let chain = Promise.resolve();
    let settled = false;
    const stall = new StallClock(deps.idleMs, deps.minProgressBytes, () =>
      settle(
        new DfsError(
          "resource_exhausted",
          `upload sent less than ${Math.round(deps.minProgressBytes / 1024)} KiB in ${Math.round(deps.idleMs / 1000)} s; closed as stalled, nothing was stored`,
        ),
      ),
    );
    const settle = (error: unknown, response?: PutResponse): void => {
      if (settled) return;
      settled = true;
      stall.stop();
      release();
      if (error === null) callback(null, response);
      else {
        upload.abandon();
        callback(toServiceError(error));
      }
    };
    stall.run();
    call.on("data", (message: UploadRequest) => {
      call.pause();
      stall.pause(message.data.length); // our turn: time spent in Raft is not the client's
      chain = chain
        .then(async () => {
          if (settled) return;
          const response = await upload.receive(message);
          if (response !== null) settle(null, response);
          else {
            stall.run();
            call.resume();
          }
        })
        .catch((error: unknown) => settle(error));
    });
    call.on("end", () => {
      chain = chain.then(() =>
        settle(
          new DfsError(
            "invalid_argument",
            "upload ended before its final message; nothing was stored",
          ),
        ),
      );
    });
    const broken = () =>
      settle(new DfsError("unavailable", "upload stream broke; nothing was stored"));
    call.on("error", broken);
    call.on("cancelled", broken);
  };
}

/** One upload in progress on the leader. */
class Upload {
  private readonly uploadId = randomBytes(16).toString("hex");
  private readonly hash = createHash("sha256");
  private started = false;
  private key = "";
  private ifVersion: number | undefined;
  private metadata: Metadata = {};
  private session: FsmCommand["session"];
  private caller: Caller | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private seq = 0;
  private size = 0;
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown = null;

  constructor(
    private readonly deps: UploadDeps,
    private readonly credentials: CallCredentials,
    private readonly accepted: () => void,
  ) {}

  /** Handles one message; resolves with the response after the final one, else null. */
  async receive(m: UploadRequest): Promise<PutResponse | null> {
    if (!this.started) await this.start(m);
    if (this.failure !== null) throw this.failure;
    if (m.data.length > 0)
      await this.take(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length));
    if (!m.done) return null;
    return this.finish(m.sha256, m.metadata ?? {});
  }

  /** Frees the chunks of an upload that will not complete (best effort). */
  abandon(): void {
    if (this.seq === 0) return;
    this.propose({ op: "abort_upload", uploadId: this.uploadId }).catch(() => {});
  }

  private async start(m: UploadRequest): Promise<void> {
    checkKey(m.key);
    checkMetadata(m.metadata ?? {});
    this.deps.loop.checkLeader();
    this.caller = await this.deps.guard.caller(this.credentials);
    this.deps.guard.allow(this.caller, "write", m.key);
    this.key = m.key;
    this.ifVersion = m.ifVersion;
    this.metadata = m.metadata ?? {};
    this.session = validateSession(m.session);
    this.started = true;
    this.accepted();
  }

  private async take(data: Buffer): Promise<void> {
    this.hash.update(data);
    this.size += data.length;
    this.pending.push(data);
    this.pendingBytes += data.length;
    while (this.pendingBytes >= FILE_CHUNK_BYTES) {
      const whole = this.pending.length === 1 && this.pendingBytes === FILE_CHUNK_BYTES;
      await this.sendChunk(this.cut(FILE_CHUNK_BYTES), whole);
    }
  }

  private cut(bytes: number): Buffer {
    const only = this.pending[0];
    if (this.pending.length === 1 && only?.length === bytes) {
      // A client that sends whole chunks (ours does) hands them on uncopied.
      this.pending = [];
      this.pendingBytes = 0;
      return only;
    }
    const all = Buffer.concat(this.pending, this.pendingBytes);
    const chunk = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.pending = rest.length > 0 ? [Buffer.from(rest)] : [];
    this.pendingBytes = rest.length;
    return chunk;
  }

  /**
   * Proposes one chunk. `received`: `data` is a whole received message's data, uncopied;
   * once the command holds its copy (encoded synchronously by propose) nothing reads the
   * message again, so its buffer is released at once rather than left for V8's next full
   * collection (wire/release.ts).
   */
  private async sendChunk(data: Buffer, received = false): Promise<void> {
    while (this.inflight.size >= UPLOAD_WINDOW_CHUNKS) await Promise.race(this.inflight);
    if (this.failure !== null) throw this.failure;
    const seq = this.seq++;
    const proposed = this.propose({
      op: "upload_chunk",
      uploadId: this.uploadId,
      seq,
      data,
    });
    if (received) releaseBuffer(data, UPLOAD_MESSAGE_SLACK);
    const done: Promise<void> = proposed
      .then((result) => {
        if (result.kind === "unauthenticated" || result.kind === "permission_denied")
          throw authRefusal(result);
        if (result.kind !== "chunk")
          throw new DfsError("internal", `chunk ${seq} not stored: ${JSON.stringify(result)}`);
      })
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
  }

  /** `late`: metadata of the last message, merged over the first's (an S3 ETag is known only then). */
  private async finish(sha256: Uint8Array, late: Metadata): Promise<PutResponse> {
    if (Object.keys(late).length > 0) {
      this.metadata = { ...this.metadata, ...late };
      checkMetadata(this.metadata);
    }
    if (this.pendingBytes > 0) await this.sendChunk(this.cut(this.pendingBytes));
    await Promise.all(this.inflight);
    if (this.failure !== null) throw this.failure;
    this.deps.guard.allow(this.caller, "write", this.key);
    const actual = this.hash.digest();
    if (!actual.equals(Buffer.from(sha256))) {
      throw new DfsError(
        "invalid_argument",
        `SHA-256 mismatch: the client says ${Buffer.from(sha256).toString("hex") || "(none)"}, the data received hashes to ${actual.toString("hex")}; nothing was stored`,
      );
    }
    const result = await this.propose({
      op: "commit_upload",
      uploadId: this.uploadId,
      key: this.key,
      size: this.size,
      sha256: actual,
      chunks: this.seq,
      metadata: this.metadata,
      ...(this.ifVersion === undefined ? {} : { ifVersion: this.ifVersion }),
      ...(this.session ? { session: this.session } : {}),
    });
    this.seq = 0; // committed or refused: nothing left to abandon
    return writeOutcome(result, this.key);
  }

  private async propose(command: FsmCommand) {
    // abort_upload is always allowed (it only frees this upload's chunks by their id).
    const caller = command.op === "abort_upload" ? {} : callerField(this.caller);
    const { result } = await this.deps.loop.propose(
      encodeCommand({ ...command, timeMs: this.deps.now(), ...caller }),
    );
    return result;
  }
}
