/**
 * The follower's side of InstallSnapshot: checks each chunk (cluster, addressee, one
 * snapshot, contiguous offsets), admits the transfer at its first chunk only if it comes
 * from the leader this node knows (snapshot-gate.ts) and the disk has room, loads it into
 * the incoming store as it arrives, verifies the SHA-256 at the end, and only then hands
 * the core the InstallSnapshot message. A transfer that breaks off leaves nothing behind
 * but a partial `state.new/`, which the next transfer or the next start removes.
 */
import * as grpc from "@grpc/grpc-js";
import type { SnapshotAck, SnapshotChunk } from "../gen/raft.ts";
import type { SnapshotMeta, SnapshotRequest } from "../raft/index.ts";
import { checkChunk, chunkMembership, type PeerIdentity } from "./message-checks.ts";
import type { PeerAuthorizer } from "./peer-auth.ts";
import type { PeerDropReason, PeerDrops } from "./peer-drops.ts";
import { SnapshotGate, type SnapshotTicket } from "./snapshot-gate.ts";

/** While a transfer runs, the disk's room is asked again after every this many bytes. */
export const SNAPSHOT_SPACE_CHECK_BYTES = 64 * 1024 * 1024;

/** A snapshot being received (the on-disk store's receiver). */
export interface IncomingSnapshot {
  /** Loads one chunk; a promise when it writes (calls are awaited one after another). */
  write(chunk: Buffer): void | Promise<void>;
  finish(sha256: Uint8Array): Promise<void>;
  abort(): Promise<void>;
}

/** What the service needs from the node. */
export interface SnapshotInbox {
  /** Starts receiving the snapshot at `meta` (may refuse while another is being installed). */
  begin(meta: SnapshotMeta): Promise<IncomingSnapshot>;
  /**
   * `incoming` was received completely and verified: if it is still the newest transfer,
   * hand the core its InstallSnapshot `message` (the store then installs or drops it);
   * throws if a newer transfer superseded it.
   */
  complete(incoming: IncomingSnapshot, message: SnapshotRequest): Promise<void>;
  /**
   * Null when this node takes a snapshot from `from` sent in `term` (the leader it knows,
   * for a term at least its own), else why not. Asked at a transfer's first chunk.
   */
  admit(from: number, term: number): string | null;
  /**
   * Null while the disk has room for more of a snapshot, else why not; asked at the first
   * chunk and every {@link SNAPSHOT_SPACE_CHECK_BYTES}. Without it, no check.
   */
  room?(): Promise<string | null>;
}

type Handler = grpc.handleClientStreamingCall<SnapshotChunk, SnapshotAck>;

/** A chunk whose sender the connection's certificate does not vouch for. */
class NotAuthorized extends Error {}

/** A transfer refused at its start (counted in the drops): answered with `code`. */
class Refused extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The `InstallSnapshot` handler. Every chunk's header is checked (message-checks.ts) before
 * anything is written; a refused transfer is counted and logged through `drops`. A
 * transfer not from the known leader, or while the leader's own runs, is refused with
 * FAILED_PRECONDITION; one the disk has no room for with RESOURCE_EXHAUSTED. With
 * `authorize` (mutual TLS), every chunk's `from` must be the member the connection's
 * certificate names, or the transfer is refused with PERMISSION_DENIED.
 */
export function installSnapshotHandler(
  inbox: SnapshotInbox,
  self: PeerIdentity,
  drops: PeerDrops,
  authorize?: PeerAuthorizer,
): Handler {
  const gate = new SnapshotGate((from, term) => inbox.admit(from, term));
  return (call, callback) => {
    const receive = new Receive(inbox, self, drops, gate);
    let chain = Promise.resolve();
    let failed = false;
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      receive.abort().catch(() => {}); // the next transfer or start removes what is left
      const details = error instanceof Error ? error.message : String(error);
      const code =
        error instanceof NotAuthorized
          ? grpc.status.PERMISSION_DENIED
          : error instanceof Refused
            ? error.code
            : grpc.status.ABORTED;
      callback({ code, details: `snapshot refused: ${details}` });
    };
    call.on("data", (chunk: SnapshotChunk) => {
      call.pause(); // one chunk at a time; gRPC flow control holds the leader back meanwhile
      chain = chain
        .then(async () => {
          if (failed) return;
          const denied = authorize?.(call, chunk.from) ?? null;
          if (denied !== null) throw new NotAuthorized(denied);
          const ack = await receive.chunk(chunk);
          if (ack !== null) callback(null, ack);
          else call.resume();
        })
        .catch(fail);
    });
    call.on("error", () => fail(new Error("stream broke")));
    call.on("cancelled", () => fail(new Error("the sender cancelled the transfer")));
    call.on("end", () => {
      chain = chain.then(() => {
        if (!receive.finished) fail(new Error("stream ended before its last chunk"));
      });
    });
  };
}

