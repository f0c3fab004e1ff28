/**
 * The node's state machine on disk (DESIGN.md "Stack": LMDB). Capacity is bounded by the
 * disk, not RAM; each batch of committed entries is applied in ONE LMDB transaction that
 * also records the applied index, so the store is always exactly "the log applied up to
 * appliedIndex" and a restart replays only the WAL after it. Each commit is one
 * fdatasync; its meta page becomes durable with the next commit (lmdb-env.ts,
 * "all-but-last"), so a system crash may take the store back by one commit, which the
 * WAL replays. {@link LmdbStore.flushed} makes everything committed durable, and the WAL
 * is only compacted up to what the store holds durably.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { RootDatabase } from "lmdb";
import type { SnapshotMeta } from "../raft/messages.ts";
import { type Entry, EntryKind } from "../raft/types.ts";
import { applyCommand, type RuleState } from "./apply-command.ts";
import { nextPrefix } from "./key-range.ts";
import type { KvBackend } from "./kv-backend.ts";
import { openEnvironment } from "./lmdb-env.ts";
import {
  CHUNK_PREFIX,
  chunkKey,
  decodeMeta,
  decodeSession,
  decodeUpload,
  decodeValue,
  encodeChunk,
  encodeMeta,
  encodeSession,
  encodeUpload,
  encodeValue,
  META_KEY,
  SESSION_PREFIX,
  type StoreMeta,
  UPLOAD_PREFIX,
  VALUE_PREFIX,
} from "./lmdb-records.ts";
import { LmdbView } from "./lmdb-view.ts";
import { SessionTable } from "./sessions.ts";
import { SnapshotReceiver } from "./snapshot-receiver.ts";
import { SnapshotSource } from "./snapshot-source.ts";
import { recoverStateDirs, stateDirs, swapInIncoming } from "./state-dirs.ts";
import type { ApplyResult, StateMachine, StateView, StoredValue } from "./state-machine.ts";

/** The live store's commits: every one replayable from the WAL (see lmdb-env.ts). */
const LIVE_STORE_DURABILITY = "all-but-last";

/** The on-disk {@link StateMachine} of a node. */
export class LmdbStore implements StateMachine {
  private meta: StoreMeta;
  private readonly state: RuleState;
  private receiving: SnapshotReceiver | null = null;
  /** The received snapshot was accepted by the core and must be installed before another. */
  private awaitingInstall = false;
  /** Serializes the start of transfers. */
  private receiveQueue: Promise<unknown> = Promise.resolve();
  /** Transfers started (names each one's directory). */
  private transfers = 0;

  private constructor(
    private readonly dataDir: string,
    private db: RootDatabase<Buffer, string>,
  ) {
    this.meta = readMeta(db);
    this.state = {
      sessions: new SessionTable(),
      clockMs: this.meta.clockMs,
      lastSweepMs: this.meta.lastSweepMs,
    };
    this.loadSessions();
  }

  /** Opens (creating if missing) the store of `dataDir`, finishing any interrupted install. */
  static async open(dataDir: string): Promise<LmdbStore> {
    await recoverStateDirs(dataDir);
    const dir = stateDirs(dataDir).live;
    await mkdir(dir, { recursive: true });
    return new LmdbStore(dataDir, openEnvironment(dir, LIVE_STORE_DURABILITY));
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
        lastSweepMs: this.state.lastSweepMs,
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

  openView(): StateView {
    return new LmdbView(this.db);
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
      hash.update(`${name.length}:${name}:${v.version}:${v.size}:`);
      hash.update(v.sha256);
    }
    const chunks = this.db.getKeysCount({ start: CHUNK_PREFIX, end: nextPrefix(CHUNK_PREFIX) });
    hash.update(`sessions:${this.state.sessions.size()}:chunks:${chunks}`);
    return hash.digest("hex");
  }

  /**
   * Resolves once every transaction committed so far is durable on disk: one more commit
   * (rewriting the meta record as it is) whose fdatasync carries the previous commit's
   * meta page to the disk; then any asynchronous write lmdb-js still flushes.
   */
  async flushed(): Promise<void> {
    this.db.transactionSync(() => this.db.putSync(META_KEY, encodeMeta(this.meta)));
    await this.db.flushed;
  }

