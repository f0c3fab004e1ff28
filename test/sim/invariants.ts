/**
 * Raft's safety properties (paper Figure 3), checked against the live simulated cluster
 * after every event: election safety, log matching, leader completeness, state-machine
 * safety, no committed entry lost, applied index never going back.
 */
import {
  type ActiveMembership,
  decodeMembership,
  type Entry,
  EntryKind,
  encodeMembership,
  type Membership,
  type RawNode,
  voterIds,
  votersOnly,
} from "../../src/raft/index.ts";
import { payloadIdentity } from "./entry-identity.ts";
import type { SimNode } from "./sim-node.ts";

/** A broken safety property; the message says which and where. */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

function fail(message: string): never {
  throw new InvariantViolation(message);
}

const described = new WeakMap<Entry, string>();

function describe(e: Entry): string {
  let d = described.get(e);
  if (d === undefined) {
    // A chunk entry's full and stored forms are one entry (entry-identity.ts).
    d = `${e.term}:${e.kind}:${payloadIdentity(e.kind, e.data)}`;
    described.set(e, d);
  }
  return d;
}

/** Keeps the cluster-wide facts the properties are checked against. */
export class InvariantChecker {
  /** term → the one node that led it. */
  private readonly leaders = new Map<number, number>();
  /** index → the entry committed there (term:kind:data), as first observed. */
  private readonly committed = new Map<number, string>();
  private maxCommitted = 0;
  /** index → what the first node to apply it applied. */
  private readonly applied = new Map<number, string>();
  /** node → last applied index in its current incarnation. */
  private readonly lastApplied = new Map<number, number>();
  /** node → highest commit index already recorded for it (reset on restart). */
  private readonly checkedCommit = new Map<number, number>();
  private readonly leaderChecked = new Set<string>();
  /** "index:term" → "entry|term of the entry before it", as first seen in any log. */
  private readonly entryFacts = new Map<string, string>();
  /** Per node: the Entry objects already checked in its log (entries are immutable, shared). */
  private readonly checkedEntries = new Map<number, WeakSet<Entry>>();
  /** Sum of the disks' shrink counters when durability was last checked. */
  private seenShrinks = -1;
  /**
   * Every configuration committed so far, in log order; the first is the bootstrap one
   * (index 0). A configuration entry is recorded when any node first commits it.
   */
  private readonly configs: ActiveMembership[];
  /** Canonical bytes of each configuration above, by index. */
  private readonly configBytes = new Map<number, string>();
  /** node → index of the configuration it had in force at the last check (this incarnation). */
  private readonly activeConfig = new Map<number, number>();
  /** "id@term" of a leader → configuration entries it holds past the commit point, as scanned. */
  private readonly leaderConfigScan = new Map<string, { scanned: number; configs: number[] }>();

  constructor(
    private readonly nodes: readonly SimNode[],
    bootstrapVoters: readonly number[] = nodes.map((n) => n.id),
  ) {
    const boot = votersOnly(bootstrapVoters);
    this.configs = [{ index: 0, membership: boot }];
    this.configBytes.set(0, key(boot));
  }

  /** The newest committed configuration. */
  latestConfig(): ActiveMembership {
    return this.configs[this.configs.length - 1] as ActiveMembership;
  }

  /** The committed configuration in force at `index` (the newest at or before it). */
  configAt(index: number): ActiveMembership {
    let found = this.configs[0] as ActiveMembership;
    for (const c of this.configs) if (c.index <= index) found = c;
    return found;
  }

  /** Called by the state-machine wrapper for every applied entry. */
  onApply(node: number, index: number, what: string): void {
    const last = this.lastApplied.get(node) ?? 0;
    if (index <= last) fail(`applied index went back on node ${node}: ${index} after ${last}`);
    this.lastApplied.set(node, index);
    const first = this.applied.get(index);
    if (first === undefined) this.applied.set(index, what);
    else if (first !== what)
      fail(`state-machine safety: node ${node} applied a different entry at index ${index}`);
  }

  /** A node restarted: its applied index and commit tracking start over (the FSM is rebuilt). */
  onRestart(node: number): void {
    this.lastApplied.set(node, 0);
    this.checkedCommit.set(node, 0);
    this.activeConfig.delete(node);
  }

