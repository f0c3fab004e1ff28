/**
 * Dfs.Download: streams a value or file from one consistent view of the store, so a file
 * that is overwritten or deleted while it streams still comes out whole (the old one).
 * The first message carries its FileInfo (size, SHA-256, version); chunks follow one per
 * message, written only as fast as the client reads (gRPC flow control), so memory stays
 * at about one chunk whatever the file size. Every chunk's CRC is checked on the way out;
 * the client checks the SHA-256 of the whole. With auth on, the caller needs `read` on the
 * key, checked after the ReadIndex wait against the state the download streams from.
 */
import { once } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { checkKey, DfsError } from "../api/index.ts";
import type { StateMachine } from "../fsm/index.ts";
import type { DownloadRequest, DownloadResponse } from "../gen/dfs.ts";
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
  return (call) => {
    stream(deps, call).then(
      () => call.end(),
      (error: unknown) => call.emit("error", toServiceError(error)),
    );
  };
}

async function stream(deps: DownloadDeps, call: Call): Promise<void> {
  const { key, serializable } = call.request;
  checkKey(key);
  const caller = await deps.guard.caller(call);
  if (!serializable) await deps.loop.linearizableRead();
  deps.guard.allow(caller, "read", key);
  const view = deps.fsm.openView();
  try {
    const stored = view.get(key);
    if (stored === undefined) throw new DfsError("not_found", `key not found: ${key}`);
    await send(call, { info: fileInfo(stored), data: Buffer.alloc(0) });
    if (stored.file === undefined) {
      if (stored.value.byteLength > 0)
        await send(call, { info: undefined, data: Buffer.from(stored.value) });
      return;
    }
    for (let seq = 0; seq < stored.file.count; seq++) {
      const data = view.chunk(stored.file.uploadId, seq);
      await send(call, {
        info: undefined,
        data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      });
    }
  } finally {
    view.close();
  }
}

/** Writes one message, waiting for the client to drain if the stream's buffer is full. */
async function send(call: Call, message: DownloadResponse): Promise<void> {
  if (call.cancelled) throw new DfsError("unavailable", "download cancelled by the client");
  if (call.write(message)) return;
  await Promise.race([once(call, "drain"), once(call, "cancelled")]);
}