  /** A consistent, streamable image of the store as it is now (for a follower). */
  openSnapshot(): SnapshotSource {
    return new SnapshotSource(this.db);
  }

  /**
   * Starts receiving a snapshot from the leader into a fresh `state.new.N/`, replacing
   * (and deleting) any earlier transfer still in progress. Calls are serialized, and each
   * transfer owns its directory, so two leaders sending at once never mix their records.
   * Nothing changes for readers until {@link installReceived}.
   */
  receiveSnapshot(meta: SnapshotMeta): Promise<SnapshotReceiver> {
    const next = this.receiveQueue.then(async () => {
      if (this.awaitingInstall) throw new Error("busy: a received snapshot is being installed");
      const previous = this.receiving;
      this.receiving = null;
      await previous?.abort();
      const dir = `${stateDirs(this.dataDir).incoming}.${++this.transfers}`;
      const receiver = await SnapshotReceiver.create(dir, meta);
      this.receiving = receiver;
      return receiver;
    });
    this.receiveQueue = next.catch(() => {});
    return next;
  }

  /**
   * A transfer finished and verified `receiver`: if it is still the current one, `offer`
   * hands its snapshot to the core; accepted, it waits for {@link installReceived};
   * declined (this node caught up meanwhile), it is dropped. A superseded transfer throws.
   */
  async completeReceived(receiver: object, offer: () => boolean): Promise<void> {
    const current = this.receiving;
    if (current === null || current !== receiver || !current.isComplete(current.meta)) {
      throw new Error("snapshot transfer superseded by a newer one");
    }
    if (offer()) {
      this.awaitingInstall = true;
      return;
    }
    this.receiving = null;
    await current.abort();
  }

  /**
   * Makes the completely received, verified snapshot at `meta` the live store (the core
   * accepted it). Durable when it resolves.
   */
  async installReceived(meta: SnapshotMeta): Promise<void> {
    const receiver = this.receiving;
    if (receiver === null || !this.awaitingInstall || !receiver.isComplete(meta)) {
      throw new Error(`snapshot ${meta.index}@${meta.term} to install was not received`);
    }
    this.receiving = null;
    this.awaitingInstall = false;
    await this.db.close();
    await swapInIncoming(this.dataDir, receiver.dir);
    this.db = openEnvironment(stateDirs(this.dataDir).live, LIVE_STORE_DURABILITY);
    this.reloadFromDisk();
  }

  private reloadFromDisk(): void {
    this.meta = readMeta(this.db);
    this.state.clockMs = this.meta.clockMs;
    this.state.lastSweepMs = this.meta.lastSweepMs;
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
    putChunk: (id, seq, data) => {
      const k = chunkKey(id, seq);
      this.db.putSync(k, encodeChunk(k, data));
    },
    deleteChunks: (id, count) => {
      for (let seq = 0; seq < count; seq++) this.db.removeSync(chunkKey(id, seq));
    },
    getUpload: (id) => {
      const k = UPLOAD_PREFIX + id;
      const raw = this.db.get(k);
      return raw === undefined ? undefined : decodeUpload(k, raw);
    },
    setUpload: (id, state) => {
      const k = UPLOAD_PREFIX + id;
      if (state === null) this.db.removeSync(k);
      else this.db.putSync(k, encodeUpload(k, state));
    },
    uploads: () =>
      [...this.db.getRange({ start: UPLOAD_PREFIX, end: nextPrefix(UPLOAD_PREFIX) })].map(
        ({ key, value }) => [key.slice(UPLOAD_PREFIX.length), decodeUpload(key, value)] as const,
      ),
    keysUnder: (prefix) => {
      const keys = this.get(prefix) === undefined ? [] : [prefix];
      const start = `${VALUE_PREFIX}${prefix}/`;
      for (const key of this.db.getKeys({ start, end: nextPrefix(start) }))
        keys.push(key.slice(VALUE_PREFIX.length));
      return keys;
    },
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
  if (raw === undefined)
    return { applied: 0, appliedTerm: 0, clockMs: 0, sessionWrites: 0, lastSweepMs: 0 };
  return decodeMeta(raw);
}