  /**
   * Checks every property after each event. Log matching is checked incrementally (each
   * new entry once, see checkNewEntries); committed-entry durability whenever some disk
   * lost entries (a truncation or a replaced log), the only events that can break it.
   */
  afterEvent(): void {
    for (const n of this.nodes) {
      const inc = n.current;
      if (inc === null || !inc.alive) continue;
      this.checkLeader(n.id, inc.node.status().role, inc.node.status().term);
      this.recordCommits(n);
      this.checkNewEntries(n);
      this.checkActiveConfig(n.id, inc.node);
      this.checkOneUncommittedChange(n.id, inc.node);
    }
    const shrinks = this.nodes.reduce((sum, n) => sum + n.disk.shrinks, 0);
    if (shrinks !== this.seenShrinks) {
      this.seenShrinks = shrinks;
      this.checkCommittedSurvive();
    }
  }

  /** The full set again from scratch (end of a run): pairwise log matching and durability. */
  checkExpensive(): void {
    this.checkLogMatching();
    this.checkCommittedSurvive();
  }

  /**
   * Incremental log matching: every (index, term) must carry one entry with one predecessor
   * term in every log. By induction that makes two logs that share an (index, term)
   * identical up to it. Walks each log back from its tail to the first entry already
   * checked, so each entry is checked once per log.
   */
  private checkNewEntries(n: SimNode): void {
    const log = logOf(n.current?.node);
    if (log === undefined) return;
    let seen = this.checkedEntries.get(n.id);
    if (seen === undefined) {
      seen = new WeakSet();
      this.checkedEntries.set(n.id, seen);
    }
    const floor = log.compactedTo().index;
    for (let i = log.lastIndex(); i > floor; i--) {
      const entry = log.entryAt(i) as Entry;
      if (seen.has(entry)) break;
      seen.add(entry);
      const key = `${i}:${entry.term}`;
      const fact = `${describe(entry)}|${log.termAt(i - 1) ?? "?"}`;
      const known = this.entryFacts.get(key);
      if (known === undefined) this.entryFacts.set(key, fact);
      else if (known !== fact && !known.endsWith("|?") && !fact.endsWith("|?")) {
        fail(
          `log matching: node ${n.id} holds a different entry (or predecessor) at index ${i} term ${entry.term}`,
        );
      }
    }
  }

  private checkLeader(id: number, role: string, term: number): void {
    if (role !== "leader") return;
    const known = this.leaders.get(term);
    if (known === undefined) this.leaders.set(term, id);
    else if (known !== id) fail(`election safety: nodes ${known} and ${id} both lead term ${term}`);
    const key = `${id}@${term}`;
    if (this.leaderChecked.has(key)) return;
    this.leaderChecked.add(key);
    this.checkLeaderCompleteness(id);
  }

  private checkLeaderCompleteness(id: number): void {
    const log = logOf(this.nodes.find((n) => n.id === id)?.current?.node);
    if (log === undefined) return;
    const compacted = log.compactedTo().index;
    for (let i = compacted + 1; i <= this.maxCommitted; i++) {
      const want = this.committed.get(i);
      const entry = log.entryAt(i);
      if (want !== undefined && (entry === undefined || describe(entry) !== want)) {
        fail(`leader completeness: new leader ${id} lacks committed entry ${i}`);
      }
    }
  }

  private recordCommits(n: SimNode): void {
    const log = logOf(n.current?.node);
    if (log === undefined) return;
    const from = Math.max((this.checkedCommit.get(n.id) ?? 0) + 1, log.compactedTo().index + 1);
    for (let i = from; i <= log.committed; i++) {
      const entry = log.entryAt(i);
      if (entry === undefined)
        fail(`node ${n.id} claims commit ${log.committed} but lacks entry ${i}`);
      const seen = this.committed.get(i);
      const mine = describe(entry);
      if (seen === undefined && entry.kind === EntryKind.Config) this.recordConfig(i, entry);
      if (seen === undefined) this.committed.set(i, mine);
      else if (seen !== mine) fail(`two different entries committed at index ${i} (node ${n.id})`);
    }
    this.checkedCommit.set(n.id, Math.max(from - 1, log.committed));
    if (log.committed > this.maxCommitted) this.maxCommitted = log.committed;
  }

