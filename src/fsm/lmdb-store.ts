/**
 * The node's state machine on disk (DESIGN.md "Stack": LMDB). Capacity is bounded by the
 * disk, not RAM; each batch of committed entries is applied in ONE LMDB transaction that
 * also records the applied index, so the store is always exactly "the log applied up to
 * appliedIndex" and a restart replays only the WAL after it. LMDB commits become durable
 * slightly later than they return (overlapping sync): {@link LmdbStore.flushed} says when,
 * and the WAL is only compacted up to what has been flushed.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { RootDatabase } from "lmdb";
import type { SnapshotMeta } from "../raft/messages.ts";
import { type Entry, EntryKind } from "../raft/types.ts";
import { applyCommand, type KvBackend, type RuleState } from "./apply-command.ts";
import { openEnvironment } from "./lmdb-env.ts";
import {
  decodeMeta,
  decodeSession,
  decodeValue,
  encodeMeta,
  encodeSession,
  encodeValue,
  META_KEY,
  SESSION_PREFIX,
  type StoreMeta,
  VALUE_PREFIX,
} from "./lmdb-records.ts";
import { SessionTable } from "./sessions.ts";
import { SnapshotReceiver } from "./snapshot-receiver.ts";
import { SnapshotSource } from "./snapshot-source.ts";
import { recoverStateDirs, stateDirs, swapInIncoming } from "./state-dirs.ts";
import type { ApplyResult, StateMachine, StoredValue } from "./state-machine.ts";

/** The on-disk {@link StateMachine} of a node. */
export class LmdbStore implements StateMachine {
  private meta: StoreMeta;
  private readonly state: RuleState;
  private receiving: SnapshotReceiver | null = null;
  /** The received snapshot was accepted by the core and must be installed before another. */
  private awaitingInstall = false;

  private constructor(
    private readonly dataDir: string,
    private db: RootDatabase<Buffer, string>,
  ) {
    this.meta = readMeta(db);
    this.state = { sessions: new SessionTable(), clockMs: this.meta.clockMs };
    this.loadSessions();
  }

  /** Opens (creating if missing) the store of `dataDir`, finishing any interrupted install. */
  static async open(dataDir: string): Promise<LmdbStore> {
    await recoverStateDirs(dataDir);
    const dir = stateDirs(dataDir).live;
    await mkdir(dir, { recursive: true });
    return new LmdbStore(dataDir, openEnvironment(dir));
  }

  get appliedIndex(): number {
    return this.meta.applied;
  }

  /** Term of the entry at {@link appliedIndex} (0 for an empty store). */
  get appliedTerm(): number {
    return this.meta.appliedTerm;
  }

  applyEntries(entries: readonly Entry[]): ApplyResult[] {
    const last = entries.at(-1);
    if (last === undefined) return [];
    entries.forEach((entry, i) => {
      if (entry.index !== this.meta.applied + 1 + i)
        throw new Error(`fsm: entry ${entry.index} applied after ${this.meta.applied + i}`);
    });
    try {
      return this.applyInTransaction(entries, last);
    } catch (error) {
      // The transaction rolled back (e.g. a full disk); the rules' in-memory state
      // (sessions, clock) may have moved on inside it: reload it so a retry is exact.
      this.reloadFromDisk();
      throw error;
    }
  }

  private applyInTransaction(entries: readonly Entry[], last: Entry): ApplyResult[] {
    return this.db.transactionSync(() => {
      const results = entries.map((entry) => this.applyOne(entry));
      this.persistSessions();
      this.meta = {
        applied: last.index,
        appliedTerm: last.term,
        clockMs: this.state.clockMs,
        sessionWrites: this.state.sessions.writeCount,
      };
      this.db.putSync(META_KEY, encodeMeta(this.meta));
      return results;
    });
  }

  get(key: string): StoredValue | undefined {
    const k = VALUE_PREFIX + key;
    const raw = this.db.get(k);
    return raw === undefined ? undefined : decodeValue(k, raw);
  }

  size(): number {
    return this.db.getKeysCount({ start: VALUE_PREFIX, end: nextPrefix(VALUE_PREFIX) });
  }

