/**
 * `dfs server --force-new-cluster` (docs/backup.md#majority-loss): the last surviving node
 * of a cluster that lost its majority for good becomes a one-member cluster, itself the
 * only voter, with everything in its log, so it serves again and can grow with
 * `dfs member add`. etcd's flag of the same name does the same; it is a last resort that
 * gives up Raft's guarantee for whatever the lost members held and this one did not.
 *
 * What it does, once, at start, before the Raft core exists:
 *
 * - The configuration in force at the end of this node's log (its last configuration
 *   entry, else the store's, else the bootstrap one) must name this node; every other
 *   member goes to `removed`, so a lost member that comes back can never vote or lead
 *   again (its messages are refused, its id never reused).
 * - Every entry in the log is KEPT and committed — also those after the commit index this
 *   node knew of. (etcd discards those instead.) Such an entry is either committed already
 *   (acknowledged to its client by a leader that counted this node) or its outcome was
 *   never told to anyone (the client timed out or lost its leader: outcome unknown), and
 *   Raft itself would have committed it had this node won the next election. Keeping them
 *   saves acknowledged writes that discarding would lose.
 * - A configuration entry holding the new member list is appended after the last entry,
 *   with the node's current term, and the hard state's commit set to its index, in ONE
 *   synchronous WAL write. A crash before that write leaves the old state (start with the
 *   flag again); a torn write is cut off at the next start (the old state again); once
 *   durable, the core replays the committed configuration at every start, and the state
 *   machine applies it like any configuration entry.
 * - Then it records what it committed in the data dir (force-marker.ts). A later start
 *   with the flag still on does nothing while that configuration is still the one at the
 *   end of the log, and refuses to start once it has changed (members were added back:
 *   forcing again would remove them).
 */
import { StartupError } from "../api/index.ts";
import {
  decodeMembership,
  type Entry,
  EntryKind,
  encodeMembership,
  MAX_REMOVED,
  type Membership,
  memberOf,
  sameMembership,
} from "../raft/index.ts";
import { readNodeMeta, type Wal, type WalContents } from "../storage/index.ts";
import type { NodeConfig } from "./config.ts";
import { FORCE_MARKER_FILE, readForceMarker, writeForceMarker } from "./force-marker.ts";
import type { Logger } from "./logger.ts";
import type { RecoveredLog } from "./recover-log.ts";

/**
 * Refuses `--force-new-cluster` where it cannot mean anything: with `--join` (a joining
 * node has no cluster to take over) or on a data dir that never held a member's state.
 * Called before the data dir is initialised, so a mistyped dir stays untouched.
 */
export async function checkForceNewCluster(config: NodeConfig): Promise<void> {
  if (config.forceNewCluster !== true) return;
  if ((config.join ?? []).length > 0) {
    throw new StartupError(
      "config",
      "--force-new-cluster cannot be combined with --join: it restarts a surviving member on its own data dir",
    );
  }
  if ((await readNodeMeta(config.dataDir)) === null) {
    throw new StartupError(
      "data_dir",
      `--force-new-cluster needs the data dir of a surviving member, but ${config.dataDir} is empty (no meta.json)`,
    );
  }
}

/** What {@link forceNewCluster} works on: the opened WAL and the reconciled log. */
export interface ForceInput {
  readonly config: NodeConfig;
  readonly wal: Wal;
  readonly contents: WalContents;
  readonly recovered: RecoveredLog;
  /** The configuration in force at the store's applied index (storage.ts). */
  readonly storeMembership: Membership;
  readonly logger: Logger;
}

/**
 * Appends and commits the one-member configuration (see the file comment) and returns
 * the log the core restarts from.
 */
export async function forceNewCluster(input: ForceInput): Promise<RecoveredLog> {
  const { config, wal, contents, recovered, logger } = input;
  const { log } = recovered;
  const lastIndex = log.offset + log.entries.length;
  if (lastIndex === 0) {
    throw new StartupError(
      "data_dir",
      `--force-new-cluster: the data dir ${config.dataDir} holds no log and no state; start it from a member's data dir`,
    );
  }
  const before = configAtEnd(log.entries, input.storeMembership);
  const marker = await readForceMarker(config.dataDir);
  if (marker !== null) {
    if (!sameMembership(before, marker.membership)) {
      const ids = before.members.map((m) => m.id).join(", ");
      throw new StartupError(
        "config",
        `--force-new-cluster was already applied here at index ${marker.index} (${marker.at}) and the members have changed since (now ${ids}): forcing again would remove them. Start without the flag; only after another majority loss, delete ${config.dataDir}/${FORCE_MARKER_FILE} and force again`,
      );
    }
    logger.warn(
      { forcedAt: marker.at, configIndex: marker.index },
      "--force-new-cluster: already applied and still in force; nothing to do (start without the flag)",
    );
    return recovered;
  }
  const next = soleMember(before, config.id, config.dataDir);
  const lastTerm = log.entries.at(-1)?.term ?? log.offsetTerm;
  const term = Math.max(contents.hardState.term, lastTerm);
  const entry: Entry = {
    term,
    index: lastIndex + 1,
    kind: EntryKind.Config,
    data: encodeMembership(next),
  };
  await wal.save([entry], { term, vote: contents.hardState.vote, commit: entry.index });
  // After the WAL write: a crash in between leaves no record, and forcing again appends
  // the same configuration once more, which changes nothing.
  const at = new Date().toISOString();
  await writeForceMarker(config.dataDir, { index: entry.index, at, membership: next });
  logger.warn(
    {
      commitWas: log.committed,
      applied: log.applied,
      keptUncommitted: lastIndex - log.committed,
      configIndex: entry.index,
      removed: before.members.map((m) => m.id).filter((id) => id !== config.id),
    },
    "--force-new-cluster: this node is now the only member; every entry in its log is committed",
  );
  return {
    ...recovered,
    log: { ...log, entries: [...log.entries, entry], committed: entry.index },
  };
}

/** The configuration in force once every entry of the log counts: its last one. */
function configAtEnd(entries: readonly Entry[], fallback: Membership): Membership {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as Entry;
    if (e.kind !== EntryKind.Config) continue;
    const decoded = decodeMembership(e.data);
    if (decoded !== null) return decoded;
  }
  return fallback;
}

/**
 * `current` with this node as the only member (a voter, even if it was a learner) and
 * every other member removed for good. Refused if this node is not a member of it.
 */
export function soleMember(current: Membership, selfId: number, dataDir: string): Membership {
  const self = memberOf(current, selfId);
  if (self === undefined) {
    throw new StartupError(
      "data_dir",
      `--force-new-cluster: node ${selfId} is not a member of the configuration in ${dataDir} (never added, or removed): only a surviving member can become the cluster`,
    );
  }
  const others = current.members.map((m) => m.id).filter((id) => id !== selfId);
  const removed = [...new Set([...current.removed, ...others])].sort((a, b) => a - b);
  return {
    members: [{ ...self, learner: false }],
    removed: removed.slice(Math.max(0, removed.length - MAX_REMOVED)),
  };
}
