/**
 * The blob store at start (docs/architecture.md#the-blob-store, crash rule 5): the
 * store's dead-blob records, the move of an older store's chunk records (bytes in LMDB)
 * into blobs, and the check that removes orphan blobs and refuses a store naming a blob
 * that is missing or short.
 */
import type { RootDatabase } from "lmdb";
import { FILE_CHUNK_BYTES, StartupError } from "../api/index.ts";
import type { BlobIo } from "../storage/index.ts";
import {
  BLOB_CHUNK_PREFIX,
  blobChunkKey,
  type ChunkFacts,
  chunkFactsOf,
  DEAD_BLOB_PREFIX,
  type DeadBlob,
  decodeDeadBlob,
  encodeChunkFacts,
  parseChunkKey,
} from "./blob-records.ts";
import { nextPrefix } from "./key-range.ts";
import {
  CHUNK_PREFIX,
  decodeChunk,
  decodeUpload,
  decodeValue,
  UPLOAD_PREFIX,
  VALUE_PREFIX,
} from "./lmdb-records.ts";

type Db = RootDatabase<Buffer, string>;

/** The dead-blob records of a store. */
export function readDeadBlobs(db: Db): (readonly [string, DeadBlob])[] {
  const range = db.getRange({ start: DEAD_BLOB_PREFIX, end: nextPrefix(DEAD_BLOB_PREFIX) });
  return [...range].map(
    ({ key, value }) => [key.slice(DEAD_BLOB_PREFIX.length), decodeDeadBlob(key, value)] as const,
  );
}

/** Chunk records of both layouts (the digest counts chunks, wherever their bytes are). */
export function countChunkRecords(db: Db): number {
  const count = (p: string) => db.getKeysCount({ start: p, end: nextPrefix(p) });
  return count(BLOB_CHUNK_PREFIX) + count(CHUNK_PREFIX);
}

/**
 * Moves the chunk records of a store written before the blob store ("c": the bytes in
 * LMDB) into blobs, one upload at a time: its bytes written and synced into its blob,
 * then in one transaction its "b" records (length, CRC-32) put and its "c" records
 * removed. A crash between the two redoes that upload (the same bytes at the same
 * places). Nothing to do for a store of this version.
 */
export async function migrateChunkRecords(db: Db, blobs: BlobIo): Promise<number> {
  let moved = 0;
  for (;;) {
    const first = db.getKeys({ start: CHUNK_PREFIX, end: nextPrefix(CHUNK_PREFIX), limit: 1 });
    const key = [...first][0];
    if (key === undefined) return moved;
    const parsed = parseChunkKey(key);
    if (parsed === null) throw new StartupError("corrupt", `state store: bad chunk key ${key}`);
    const prefix = `${CHUNK_PREFIX}${parsed.uploadId}/`;
    const facts: [number, ChunkFacts][] = [];
    for (const { key: k, value } of db.getRange({ start: prefix, end: nextPrefix(prefix) })) {
      const seq = parseChunkKey(k)?.seq ?? 0;
      const data = decodeChunk(k, value);
      await blobs.write(parsed.uploadId, seq * FILE_CHUNK_BYTES, data);
      facts.push([seq, chunkFactsOf(data)]);
    }
    await blobs.sync([parsed.uploadId]);
    db.transactionSync(() => {
      for (const [seq, f] of facts) {
        const b = blobChunkKey(parsed.uploadId, seq);
        db.putSync(b, encodeChunkFacts(b, f));
        db.removeSync(`${prefix}${seq.toString(16).padStart(8, "0")}`);
      }
    });
    moved += facts.length;
  }
}

/**
 * Removes orphan blobs: named by no value, no upload in progress, no dead record and no
 * chunk entry still in the log (`logUploads`): left by a crash between steps, or by an
 * upload whose uncommitted entries were cut from the log. Throws StartupError "corrupt"
 * (exit 7) naming the blob (`dirLabel` + id) when a value or an upload in progress needs
 * bytes its blob does not hold. Returns the orphans removed.
 */
export async function checkBlobs(
  db: Db,
  blobs: BlobIo,
  logUploads: ReadonlySet<string>,
  dirLabel: string,
): Promise<string[]> {
  const needed = neededBlobs(db);
  for (const [id, { bytes, by }] of needed) {
    if (bytes === 0) continue;
    const size = await blobs.size(id);
    if (size === undefined || size < bytes)
      throw new StartupError(
        "corrupt",
        `blob ${dirLabel}${id} of ${by} is ${size === undefined ? "missing" : `short (${size} of ${bytes} bytes)`}; the state store names bytes it does not hold`,
      );
  }
  const dead = new Set(readDeadBlobs(db).map(([id]) => id));
  const orphans = (await blobs.list()).filter(
    (id) => !needed.has(id) && !dead.has(id) && !logUploads.has(id),
  );
  for (const id of orphans) await blobs.unlink(id);
  return orphans;
}

/**
 * Blobs the store in `db` neither names (values, uploads) nor holds a dead record of,
 * with their sizes: after a snapshot install, those of the store it replaced.
 */
export async function unreferencedBlobs(db: Db, blobs: BlobIo): Promise<[string, number][]> {
  const needed = neededBlobs(db);
  const dead = new Set(readDeadBlobs(db).map(([id]) => id));
  const out: [string, number][] = [];
  for (const id of await blobs.list())
    if (!needed.has(id) && !dead.has(id)) out.push([id, (await blobs.size(id)) ?? 0]);
  return out;
}

/** Blobs values and uploads in progress name, with the bytes each needs and who needs it. */
function neededBlobs(db: Db): Map<string, { bytes: number; by: string }> {
  const needed = new Map<string, { bytes: number; by: string }>();
  for (const { key, value } of db.getRange({
    start: VALUE_PREFIX,
    end: nextPrefix(VALUE_PREFIX),
  })) {
    const v = decodeValue(key, value);
    const name = key.slice(VALUE_PREFIX.length);
    if (v.file !== undefined) needed.set(v.file.uploadId, { bytes: v.size, by: `key ${name}` });
  }
  for (const { key, value } of db.getRange({
    start: UPLOAD_PREFIX,
    end: nextPrefix(UPLOAD_PREFIX),
  })) {
    const id = key.slice(UPLOAD_PREFIX.length);
    needed.set(id, { bytes: decodeUpload(key, value).bytes, by: `upload ${id} in progress` });
  }
  return needed;
}
