/**
 * Planted bugs: known-wrong versions of the core and the loop, each a set of source
 * patches applied to the TypeScript text at load time by hooks.mjs (registered by
 * register.mjs, which only `npm run sim -- --plant NAME` and the plant tests load). They
 * measure whether the simulator's random swarm finds real bugs on its own
 * (docs/testing.md#planted-bugs). Nothing under src/ refers to them.
 *
 * A patch names a file under src/, an exact `find` text that must occur exactly once in
 * it, and its `replace` text. A find text that no longer matches (the source moved on)
 * throws when the file loads and fails test/unit/sim/plants.test.ts, so a plant never
 * rots into a no-op that the swarm "fails to find".
 */

/** @type {readonly import("./registry.d.mts").Plant[]} */
export const PLANTS = [
  {
    name: "commit-previous-term",
    description:
      "A leader commits an entry of an earlier term by counting replicas (maybeCommit " +
      "without the current-term check): Figure 8 of the Raft paper, a committed entry a " +
      "later leader may overwrite. The core's runtime check of that rule stays on.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "if (index <= this.#log.committed || this.#log.termAt(index) !== this.#term) return false;",
        replace: "if (index <= this.#log.committed) return false;",
      },
    ],
  },
  {
    name: "commit-previous-term-unchecked",
    description:
      "commit-previous-term with the core's runtime Figure 8 assertion removed too: only " +
      "the simulator's own checks (a committed entry overwritten or lost, a stale history) " +
      "can find it.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "if (index <= this.#log.committed || this.#log.termAt(index) !== this.#term) return false;",
        replace: "if (index <= this.#log.committed) return false;",
      },
      {
        file: "src/raft/invariants.ts",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
        find: "if (term !== r.term) fail(`leader of term ${r.term} committed an entry of term ${term}`);",
        replace: "void term;",
      },
    ],
  },
  {
    name: "leader-counts-unsynced",
    description:
      "The leader counts its own entries toward a commit before its fsync returned " +
      "(lastIndex for stableIndex): a crash of the leader and one follower can lose an " +
      "entry clients were told is committed.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "if (this.voters.has(this.id)) matches.push(this.#log.stableIndex);",
        replace: "if (this.voters.has(this.id)) matches.push(this.#log.lastIndex());",
      },
    ],
  },
  {
    name: "quorum-off-by-one",
    description:
      "The commit index is the (majority-1)-th largest match instead of the majority-th: " +
      "an entry counts as committed one replica short of a majority.",
    patches: [
      {
        file: "src/raft/quorum.ts",
        find: "return sorted[majority(matches.length) - 1] ?? 0;",
        replace: "return sorted[Math.max(0, majority(matches.length) - 2)] ?? 0;",
      },
    ],
  },
  {
    name: "read-without-quorum",
    description:
      "ReadIndex answered at once from the leader's commit index without a heartbeat round " +
      "confirming it still leads (as if the cluster had one voter): a deposed leader " +
      "cut off from the rest serves stale reads.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "if (this.voters.size === 1 && this.voters.has(this.id)) {",
        replace: "if (this.voters.size >= 1 && this.voters.has(this.id)) {",
      },
    ],
  },
  {
    name: "read-before-term-commit",
    description:
      "ReadIndex served before the new leader committed an entry of its own term (thesis " +
      "§6.4 step 1 skipped): its commit index may still lag writes an earlier leader " +
      "acknowledged, so a read misses them.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "if (this.committedInCurrentTerm()) this.startRead([request]);\n    else this.pendingReads.push(request);",
        replace: "this.startRead([request]);",
      },
    ],
  },
  {
    name: "vote-without-log-check",
    description:
      "Votes (and pre-votes) granted without the §5.4.1 up-to-date check: a candidate " +
      "missing committed entries can win and overwrite them.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "const grant = canVote && this.#log.isUpToDate(m.lastLogIndex, m.lastLogTerm);",
        replace: "const grant = canVote;",
      },
    ],
  },
  {
    name: "vote-before-persist",
    description:
      "A follower's vote response leaves before its new term and vote are durable: a " +
      "crash before the fsync forgets the vote, and the restarted node can vote again in " +
      "the same term, electing two leaders.",
    patches: [
      {
        file: "src/server/loop/message-order.ts",
        find: '  if (rd.softState.role !== "leader" || !termAndVoteDurable(rd.hardState, persisted)) {\n    return { early: [], late: rd.messages, afterApply: [] };\n  }',
        replace:
          '  if (rd.softState.role !== "leader" || !termAndVoteDurable(rd.hardState, persisted)) {\n' +
          '    const vote = (m: Message): boolean => m.type === "voteResp";\n' +
          "    return { early: rd.messages.filter(vote), late: rd.messages.filter((m) => !vote(m)), afterApply: [] };\n" +
          "  }",
      },
    ],
  },
  {
    name: "ack-before-fsync",
    description:
      "A follower sends everything, append acks included, before the Ready's fsync: the " +
      "leader counts entries a crash then loses, so a committed entry can vanish.",
    patches: [
      {
        file: "src/server/loop/message-order.ts",
        find: "    return { early: [], late: rd.messages, afterApply: [] };",
        replace: "    return { early: rd.messages, late: [], afterApply: [] };",
      },
    ],
  },
  {
    name: "append-truncates-matching-suffix",
    description:
      "A follower handling an append truncates its log right after the message's entries " +
      "instead of only at the first conflict: a delayed or duplicated shorter append drops " +
      "entries it already acknowledged, which the leader may have committed.",
    patches: [
      {
        file: "src/raft/log.ts",
        find: "    const conflict = this.findConflict(entries);\n    if (conflict !== 0) this.append(entries.slice(conflict - prevIndex - 1));",
        replace:
          "    const conflict = this.findConflict(entries);\n" +
          "    if (conflict !== 0) this.append(entries.slice(conflict - prevIndex - 1));\n" +
          "    else if (lastNew < this.lastIndex() && lastNew >= this.committed) {\n" +
          "      this.entries.length = lastNew - this.offset;\n" +
          "      this.stableIndex = Math.min(this.stableIndex, lastNew);\n" +
          "    }",
      },
    ],
  },
  {
    name: "follower-commit-unclamped",
    description:
      "A follower takes the leader's commit index up to its own last index instead of the " +
      "last entry this append verified (min(commit, lastNew)): a stale tail from a deposed " +
      "leader, not yet overwritten, gets committed and applied.",
    pin:
      "this leader never sends an append that ends before a follower's stale tail: its " +
      "conflict hint never backs up past the last agreeing index, so the first entry it " +
      "sends conflicts and truncates the tail (docs/testing.md#pins-not-bugs).",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "this.commitTo(Math.min(m.commit, lastNew));",
        replace: "this.commitTo(Math.min(m.commit, this.#log.lastIndex()));",
      },
    ],
  },
  {
    name: "heartbeat-commit-beyond-match",
    description:
      "Heartbeats carry the leader's commit index instead of min(match, commit): a " +
      "follower whose log still holds a deposed leader's divergent entries commits them.",
    patches: [
      {
        file: "src/raft/replicator.ts",
        find: "const commit = Math.min(pr.match, this.o.log.committed);",
        replace: "const commit = this.o.log.committed;",
      },
    ],
  },
  {
    name: "apply-before-commit",
    description:
      "Entries are applied once durable locally instead of once committed (the apply " +
      "cursor runs to stableIndex; the bounds checks that would stop it are relaxed): a " +
      "follower applies entries a new leader later overwrites.",
    patches: [
      {
        file: "src/raft/log.ts",
        find: "    const hi = Math.min(this.committed, this.stableIndex);\n    if (hi <= this.applied) return [];",
        replace: "    const hi = this.stableIndex;\n    if (hi <= this.applied) return [];",
      },
      {
        file: "src/raft/log.ts",
        find: "return Math.min(this.committed, this.stableIndex) > this.applied;",
        replace: "return this.stableIndex > this.applied;",
      },
      {
        file: "src/raft/log.ts",
        find: "if (index < this.applied || index > this.committed) {",
        replace: "if (index < this.applied || index > this.lastIndex()) {",
      },
      {
        file: "src/raft/invariants.ts",
        find: "if (!(log.applied <= log.committed && log.committed <= last)) {",
        replace: "if (!(log.committed <= last)) {",
      },
    ],
  },
  {
    name: "snapshot-over-newer-state",
    description:
      "A follower installs an InstallSnapshot older than its commit index (the stale " +
      "check is gone): a delayed or duplicated snapshot rolls its log and state machine " +
      "back over committed entries.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "    if (snap.index <= this.#log.committed) {\n      ack(this.#log.committed);\n      return;\n    }\n",
        replace: "",
      },
    ],
  },
  {
    name: "compact-before-snapshot-durable",
    description:
      "The log is compacted without waiting for the snapshot that covers it to be durable: " +
      "a crash in between leaves entries that exist nowhere on the node's disk.",
    patches: [
      {
        file: "src/server/loop/snapshot-policy.ts",
        find: "if (!(await this.captured(policy, meta))) return;",
        replace: "void this.captured(policy, meta);",
      },
    ],
  },
  {
    name: "settle-ignores-term",
    description:
      "The loop answers a proposal as committed when its index applies, without checking " +
      "the applied entry is the one it proposed (same term): after a leader change the " +
      "client is told its write succeeded while another leader's entry took its place.",
    patches: [
      {
        file: "src/server/loop/waiters.ts",
        find: "if (waiter.term === entry.term) waiter.resolve({ index: entry.index, result });",
        replace: "if (waiter.term > 0) waiter.resolve({ index: entry.index, result });",
      },
    ],
  },
  {
    name: "follower-read-before-apply",
    description:
      "A follower serves a linearizable read as soon as the leader confirmed its read " +
      "index, without waiting until it has applied that far: a follower whose apply lags " +
      "the leader's commit answers from an older state (a stale read).",
    patches: [
      {
        file: "src/server/loop/waiters.ts",
        find: "this.readsAwaitingApply.push({ index: rs.index, waiters: round.waiters });",
        replace:
          "this.readsAwaitingApply.push({ index: round.remote ? 0 : rs.index, waiters: round.waiters });",
      },
    ],
  },
  {
    name: "prevote-ignores-lease",
    description:
      "Pre-votes granted by a node that heard from a leader within the election timeout " +
      "(the lease only guards real votes): a node that was cut off wins a pre-vote, bumps " +
      "the term and deposes a healthy leader (a liveness bug under partial partitions).",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: '    if (m.type === "preVote" || m.type === "vote") {\n      // Leader lease',
        replace: '    if (m.type === "vote") {\n      // Leader lease',
      },
    ],
  },
  {
    name: "config-before-term-commit",
    description:
      "A new leader proposes a configuration change before its own no-op commits " +
      "(pendingConfigIndex not set on election): the 2015 single-server bug (Ongaro, " +
      "raft-dev), where a change on top of an earlier leader's uncommitted one lets two " +
      "configurations without a common quorum both decide.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "    this.pendingConfigIndex = this.#log.lastIndex();",
        replace: "    this.pendingConfigIndex = 0;",
      },
    ],
  },
  {
    name: "learner-in-quorum",
    description:
      "Learners count like voters: their match toward the commit index, and a candidate " +
      "asks them for votes and counts their grants (against the voters' majority).",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "const matches = this.replicator?.matches(this.voters) ?? [];",
        replace:
          "const matches = this.replicator?.matches(new Set([...this.voters, ...this.peers])) ?? [];",
      },
      {
        file: "src/raft/raft.ts",
        find: "    for (const peer of this.voters) {",
        replace: "    for (const peer of new Set([...this.voters, ...this.peers])) {",
      },
      {
        file: "src/raft/raft.ts",
        find: "      if (!this.voters.has(id)) continue;",
        replace: "      if (!this.voters.has(id) && !this.peers.includes(id)) continue;",
      },
    ],
  },
  {
    name: "removed-node-votes",
    description:
      "Removed members keep voting: their messages are not refused, a candidate still " +
      "asks them for votes and counts their grants (against the voters' majority), so a " +
      "removed node that has not heard of its removal can elect a second leader.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: "    if (this.membership.membership.removed.includes(m.from) && !this.isHandOver(m)) {",
        replace: "    if (this.isHandOver(m) && false) {",
      },
      {
        file: "src/raft/raft.ts",
        find: "    for (const peer of this.voters) {",
        replace:
          "    for (const peer of new Set([...this.voters, ...this.membership.membership.removed])) {",
      },
      {
        file: "src/raft/raft.ts",
        find: "      if (!this.voters.has(id)) continue;",
        replace:
          "      if (!this.voters.has(id) && !this.membership.membership.removed.includes(id)) continue;",
      },
    ],
  },
  {
    name: "transfer-two-leaders",
    description:
      "The target of a leadership transfer takes over without winning an election: on " +
      "TimeoutNow it moves to the next term and leads at once, while voters may elect " +
      "someone else in that term.",
    patches: [
      {
        file: "src/raft/raft.ts",
        find: '    this.startCampaign("vote", true);',
        replace: "    this.becomeCandidate();\n    this.becomeLeader();",
      },
    ],
  },
  // Storage plants: the LMDB write-behind, its flush and the WAL around it. Measured with
  // `npm run sim -- --store lmdb --plant NAME` (docs/testing.md#storage-plants).
  {
    name: "lmdb-flush-skips-pending",
    description:
      "The store's flushed() commits its meta record (whose applied index already covers " +
      "the write-behind generation) without writing that generation first: the applied " +
      "index is recorded before the batch, the WAL is compacted past it, and a crash " +
      "keeps an applied index whose writes never reached LMDB.",
    patches: [
      {
        file: "src/fsm/lmdb-store.ts",
        find: "  private async flushNow(): Promise<void> {\n    this.writePending();\n",
        replace: "  private async flushNow(): Promise<void> {\n",
      },
    ],
  },
  {
    name: "lmdb-lost-batch",
    description:
      "The write-behind starts its next generation before the transaction instead of " +
      "after it, so the transaction writes the new, empty generation with the applied " +
      "index: the batch's writes are lost (from memory at once, from LMDB for good).",
    patches: [
      {
        file: "src/fsm/lmdb-store.ts",
        find: "    const pending = this.pending;\n    if (pending.isEmpty) return;",
        replace:
          "    if (this.pending.isEmpty) return;\n" +
          "    this.pending = this.pending.next();\n" +
          "    const pending = this.pending;",
      },
    ],
  },
  {
    name: "lmdb-meta-lags-batch",
    description:
      "Each write-behind transaction records the previous transaction's applied index " +
      "with this batch's writes: a crash that keeps the last commit restarts from an " +
      "applied index behind the writes it holds, and the WAL replay applies that batch a " +
      "second time (versions bumped twice, a compare-and-set judged against its own write).",
    patches: [
      {
        file: "src/fsm/lmdb-store.ts",
        find: "        writeAuthChanges(this.db, auth);\n        this.putMeta();\n      });",
        replace:
          "        writeAuthChanges(this.db, auth);\n" +
          "        const held = this as unknown as { lagMeta?: StoreMeta };\n" +
          "        this.db.putSync(META_KEY, encodeMeta(held.lagMeta ?? this.meta));\n" +
          "        held.lagMeta = this.meta;\n" +
          "      });",
      },
    ],
  },
  {
    name: "compact-past-capture",
    description:
      "After a snapshot capture, the log is compacted up to the applied index as it is once " +
      "the capture's flush returned, not the index captured: entries applied during the " +
      "flush are compacted away although no durable snapshot or store holds them.",
    pin:
      "the loop handles one Ready at a time and awaits the capture before it applies " +
      "anything else, so the applied index after the flush is the one captured " +
      "(docs/testing.md#pins-not-bugs).",
    patches: [
      {
        file: "src/server/loop/snapshot-policy.ts",
        find: "await this.compact(Math.max(this.compactionPoint(policy, applied),",
        replace:
          "await this.compact(Math.max(this.compactionPoint(policy, this.d.fsm.appliedIndex),",
      },
    ],
  },
  {
    name: "recover-keeps-superseded-log",
    description:
      "At restart, a store holding a different entry at its applied index than the WAL " +
      "(a snapshot was installed, the crash came before the log was reset) keeps the WAL " +
      "anyway while it reaches that index: the node's log holds a superseded history under " +
      "a state machine from another, and it votes and acknowledges with it.",
    patches: [
      {
        file: "src/server/recover-log.ts",
        find: "  if (applied === 0 || termAt(wal, applied) === store.appliedTerm) {",
        replace:
          "  if (applied === 0 || termAt(wal, applied) === store.appliedTerm || termAt(wal, applied) !== undefined) {",
      },
    ],
  },
  {
    name: "wal-before-blob-sync",
    description:
      "The write path saves a chunk's stored form to the WAL before its blob's fdatasync " +
      "(crash rule 1 broken): a crash after the WAL write and before the sync leaves a " +
      "durable entry naming bytes its blob lost, torn or never got.",
    patches: [
      {
        file: "src/server/loop/blob-log-writer.ts",
        find: "      await this.d.blobs.sync([...blobs]);\n      crashPoint(BLOB_CRASH_POINTS.synced);\n    }\n    await this.d.wal.save(kept, hardState);",
        replace:
          "      await this.d.wal.save(kept, hardState);\n      await this.d.blobs.sync([...blobs]);\n      crashPoint(BLOB_CRASH_POINTS.synced);\n    } else await this.d.wal.save(kept, hardState);",
      },
    ],
  },
  {
    name: "blob-unlinked-while-referenced",
    description:
      "A dead blob is unlinked once the store that no longer names it is durable, without " +
      "waiting for the log to be compacted past its death (condition (b) skipped): chunk " +
      "entries the core and the WAL still hold name a blob that is gone, so a lagging " +
      "follower can no longer be sent them.",
    patches: [
      {
        file: "src/fsm/blob-space.ts",
        find: "if (d.index > this.durable || d.index > compacted) return false;",
        replace: "if (d.index > this.durable) return false;",
      },
    ],
  },
];

/** The plant named `name`; throws, listing the known names, if there is none. */
export function plantNamed(name) {
  const plant = PLANTS.find((p) => p.name === name);
  if (plant === undefined) {
    throw new Error(`no plant "${name}"; known: ${PLANTS.map((p) => p.name).join(", ")}`);
  }
  return plant;
}

/** How many times `find` occurs in `text` (non-overlapping). */
function occurrences(text, find) {
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + find.length)) count++;
  return count;
}

/**
 * Applies `plant`'s patches for `file` (a path relative to the repository root, with
 * forward slashes) to its source text. Throws if a find text does not occur exactly once.
 */
export function patchSource(plant, file, source) {
  let text = source;
  plant.patches.forEach((patch, i) => {
    if (patch.file !== file) return;
    const n = occurrences(text, patch.find);
    if (n !== 1) {
      throw new Error(
        `plant ${plant.name}: patch ${i + 1} find text occurs ${n} times in ${file} (must be exactly once); update test/sim/plants/registry.mjs`,
      );
    }
    text = text.replace(patch.find, () => patch.replace);
  });
  return text;
}
