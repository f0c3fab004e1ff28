/**
 * Dfs.SnapshotSave (`dfs snapshot save`): streams a consistent point-in-time image of
 * this node's whole store — keys, files, sessions, the configuration — from one LMDB read
 * transaction, while the node keeps applying writes. The stream is the header (position,
 * cluster, members, node, version, time), the image chunks of the peer snapshot format
 * (about 1 MiB each, every record's CRC checked on the way out), and a trailer with the
 * counts the client checks its copy against. Chunks go only as fast as the client reads
 * them (gRPC flow control), so memory stays at about one chunk whatever the store's size.
 * By default the image is taken on the leader after a ReadIndex round, so it holds every
 * write acknowledged before the call; `serializable` takes it from the node called as it
 * is (possibly behind). docs/backup.md#taking-a-backup.
 */
import { once } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { DfsError, dfsVersion } from "../api/index.ts";
import { ImageTally, type SnapshotSource, type StateMachine } from "../fsm/index.ts";
import type {
  Member,
  SnapshotSaveRequest,
  SnapshotSaveResponse,
  StatusResponse,
} from "../gen/dfs.ts";
import type { Membership } from "../raft/index.ts";
import { toServiceError } from "./grpc-errors.ts";
import type { RaftLoop } from "./raft-loop.ts";

/** What a backup needs from its node. */
export interface SnapshotSaveDeps {
  readonly loop: RaftLoop;
  readonly fsm: StateMachine;
  readonly status: () => StatusResponse;
}

/** A store that can give a consistent streamable image (the node's LMDB store). */
interface ImageStore {
  openSnapshot(): SnapshotSource;
}

type Call = grpc.ServerWritableStream<SnapshotSaveRequest, SnapshotSaveResponse>;

/**
 * Backups one node streams at once. Each holds an LMDB read transaction, which pins the
 * pages it sees (the store grows by every write meanwhile) and takes one of LMDB's
 * reader slots; two at once covers a scheduled backup overlapping a manual one.
 */
export const MAX_CONCURRENT_SAVES = 2;

/**
 * A client that reads nothing for this long is dropped: otherwise a stream nobody reads
 * would hold its read transaction (and a backup slot) for as long as the connection
 * lives. Generous, since gRPC already buffers several chunks on both sides.
 */
export const SAVE_STALL_MS = 60_000;

/** The SnapshotSave handler. */
export function snapshotSaveHandler(
  deps: SnapshotSaveDeps,
): grpc.handleServerStreamingCall<SnapshotSaveRequest, SnapshotSaveResponse> {
  let running = 0;
  return (call) => {
    // Admin only: client-service.ts wraps this handler in adminOnly…(guard, …).
    if (running >= MAX_CONCURRENT_SAVES) {
      const busy = `${running} backups are already streaming from this node; try again when one ends`;
      call.emit("error", toServiceError(new DfsError("resource_exhausted", busy)));
      return;
    }
    running++;
    stream(deps, call)
      .then(
        () => call.end(),
        (error: unknown) => call.emit("error", toServiceError(error)),
      )
      .finally(() => running--);
  };
}

async function stream(deps: SnapshotSaveDeps, call: Call): Promise<void> {
  const store = imageStore(deps.fsm);
  let atLeast = 0;
  if (!call.request.serializable) {
    await deps.loop.linearizableRead();
    atLeast = deps.fsm.appliedIndex;
  }
  const source = store.openSnapshot();
  try {
    if (source.meta.index < atLeast) {
      throw new DfsError(
        "unavailable",
        `this node's store on disk is at ${source.meta.index}, behind the read index ${atLeast} (its write-behind is failing); try again or use another node`,
      );
    }
    await send(call, { header: header(deps.status(), source), data: EMPTY, trailer: undefined });
    const tally = new ImageTally();
    for await (const chunk of source.chunks()) {
      tally.add(chunk);
      await send(call, { header: undefined, data: chunk, trailer: undefined });
    }
    await send(call, { header: undefined, data: EMPTY, trailer: tally.trailer() });
  } finally {
    source.close();
  }
}

const EMPTY = Buffer.alloc(0);

function imageStore(fsm: StateMachine): ImageStore {
  const candidate = fsm as Partial<ImageStore>;
  if (typeof candidate.openSnapshot !== "function")
    throw new DfsError("internal", "this node's state store cannot stream an image");
  return candidate as ImageStore;
}

function header(status: StatusResponse, source: SnapshotSource): SnapshotSaveResponse["header"] {
  const members =
    source.meta.membership !== undefined
      ? wireMembers(source.meta.membership)
      : status.members.map((m) => ({ ...m, leader: false, match: 0, lag: 0, reachable: false }));
  return {
    index: source.meta.index,
    term: source.meta.term,
    clusterId: status.clusterId,
    members,
    nodeId: status.id,
    version: dfsVersion(),
    createdMs: Date.now(),
  };
}

/** The configuration at the image's index, as the wire carries members. */
function wireMembers(m: Membership): Member[] {
  return m.members.map((x) => ({
    id: x.id,
    address: x.clientAddr,
    peerAddress: x.peerAddr,
    learner: x.learner,
    identity: x.identity,
    leader: false,
    match: 0,
    lag: 0,
    reachable: false,
  }));
}

/**
 * Writes one message, waiting for the client to drain if the stream's buffer is full,
 * at most {@link SAVE_STALL_MS}.
 */
async function send(call: Call, message: SnapshotSaveResponse): Promise<void> {
  if (call.cancelled) throw new DfsError("unavailable", "snapshot save cancelled by the client");
  if (call.write(message)) return;
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<"stalled">((done) => {
    timer = setTimeout(() => done("stalled"), SAVE_STALL_MS);
  });
  try {
    const outcome = await Promise.race([once(call, "drain"), once(call, "cancelled"), stalled]);
    if (outcome === "stalled")
      throw new DfsError(
        "resource_exhausted",
        `the client read nothing for ${SAVE_STALL_MS / 1000} s; backup abandoned`,
      );
  } finally {
    clearTimeout(timer);
  }
}
