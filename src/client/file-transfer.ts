/**
 * One streamed upload or download over one gRPC call. Upload: send the header, wait
 * until the leader accepts it (initial metadata) so a redirect costs no data, then send
 * the source in ≤ 1 MiB messages as fast as gRPC flow control allows, hashing as it goes,
 * and finish with the SHA-256. Download: the first message is the FileInfo; the data that
 * follows is checked against its size and SHA-256 before the last byte is handed over (a
 * ranged download is checked against the range's length; the node checked each chunk's
 * CRC, and the SHA-256 covers only the whole).
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { ClientReadableStream, ClientWritableStream } from "@grpc/grpc-js";
import {
  type ByteSpan,
  DfsError,
  FILE_CHUNK_BYTES,
  type Metadata,
  resolveSpan,
} from "../api/index.ts";
import type {
  DownloadResponse,
  PutResponse,
  Session,
  UploadRequest,
  FileInfo as WireFileInfo,
} from "../gen/dfs.ts";
import { toDfsError } from "./grpc-errors.ts";
import type { DfsStub } from "./unary-call.ts";

/** What a stored value or file is. */
export interface FileInfo {
  readonly size: number;
  /** Hex SHA-256 of the content. */
  readonly sha256: string;
  readonly version: number;
  readonly modIndex: number;
  /** When it was written (the leader's clock, ms since the epoch). */
  readonly modTimeMs: number;
  /** 0 for a value stored inline, else the number of 1 MiB chunks. */
  readonly chunks: number;
  /** What the writer attached with `put`/`upload` (`{}` when nothing). */
  readonly metadata: Metadata;
}

/** Converts the wire form. */
export function toFileInfo(w: WireFileInfo): FileInfo {
  return {
    size: w.size,
    sha256: Buffer.from(w.sha256).toString("hex"),
    version: w.version,
    modIndex: w.modIndex,
    modTimeMs: w.modTimeMs,
    chunks: w.chunks,
    metadata: { ...w.metadata },
  };
}

/** A transfer that makes no progress for this long is cancelled. */
export const TRANSFER_STALL_MS = 30_000;

/** How an upload attempt went: the answer, or where it failed. */
export interface UploadOutcome {
  readonly response: PutResponse;
  readonly size: number;
  readonly sha256: string;
}

/** The fixed part of an upload's first message. */
export interface UploadHeader {
  readonly key: string;
  readonly ifVersion: number | undefined;
  readonly session: Session;
  /** Kept with the file (checked by the caller). */
  readonly metadata?: Metadata;
  /** Called once the source ended; sent with the last message, merged over `metadata`. */
  readonly finalMetadata?: () => Metadata;
}

/**
 * Uploads `source` in one call to `stub`. `onStarted` runs when the first byte of the
 * source is about to be read (after the leader accepted the header): from then on a
 * failure cannot be retried unless the source can be read again.
 */
export async function uploadOnce(
  stub: DfsStub,
  header: UploadHeader,
  source: AsyncIterable<Uint8Array>,
  onStarted: () => void,
  onProgress: (bytes: number) => void,
): Promise<UploadOutcome> {
  let call: ClientWritableStream<UploadRequest> | null = null;
  const response = new Promise<PutResponse>((resolve, reject) => {
    call = stub.upload((error, res) =>
      error ? reject(toDfsError(error)) : resolve(res as PutResponse),
    );
  });
  response.catch(() => {});
  const stream = call as unknown as ClientWritableStream<UploadRequest>;
  const empty = Buffer.alloc(0);
  const { finalMetadata, ...first } = header;
  stream.write({ metadata: {}, ...first, data: empty, sha256: empty, done: false });
  await Promise.race([once(stream, "metadata"), response]);
  onStarted();
  const hash = createHash("sha256");
  let size = 0;
  try {
    for await (const piece of source) {
      for (let at = 0; at < piece.byteLength; at += FILE_CHUNK_BYTES) {
        const data = Buffer.from(
          piece.buffer,
          piece.byteOffset + at,
          Math.min(FILE_CHUNK_BYTES, piece.byteLength - at),
        );
        hash.update(data);
        size += data.length;
        const more = stream.write({
          metadata: {},
          key: "",
          ifVersion: undefined,
          session: undefined,
          data,
          sha256: empty,
          done: false,
        });
        if (!more) await drained(stream, response);
        onProgress(size);
      }
    }
  } catch (error) {
    stream.cancel();
    throw error instanceof DfsError
      ? error
      : new DfsError(
          "invalid_argument",
          `cannot read the upload's source: ${(error as Error).message}`,
        );
  }
  const digest = hash.digest();
  stream.write({
    metadata: { ...finalMetadata?.() },
    key: "",
    ifVersion: undefined,
    session: undefined,
    data: empty,
    sha256: digest,
    done: true,
  });
  stream.end();
  return { response: await response, size, sha256: digest.toString("hex") };
}

