/**
 * Large puts through the blob store (issue 22; docs/architecture.md "Large puts"). A put
 * whose value is over {@link BLOB_PUT_MIN_BYTES} is proposed as a one-chunk upload: an
 * `upload_chunk` entry (the value, under a fresh upload id) and, in the same proposal
 * batch, a `commit_upload` entry carrying the put's key, session, compare-and-set and
 * metadata. Each node then writes the value once, into the upload's blob, and its WAL
 * and store keep only pointers, where a plain put entry is written to the WAL in full
 * and then again into LMDB. The answer is the commit's: the same version and index, or
 * the same typed error, as a put.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Metadata } from "../api/index.ts";
import type { ApplyResult, CommandSession, FsmCommand } from "../fsm/index.ts";

/**
 * Values above this many bytes go through the blob store. Below it the second write of a
 * plain put (into LMDB) costs less than a blob of its own per value (a file created,
 * fdatasynced with its directory, unlinked when overwritten).
 */
export const BLOB_PUT_MIN_BYTES = 64 * 1024;

/** A put, as the client service has checked it. */
export interface CheckedPut {
  readonly key: string;
  readonly value: Uint8Array;
  readonly metadata: Metadata;
  readonly ifVersion?: number;
  readonly session?: CommandSession;
}

/** Proposes one command (stamped with clock and caller by the caller); its apply result. */
export type ProposeCommand = (command: FsmCommand) => Promise<ApplyResult>;

/** Whether a put of this many bytes goes through the blob store. */
export function isBlobPut(bytes: number): boolean {
  return bytes > BLOB_PUT_MIN_BYTES;
}

/**
 * The two commands of a blob put: the value as chunk 0 of a fresh upload, then the
 * commit that makes it the key's value (with the put's session, so a retry is applied
 * once: the state machine frees a duplicate's upload).
 */
export function blobPutCommands(
  put: CheckedPut,
  uploadId: string = randomBytes(16).toString("hex"),
): readonly [FsmCommand, FsmCommand] {
  const chunk: FsmCommand = { op: "upload_chunk", uploadId, seq: 0, data: put.value };
  const commit: FsmCommand = {
    op: "commit_upload",
    uploadId,
    key: put.key,
    size: put.value.byteLength,
    sha256: createHash("sha256").update(put.value).digest(),
    chunks: 1,
    metadata: put.metadata,
    ...(put.ifVersion === undefined ? {} : { ifVersion: put.ifVersion }),
    ...(put.session ? { session: put.session } : {}),
  };
  return [chunk, commit];
}

/**
 * Proposes a blob put: both commands at once, so they join the same proposal batch
 * (one Raft round, one WAL write per node). Resolves with the commit's result; rejects
 * as the commit's proposal does (not leader, deadline). The chunk's own outcome needs
 * no answer: if it did not apply, the commit finds no chunk and is refused as invalid.
 */
export async function proposeBlobPut(
  put: CheckedPut,
  propose: ProposeCommand,
): Promise<ApplyResult> {
  const [chunk, commit] = blobPutCommands(put);
  const stored = propose(chunk);
  const committed = propose(commit);
  // The chunk's failure is the commit's too (same batch); never left unhandled.
  stored.catch(() => {});
  return await committed;
}
