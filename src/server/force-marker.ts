/**
 * The record `--force-new-cluster` leaves in the data dir (`force-new-cluster.json`): the
 * index and the configuration it committed. Why: the flag is meant for one start, but a
 * service file keeps it on at every restart, and forcing again once members were added
 * back would remove them all. With the record, a restart that still has the flag does
 * nothing while the forced configuration is still in force, and refuses to start once it
 * has changed. After another majority loss the operator deletes the record and forces
 * again (docs/backup.md#majority-loss).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { StartupError } from "../api/index.ts";
import { decodeMembership, encodeMembership, type Membership } from "../raft/index.ts";
import { writeFileAtomic } from "../storage/index.ts";

/** The record's file name, in the data dir. */
export const FORCE_MARKER_FILE = "force-new-cluster.json";

/** The longest record read (a configuration of 64 members fits easily). */
const MAX_MARKER_BYTES = 256 * 1024;

/** What a forced start committed. */
export interface ForceMarker {
  /** Index of the configuration entry it appended. */
  readonly index: number;
  /** When, as an ISO time (for the operator's eyes only). */
  readonly at: string;
  /** The configuration it committed: this node alone. */
  readonly membership: Membership;
}

/** The record in `dataDir`, null if there is none; a record that does not parse is refused. */
export async function readForceMarker(dataDir: string): Promise<ForceMarker | null> {
  const path = join(dataDir, FORCE_MARKER_FILE);
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_MARKER_BYTES) throw new Error("too large");
    text = bytes.toString("utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw unreadable(path, (e as Error).message);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw unreadable(path, "not JSON");
  }
  const r = raw as { index?: unknown; at?: unknown; membership?: unknown } | null;
  const membership =
    r !== null && typeof r === "object"
      ? decodeMembership(Buffer.from(JSON.stringify(r.membership ?? null)))
      : null;
  if (
    r === null ||
    !Number.isSafeInteger(r.index) ||
    (r.index as number) < 1 ||
    typeof r.at !== "string" ||
    membership === null
  ) {
    throw unreadable(path, "not a force-new-cluster record");
  }
  return { index: r.index as number, at: r.at, membership };
}

/** Writes the record durably (after the forcing WAL write is durable). */
export async function writeForceMarker(dataDir: string, marker: ForceMarker): Promise<void> {
  const membership = JSON.parse(Buffer.from(encodeMembership(marker.membership)).toString());
  const text = `${JSON.stringify({ index: marker.index, at: marker.at, membership }, null, 2)}\n`;
  await writeFileAtomic(join(dataDir, FORCE_MARKER_FILE), Buffer.from(text));
}

function unreadable(path: string, why: string): StartupError {
  return new StartupError(
    "data_dir",
    `--force-new-cluster: cannot read ${path} (${why}); move it away to force this node again`,
  );
}