  /** Log matching: where two logs agree on an entry's term, they agree on every earlier entry. */
  private checkLogMatching(): void {
    const logs = this.nodes.map((n) => ({
      id: n.id,
      entries: n.current?.alive ? (logOf(n.current.node) ?? null) : null,
    }));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const la = logs[a]?.entries;
        const lb = logs[b]?.entries;
        if (!la || !lb) continue;
        let i = Math.min(la.lastIndex(), lb.lastIndex());
        while (i > 0 && la.termAt(i) !== lb.termAt(i)) i--;
        for (; i > 0; i--) {
          const ea = la.entryAt(i);
          const eb = lb.entryAt(i);
          if (ea && eb && ea !== eb && describe(ea) !== describe(eb)) {
            fail(
              `log matching: nodes ${logs[a]?.id} and ${logs[b]?.id} differ at index ${i} below a common entry`,
            );
          }
        }
      }
    }
  }

  /** A configuration entry committed at `index`: it joins the committed ones, in log order. */
  private recordConfig(index: number, entry: Entry): void {
    const membership = decodeMembership(entry.data);
    if (membership === null) fail(`a malformed configuration entry committed at ${index}`);
    const last = this.latestConfig();
    if (index < last.index) {
      // Entries may be first seen committed out of order only across nodes that compacted
      // differently; keep the list sorted.
      this.configs.push({ index, membership });
      this.configs.sort((a, b) => a.index - b.index);
    } else this.configs.push({ index, membership });
    this.configBytes.set(index, key(membership));
  }

  /**
   * Every node's configuration in force is a committed one — the newest committed at or
   * before the index it names (a snapshot or a restart names its own index) — and within
   * one incarnation it only moves forward in the log.
   */
  private checkActiveConfig(id: number, node: RawNode): void {
    const active = node.status().membership;
    const before = this.activeConfig.get(id) ?? 0;
    if (active.index < before) {
      fail(`node ${id}'s configuration went back in the log: from ${before} to ${active.index}`);
    }
    this.activeConfig.set(id, active.index);
    const mine = key(active.membership);
    if (active.membership.members.length === 0) return; // a new node that has heard nothing yet
    const committed = this.configAt(active.index);
    if (this.configBytes.get(committed.index) !== mine) {
      fail(
        `node ${id} has a configuration in force (at ${active.index}) that is not the committed one there (${committed.index}): ${mine}`,
      );
    }
  }

  /**
   * A leader holds at most one configuration entry it cannot yet know committed: it
   * proposes none until its own first entry commits (which commits any earlier leader's),
   * and none while its last is pending.
   */
  private checkOneUncommittedChange(id: number, node: RawNode): void {
    const s = node.status();
    if (s.role !== "leader") return;
    const k = `${id}@${s.term}`;
    let scan = this.leaderConfigScan.get(k);
    if (scan === undefined) {
      scan = { scanned: Math.max(s.commit, s.compacted.index), configs: [] };
      this.leaderConfigScan.set(k, scan);
    }
    for (let i = scan.scanned + 1; i <= s.lastIndex; i++) {
      if (node.entryAt(i)?.kind === EntryKind.Config) scan.configs.push(i);
    }
    scan.scanned = Math.max(scan.scanned, s.lastIndex);
    scan.configs = scan.configs.filter((i) => i > s.commit);
    if (scan.configs.length > 1) {
      fail(
        `leader ${id} of term ${s.term} holds ${scan.configs.length} uncommitted configuration entries (${scan.configs.join(", ")})`,
      );
    }
  }

  /**
   * Every committed entry is on enough disks that no crash pattern can lose it: on at
   * least n - q + 1 of the n voters of the newest committed configuration (q its quorum),
   * so every quorum that can elect a leader holds it. With a fixed membership that is a
   * majority of all nodes. (Single-server changes keep this true across a change: an
   * entry committed by a quorum of the old voters meets every quorum of the new ones.)
   */
  checkCommittedSurvive(): void {
    const voters = new Set(voterIds(this.latestConfig().membership));
    const needed = voters.size - (Math.floor(voters.size / 2) + 1) + 1;
    for (let i = 1; i <= this.maxCommitted; i++) {
      const want = this.committed.get(i);
      if (want === undefined) continue;
      let holders = 0;
      for (const n of this.nodes) {
        if (!voters.has(n.id)) continue;
        // A snapshot that covers the index holds it too (its image includes its effects).
        if ((n.disk.snapshot?.meta.index ?? 0) >= i) {
          holders++;
          continue;
        }
        const e = n.disk.entryAt(i);
        if (e !== undefined && describe(e) === want) holders++;
      }
      if (holders < needed)
        fail(
          `committed entry ${i} is durable on only ${holders} of the ${voters.size} voters' disks (needs ${needed})`,
        );
    }
  }

  /** Terms in which some node led, for liveness checks. */
  leaderTerms(): number[] {
    return [...this.leaders.keys()];
  }
}

/** A node's log as the checks read it, through RawNode's public queries (undefined: no node). */
function logOf(node: RawNode | undefined) {
  if (node === undefined) return undefined;
  const status = node.status();
  return {
    committed: status.commit,
    compactedTo: () => status.compacted,
    lastIndex: () => status.lastIndex,
    entryAt: (index: number) => node.entryAt(index),
    termAt: (index: number) => node.termAt(index),
  };
}

/** Canonical text of a configuration, to compare two. */
function key(m: Membership): string {
  return Buffer.from(encodeMembership(m)).toString("latin1");
}
