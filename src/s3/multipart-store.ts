/**
 * Multipart uploads kept in dfs itself (layout in multipart-layout.ts), so they survive a
 * gateway restart and any gateway of the cluster can continue one. Complete streams the
 * staged parts, in order, into ONE dfs upload of the final key: that upload's commit is
 * atomic, so the object appears whole or not at all, even if the leader dies midway (the
 * upload restarts from the first part on the new leader). Then the staging is removed.
 */
import { createHash } from "node:crypto";
import { type DfsClient, DfsError } from "../client/index.ts";
import { S3Error } from "./errors.ts";
import {
  bucketUploadsDir,
  isUploadId,
  MAX_PART_BYTES,
  MIN_PART_BYTES,
  multipartEtag,
  newUploadId,
  partDataKey,
  partRecordKey,
  unquoteEtag,
  uploadDir,
  uploadRecordKey,
} from "./multipart-layout.ts";
import { withUploadSlot } from "./multipart-slots.ts";

/** What CreateMultipartUpload recorded: where the object goes and what it will carry. */
export interface UploadRecord {
  /** The S3 object key (not the dfs key). */
  readonly key: string;
  /** dfs key the completed object is stored under. */
  readonly dfsKey: string;
  readonly initiatedMs: number;
  /** The object's dfs metadata (Content-Type, x-amz-meta-*), applied at Complete. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A stored part: its MD5 (the part's ETag), size and the SHA-256 dfs keeps of it. */
export interface PartRecord {
  readonly part: number;
  readonly md5: string;
  readonly size: number;
  readonly sha256: string;
  readonly modTimeMs: number;
}

/** One open upload of a bucket (ListMultipartUploads). */
export interface OpenUpload extends UploadRecord {
  readonly uploadId: string;
}

/** A part the client names in CompleteMultipartUpload. */
export interface RequestedPart {
  readonly part: number;
  readonly etag: string;
}

const noSuchUpload = (id: string) =>
  new S3Error(
    "NoSuchUpload",
    `upload ${id} does not exist (never created, completed or aborted)`,
    404,
  );

/** The multipart operations of one bucket's uploads, done with `client`'s identity. */
export class MultipartStore {
  constructor(private readonly client: DfsClient) {}

  /** Records a new upload; returns its id. */
  async create(
    bucket: string,
    key: string,
    dfsKey: string,
    metadata: Record<string, string>,
  ): Promise<string> {
    const uploadId = newUploadId();
    const record: UploadRecord = { key, dfsKey, initiatedMs: Date.now(), metadata };
    await this.client.put(uploadRecordKey(bucket, uploadId), json(record));
    return uploadId;
  }

  /** The record of an open upload; NoSuchUpload when there is none. */
  async record(bucket: string, uploadId: string): Promise<UploadRecord> {
    if (!isUploadId(uploadId)) throw noSuchUpload(uploadId);
    try {
      const { value } = await this.client.get(uploadRecordKey(bucket, uploadId));
      return JSON.parse(Buffer.from(value).toString("utf8")) as UploadRecord;
    } catch (error) {
      if (error instanceof DfsError && error.code === "not_found") throw noSuchUpload(uploadId);
      throw error;
    }
  }

  /**
   * Stores part `part` from `body`, streamed (up to 5 GiB) and hashed on the way; replaces
   * an earlier part of that number. Returns the part's record (its MD5 is the ETag).
   */
  async putPart(
    bucket: string,
    uploadId: string,
    part: number,
    body: AsyncIterable<Uint8Array>,
  ): Promise<PartRecord> {
    await this.record(bucket, uploadId);
    const md5 = createHash("md5");
    const source = new Watched(hashed(body, md5));
    const up = await source.rethrow(
      withUploadSlot(this.client, () =>
        this.client.upload(partDataKey(bucket, uploadId, part), source.iterable),
      ),
    );
    const rec: PartRecord = {
      part,
      md5: md5.digest("hex"),
      size: up.size,
      sha256: up.sha256,
      modTimeMs: Date.now(),
    };
    await this.client.put(partRecordKey(bucket, uploadId, part), json(rec));
    return rec;
  }

  /** The parts of an upload in part order (ListParts). */
  async parts(bucket: string, uploadId: string): Promise<PartRecord[]> {
    await this.record(bucket, uploadId);
    const names: string[] = [];
    for await (const e of this.client.list(`${uploadDir(bucket, uploadId)}/e`))
      if (!e.isDir) names.push(e.name);
    const recs = await inBatches(names, 32, async (name) => {
      try {
        return JSON.parse(Buffer.from((await this.client.get(name)).value).toString("utf8"));
      } catch (error) {
        if (error instanceof DfsError && error.code === "not_found") return null;
        throw error;
      }
    });
    return (recs.filter((r) => r !== null) as PartRecord[]).sort((a, b) => a.part - b.part);
  }

  /** The open uploads of a bucket, by key then initiation (ListMultipartUploads). */
  async uploads(bucket: string): Promise<OpenUpload[]> {
    const ids: string[] = [];
    for await (const e of this.client.list(bucketUploadsDir(bucket))) {
      const id = e.name.slice(bucketUploadsDir(bucket).length + 1).replace(/\/$/, "");
      if (e.isDir && isUploadId(id)) ids.push(id);
    }
    const found = await inBatches(ids, 32, async (uploadId) => {
      try {
        return { uploadId, ...(await this.record(bucket, uploadId)) };
      } catch (error) {
        if (error instanceof S3Error) return null; // completed or aborted meanwhile
        throw error;
      }
    });
    return (found.filter((u) => u !== null) as OpenUpload[]).sort(
      (a, b) => cmp(a.key, b.key) || a.initiatedMs - b.initiatedMs || cmp(a.uploadId, b.uploadId),
    );
  }