  digest(): string {
    const hash = createHash("sha256");
    const range = this.db.getRange({ start: VALUE_PREFIX, end: nextPrefix(VALUE_PREFIX) });
    for (const { key, value } of range) {
      const name = key.slice(VALUE_PREFIX.length);
      const v = decodeValue(key, value);
      hash.update(`${name.length}:${name}:${v.version}:${v.value.byteLength}:`);
      hash.update(v.value);
    }
    hash.update(`sessions:${this.state.sessions.size()}`);
    return hash.digest("hex");
  }

  /** Resolves once every transaction committed so far is durable on disk. */
  async flushed(): Promise<void> {
    await this.db.flushed;
  }

  /** A consistent, streamable image of the store as it is now (for a follower). */
  openSnapshot(): SnapshotSource {
    return new SnapshotSource(this.db);
  }

  /**
   * Starts receiving a snapshot from the leader into `state.new/` (replacing any earlier
   * partial one). Nothing changes for readers until {@link installReceived}.
   */
  async receiveSnapshot(meta: SnapshotMeta): Promise<SnapshotReceiver> {
    if (this.awaitingInstall) throw new Error("busy: a received snapshot is being installed");
    await this.receiving?.abort();
    const receiver = await SnapshotReceiver.create(stateDirs(this.dataDir).incoming, meta);
    this.receiving = receiver;
    return receiver;
  }

  /**
   * The core's answer to a completely received snapshot: accepted ones wait for
   * {@link installReceived}; others (the node caught up meanwhile) are dropped.
   */
  async settleReceived(accepted: boolean): Promise<void> {
    if (accepted) this.awaitingInstall = true;
    else {
      await this.receiving?.abort();
      this.receiving = null;
    }
  }

  /**
   * Makes the completely received, verified snapshot at `meta` the live store (the core
   * accepted it). Durable when it resolves.
   */
  async installReceived(meta: SnapshotMeta): Promise<void> {
    const receiver = this.receiving;
    if (receiver === null || !receiver.isComplete(meta)) {
      throw new Error(`snapshot ${meta.index}@${meta.term} to install was not received`);
    }
    this.receiving = null;
    this.awaitingInstall = false;
    await this.db.close();
    await swapInIncoming(this.dataDir);
    this.db = openEnvironment(stateDirs(this.dataDir).live);
    this.reloadFromDisk();
  }

  private reloadFromDisk(): void {
    this.meta = readMeta(this.db);
    this.state.clockMs = this.meta.clockMs;
    this.loadSessions();
  }

  /** Closes the store; committed transactions are flushed first. */
  async close(): Promise<void> {
    await this.receiving?.abort();
    await this.db.close();
  }

  private applyOne(entry: Entry): ApplyResult {
    if (entry.kind !== EntryKind.Normal) return { kind: "noop" };
    return applyCommand(this.backend, this.state, entry.index, entry.data);
  }

  private readonly backend: KvBackend = {
    getValue: (key) => this.get(key),
    setValue: (key, value) => {
      const k = VALUE_PREFIX + key;
      this.db.putSync(k, encodeValue(k, value));
    },
    deleteValue: (key) => this.db.removeSync(VALUE_PREFIX + key),
  };

  private persistSessions(): void {
    for (const { id, image } of this.state.sessions.takeChanges()) {
      const k = SESSION_PREFIX + id;
      if (image === null) this.db.removeSync(k);
      else this.db.putSync(k, encodeSession(k, image));
    }
  }

  private loadSessions(): void {
    const range = this.db.getRange({ start: SESSION_PREFIX, end: nextPrefix(SESSION_PREFIX) });
    const clients = [...range].map(({ key, value }) => decodeSession(key, value));
    this.state.sessions.load(this.meta.sessionWrites, clients);
  }
}

function readMeta(db: RootDatabase<Buffer, string>): StoreMeta {
  const raw = db.get(META_KEY);
  if (raw === undefined) return { applied: 0, appliedTerm: 0, clockMs: 0, sessionWrites: 0 };
  return decodeMeta(raw);
}

/** The smallest string greater than every string starting with `prefix`. */
function nextPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