/** One transfer's state on the follower. */
class Receive {
  private incoming: IncomingSnapshot | null = null;
  private meta: SnapshotMeta | null = null;
  private ticket: SnapshotTicket | null = null;
  private offset = 0;
  /** Offset at which the disk's room is asked next. */
  private nextSpaceCheck = SNAPSHOT_SPACE_CHECK_BYTES;
  finished = false;

  constructor(
    private readonly inbox: SnapshotInbox,
    private readonly self: PeerIdentity,
    private readonly drops: PeerDrops,
    private readonly gate: SnapshotGate,
  ) {}

  /** Processes one chunk; returns the ack after the last one, else null. */
  async chunk(c: SnapshotChunk): Promise<SnapshotAck | null> {
    this.check(c);
    if (this.incoming === null) {
      const entered = this.gate.enter(c.from, c.term);
      if ("refused" in entered) {
        const reason = entered.busy ? "snapshot_busy" : "snapshot_not_from_leader";
        this.refuse(c.from, reason, grpc.status.FAILED_PRECONDITION, entered.refused);
      } else {
        this.ticket = entered;
      }
      await this.checkRoom(c.from);
      // checkChunk refused a configuration that does not decode.
      const membership = chunkMembership(c) ?? undefined;
      this.meta = {
        index: c.index,
        term: c.logTerm,
        ...(membership !== undefined ? { membership } : {}),
      };
      this.incoming = await this.inbox.begin(this.meta);
    }
    if (c.offset !== this.offset)
      throw new Error(`chunk at offset ${c.offset}, expected ${this.offset}`);
    if (this.offset >= this.nextSpaceCheck) {
      this.nextSpaceCheck = this.offset + SNAPSHOT_SPACE_CHECK_BYTES;
      await this.checkRoom(c.from);
    }
    if (c.data.length > 0)
      await this.incoming.write(Buffer.from(c.data.buffer, c.data.byteOffset, c.data.length));
    this.offset += c.data.length;
    if (!c.done) return null;
    await this.incoming.finish(c.sha256);
    this.finished = true;
    await this.inbox.complete(this.incoming, {
      type: "snapshot",
      from: c.from,
      to: c.to,
      term: c.term,
      snapshot: this.meta as SnapshotMeta,
    });
    this.release();
    return { bytes: this.offset };
  }

  async abort(): Promise<void> {
    this.release();
    if (!this.finished) await this.incoming?.abort();
  }

  /** Lets another transfer start (the transfer ended, whichever way). */
  release(): void {
    if (this.ticket !== null) this.gate.leave(this.ticket);
    this.ticket = null;
  }

  private async checkRoom(sender: number): Promise<void> {
    const short = (await this.inbox.room?.()) ?? null;
    if (short !== null) {
      this.refuse(sender, "snapshot_disk_space", grpc.status.RESOURCE_EXHAUSTED, short);
    }
  }

  private refuse(sender: number, reason: PeerDropReason, code: grpc.status, detail: string): never {
    this.drops.record(sender, reason, detail);
    throw new Refused(code, detail);
  }

  private check(c: SnapshotChunk): void {
    const refused = checkChunk(c, this.self);
    if (refused !== null) {
      this.drops.record(c.from, refused.reason, refused.detail);
      // Another data dir's identity is refused like a batch is, naming the remedy.
      if (refused.reason === "identity_mismatch")
        throw new Refused(grpc.status.FAILED_PRECONDITION, refused.detail);
      throw new Error(refused.detail);
    }
    const meta = this.meta;
    if (meta !== null && (meta.index !== c.index || meta.term !== c.logTerm))
      throw new Error("chunks of two different snapshots in one transfer");
  }
}