  /**
   * Completes an upload: checks the requested parts (ascending, each stored with that
   * ETag, all but the last ≥ 5 MiB), streams them into one upload of the object carrying
   * `etagKey` = the `-N` ETag, then removes the staging. Returns the record and the ETag.
   */
  async complete(
    bucket: string,
    uploadId: string,
    requested: readonly RequestedPart[],
    etagKey: string,
  ): Promise<{ record: UploadRecord; etag: string; size: number }> {
    const record = await this.record(bucket, uploadId);
    const chosen = choose(requested, await this.parts(bucket, uploadId));
    const etag = multipartEtag(chosen.map((p) => p.md5));
    let last: Watched | undefined;
    const source = () => {
      last = new Watched(this.concat(bucket, uploadId, chosen));
      return last.iterable;
    };
    const upload = withUploadSlot(this.client, () =>
      this.client.upload(record.dfsKey, source, {
        metadata: { ...record.metadata, [etagKey]: etag },
      }),
    );
    const up = await upload.catch((error: unknown) => {
      throw last?.error ?? error;
    });
    // The object is committed: a failed cleanup must not turn that into an error. The
    // staging then stays listed as an open upload until aborted; a repeated Complete
    // writes the same object again.
    await this.client.deletePrefix(uploadDir(bucket, uploadId)).catch(() => {});
    return { record, etag, size: up.size };
  }

  /** Removes an upload and its parts (AbortMultipartUpload); NoSuchUpload if none. */
  async abort(bucket: string, uploadId: string): Promise<void> {
    await this.record(bucket, uploadId);
    await this.client.deletePrefix(uploadDir(bucket, uploadId));
  }

  /** The bytes of `parts` in order, each checked to be the bytes its record names. */
  private async *concat(
    bucket: string,
    uploadId: string,
    parts: readonly PartRecord[],
  ): AsyncGenerator<Uint8Array> {
    for (const p of parts) {
      const { info, chunks } = await this.client.download(partDataKey(bucket, uploadId, p.part));
      if (info.sha256 !== p.sha256) {
        for await (const _ of chunks) break; // closes the stream
        throw new S3Error(
          "InvalidPart",
          `part ${p.part} changed while the upload was completed; complete it again`,
          400,
        );
      }
      yield* chunks;
    }
  }
}

/** The stored parts named by `requested`, in its order, or the S3 error saying why not. */
function choose(requested: readonly RequestedPart[], stored: PartRecord[]): PartRecord[] {
  if (requested.length === 0)
    throw new S3Error("MalformedXML", "CompleteMultipartUpload names no part", 400);
  const byNumber = new Map(stored.map((p) => [p.part, p]));
  const chosen: PartRecord[] = [];
  for (const [i, r] of requested.entries()) {
    if (i > 0 && r.part <= (requested[i - 1] as RequestedPart).part)
      throw new S3Error(
        "InvalidPartOrder",
        "parts must be listed in ascending order of part number, each once",
        400,
      );
    const p = byNumber.get(r.part);
    if (p === undefined || unquoteEtag(r.etag) !== p.md5)
      throw new S3Error(
        "InvalidPart",
        `part ${r.part} was not uploaded or its ETag does not match`,
        400,
      );
    chosen.push(p);
  }
  for (const p of chosen.slice(0, -1))
    if (p.size < MIN_PART_BYTES)
      throw new S3Error(
        "EntityTooSmall",
        `part ${p.part} has ${p.size} bytes; every part but the last needs at least ${MIN_PART_BYTES}`,
        400,
      );
  return chosen;
}

/** `body` passed through, fed to `md5`; EntityTooLarge past 5 GiB. */
async function* hashed(
  body: AsyncIterable<Uint8Array>,
  md5: ReturnType<typeof createHash>,
): AsyncGenerator<Uint8Array> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_PART_BYTES)
      throw new S3Error("EntityTooLarge", `a part holds at most ${MAX_PART_BYTES} bytes`, 400);
    md5.update(chunk);
    yield chunk;
  }
}

/**
 * A source whose own S3Error (BadDigest from the verified body, InvalidPart, too large)
 * is remembered: the client library reports a failing source as `invalid_argument`, and
 * the S3 client deserves the S3 code.
 */
class Watched {
  error: S3Error | undefined;
  readonly iterable: AsyncIterable<Uint8Array>;

  constructor(inner: AsyncIterable<Uint8Array>) {
    const self = this;
    this.iterable = (async function* () {
      try {
        yield* inner;
      } catch (error) {
        if (error instanceof S3Error) self.error = error;
        throw error;
      }
    })();
  }

  /** `p`, failing with the source's S3Error when the source is why it failed. */
  async rethrow<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (error) {
      throw this.error ?? error;
    }
  }
}

/** `items` mapped by `fn`, at most `width` at a time, results in input order. */
async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width)
    out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

function json(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), "utf8");
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
