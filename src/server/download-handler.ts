/**
 * Dfs.Download: streams a value or file from one consistent view of the store, so a file
 * that is overwritten or deleted while it streams still comes out whole (the old one).
 * The first message carries its FileInfo (size, SHA-256, version); chunks follow one per
 * message, read from the file's blob a few at a time in one sequential read
 * (fsm/blob-reader.ts) and written only as fast as the client reads (gRPC flow control:
 * the next read waits for 'drain'), so memory stays at a few chunks whatever the file
 * size. The view pins the blob until the stream ends, so a file deleted meanwhile keeps
 * its bytes until then. Every chunk's CRC is checked on the way out; the client checks
 * the SHA-256 of the whole. With auth on, the caller needs `read` on the
 * key, checked after the ReadIndex wait against the state the download streams from.
 *
 * A ranged download (offset, length) reads only the chunks that hold the range: chunk i
 * holds bytes i MiB up to (i+1) MiB (every upload cuts its chunks so), so the first
 * chunk needed is found by division, never by reading what comes before it. `if_version`
 * makes a ranged read that follows a stat read the same file or fail.
 */
import { type EventEmitter, once } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import {
  checkKey,
  chunksOf,
  DfsError,
  FILE_CHUNK_BYTES,
  resolveSpan,
  sliceOfChunk,
} from "../api/index.ts";
import { readFileChunks, type StateMachine } from "../fsm/index.ts";
import type { DownloadRequest, DownloadResponse } from "../gen/dfs.ts";
import {
  encodeDownloadData,
  frameOf,
  installInPlaceServerFraming,
  releaseBuffer,
} from "../wire/index.ts";
import type { AuthGuard } from "./auth/index.ts";
import { toServiceError } from "./grpc-errors.ts";
import { fileInfo } from "./listing.ts";
import type { RaftLoop } from "./raft-loop.ts";

/** What a download needs from its node. */
export interface DownloadDeps {
  readonly loop: RaftLoop;
  readonly fsm: StateMachine;
  readonly guard: AuthGuard;
}

type Call = grpc.ServerWritableStream<DownloadRequest, DownloadResponse>;

/** The Download handler. */
export function downloadHandler(
  deps: DownloadDeps,
): grpc.handleServerStreamingCall<DownloadRequest, DownloadResponse> {
  installInPlaceServerFraming();
  return (call) => {
    stream(deps, call).then(
      () => call.end(),
      (error: unknown) => call.emit("error", toServiceError(error)),
    );
  };
}

async function stream(deps: DownloadDeps, call: Call): Promise<void> {
  const { key, serializable, offset, length, ifVersion } = call.request;
  checkKey(key);
  const caller = await deps.guard.caller(call);
  if (!serializable) await deps.loop.linearizableRead();
  deps.guard.allow(caller, "read", key);
  const view = deps.fsm.openView();
  try {
    const stored = view.get(key);
    if (stored === undefined) throw new DfsError("not_found", `key not found: ${key}`);
    if (ifVersion !== undefined && ifVersion !== stored.version)
      throw new DfsError(
        "precondition_failed",
        `${key} is at version ${stored.version}, not ${ifVersion}`,
      );
    const span = resolveSpan(stored.size, Number(offset ?? 0), optionalNumber(length));
    await send(call, { info: fileInfo(stored), data: Buffer.alloc(0) });
    if (stored.file === undefined) {
      if (span.end > span.start)
        await send(call, {
          info: undefined,
          data: Buffer.from(stored.value.subarray(span.start, span.end)),
        });
      return;
    }
    const { first, last } = chunksOf(span, FILE_CHUNK_BYTES);
    let seq = first;
    const outbox: Outbox = { bytes: 0, writes: [] };
    for await (const data of readFileChunks(view, stored, first, last)) {
      const part = sliceOfChunk(span, seq++, FILE_CHUNK_BYTES);
      await sendData(call, data.subarray(part.start, part.end), outbox);
    }
  } finally {
    view.close();
  }
}

/**
 * Sends one data message, encoded here (one copy of the chunk, into the buffer HTTP/2
 * writes: wire/framed-message.ts) and released once written, so a download's buffers
 * never wait as garbage for V8's next full collection (bench/README.md, session 7).
 */
export async function sendData(call: SendTarget, data: Uint8Array, outbox: Outbox): Promise<void> {
  const encoded = encodeDownloadData(data);
  const frame = frameOf(encoded.body);
  await send(call, encoded as unknown as DownloadResponse, outbox, data.byteLength, () =>
    releaseBuffer(frame),
  );
}

function optionalNumber(value: number | undefined | null): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}

/**
 * Bytes of a download's messages written to gRPC whose writes have not completed (held,
 * encoded, until HTTP/2 flow control lets them out). Above it the next read waits for
 * the oldest write: gRPC's own bound is 16 messages (its object-mode high-water mark),
 * 16 MiB and their copies per download, where 2 chunks keep a stream busy.
 */
export const DOWNLOAD_UNSENT_BYTES = 2 * FILE_CHUNK_BYTES;

/** What {@link send} uses of a call (a fake in tests). */
export type SendTarget = EventEmitter & Pick<Call, "cancelled" | "write">;

/** Writes still in gRPC's hands for one download, oldest first. */
export interface Outbox {
  bytes: number;
  readonly writes: Promise<void>[];
}

/**
 * Writes one message; waits while more than {@link DOWNLOAD_UNSENT_BYTES} of earlier
 * writes are outstanding, or for 'drain' if the stream's buffer is full.
 */
export async function send(
  call: SendTarget,
  message: DownloadResponse,
  outbox?: Outbox,
  bytes: number = message.data.byteLength,
  written?: () => void,
): Promise<void> {
  if (call.cancelled) throw new DfsError("unavailable", "download cancelled by the client");
  let ok = true;
  if (outbox === undefined) ok = call.write(message);
  else {
    outbox.bytes += bytes;
    outbox.writes.push(
      new Promise<void>((resolve) => {
        ok = call.write(message, () => {
          written?.();
          outbox.bytes -= bytes;
          resolve();
        });
      }),
    );
  }
  const full = outbox !== undefined && outbox.bytes > DOWNLOAD_UNSENT_BYTES;
  if (ok && !full) return;
  const stop = new AbortController();
  const cancelled = once(call, "cancelled", { signal: stop.signal }).catch(() => {});
  try {
    while (outbox !== undefined && outbox.bytes > DOWNLOAD_UNSENT_BYTES) {
      await Promise.race([outbox.writes.shift(), cancelled]);
      if (call.cancelled) throw new DfsError("unavailable", "download cancelled by the client");
    }
    if (!ok) await Promise.race([once(call, "drain", { signal: stop.signal }), cancelled]);
  } finally {
    stop.abort();
  }
}