/** An open download: what is coming, and the bytes, verified as they arrive. */
export interface OpenDownload {
  /** The whole value or file (also for a ranged download). */
  readonly info: FileInfo;
  /** The bytes that come: all of them, or the range asked for (end cut at the size). */
  readonly range: ByteSpan;
  readonly chunks: AsyncIterable<Buffer>;
}

/** What a download asks for (proto DownloadRequest, as the client fills it). */
export interface DownloadRequestFields {
  readonly key: string;
  readonly serializable: boolean;
  /** First byte (default 0). */
  readonly offset?: number;
  /** Most bytes (absent: to the end). */
  readonly length?: number;
  /** Only this version of the key (else `precondition_failed`). */
  readonly ifVersion?: number;
}

/**
 * Opens a download on `stub` and waits for its FileInfo. The returned chunks throw
 * `internal` if the bytes do not match the announced size and SHA-256.
 */
export async function openDownload(
  stub: DfsStub,
  request: DownloadRequestFields,
): Promise<OpenDownload> {
  const call = stub.download({
    key: request.key,
    serializable: request.serializable,
    offset: request.offset ?? 0,
    length: request.length,
    ifVersion: request.ifVersion,
  });
  const iterator = (call as AsyncIterable<DownloadResponse>)[Symbol.asyncIterator]();
  let first: IteratorResult<DownloadResponse>;
  try {
    first = await iterator.next();
  } catch (error) {
    throw toDfsError(error);
  }
  const wire = first.done ? undefined : first.value.info;
  if (wire === undefined) {
    call.cancel();
    throw new DfsError("internal", "download began without its file information");
  }
  const info = toFileInfo(wire);
  let range: ByteSpan;
  try {
    range = resolveSpan(info.size, request.offset ?? 0, request.length);
  } catch (error) {
    call.cancel();
    throw error;
  }
  return { info, range, chunks: verified(info, range, call, iterator) };
}

async function* verified(
  info: FileInfo,
  range: ByteSpan,
  call: ClientReadableStream<DownloadResponse>,
  iterator: AsyncIterator<DownloadResponse>,
): AsyncGenerator<Buffer> {
  const hash = createHash("sha256");
  let size = 0;
  try {
    for (;;) {
      let next: IteratorResult<DownloadResponse>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw toDfsError(error);
      }
      if (next.done) break;
      // The codec hands the data over as a view of gRPC's own message buffer
      // (wire/bulk-codecs.ts): nothing else holds it, so it is given out uncopied.
      const data = next.value.data;
      hash.update(data);
      size += data.length;
      if (size > range.end - range.start)
        throw new DfsError(
          "internal",
          `download longer than the announced ${range.end - range.start} bytes`,
        );
      yield data;
    }
  } finally {
    call.cancel();
  }
  const digest = hash.digest("hex");
  const whole = range.start === 0 && range.end === info.size;
  if (!whole) {
    if (size !== range.end - range.start)
      throw new DfsError(
        "internal",
        `ranged download cut short: ${size} of ${range.end - range.start} bytes`,
      );
    return;
  }
  if (size !== info.size || digest !== info.sha256) {
    throw new DfsError(
      "internal",
      `downloaded data does not match: ${size} bytes with SHA-256 ${digest}, expected ${info.size} bytes with ${info.sha256}`,
    );
  }
}

async function drained(
  stream: ClientWritableStream<UploadRequest>,
  response: Promise<unknown>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      stream.cancel();
      reject(new DfsError("unavailable", `upload made no progress for ${TRANSFER_STALL_MS} ms`));
    }, TRANSFER_STALL_MS);
  });
  const ended = response.then(() => {
    throw new DfsError("internal", "the server answered before the upload finished");
  });
  ended.catch(() => {});
  try {
    await Promise.race([once(stream, "drain"), ended, stalled]);
  } finally {
    clearTimeout(timer);
  }
}
