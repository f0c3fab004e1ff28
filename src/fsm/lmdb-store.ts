/**
 * The node's state machine on disk, LMDB (docs/architecture.md#the-state-store): bounded by the
 * disk, not RAM. Committed entries are applied into memory first (pending-writes.ts) and
 * written behind to LMDB many batches at a time, in ONE transaction that also records the
 * applied index — so LMDB always holds exactly "the log applied up to its applied index",
 * and a restart replays the WAL after it. An entry is durable before it is applied (it is
 * in the WAL of a majority), so the store's own fdatasync is off the path of every write:
 * one per write-behind, not one per batch. Each such commit's meta page becomes durable
 * with the next commit (lmdb-env.ts, "all-but-last"). {@link LmdbStore.flushed} makes
 * everything applied durable, and the WAL is only compacted up to what the store holds
 * durably.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { RootDatabase } from "lmdb";
import type { Membership, SnapshotMeta } from "../raft/index.ts";
import { decodeMembership, type Entry, EntryKind } from "../raft/index.ts";
import { type BlobIo, FileBlobIo, mkdirDurable } from "../storage/index.ts";
import { applyCommand, type RuleState } from "./apply-command.ts";
import { readAuth, writeAuthChanges } from "./auth-records.ts";
import { AuthState, type AuthView } from "./auth-state.ts";
import {
  checkBlobs,
  countChunkRecords,
  migrateChunkRecords,
  readDeadBlobs,
  unreferencedBlobs,
} from "./blob-check.ts";
import {
  blobChunkKey,
  DEAD_BLOB_PREFIX,
  encodeChunkFacts,
  encodeDeadBlob,
} from "./blob-records.ts";
import { BlobSpace } from "./blob-space.ts";
import {
  copyRecords,
  type DefragHost,
  type DefragReport,
  type DefragStep,
  DirtyRecords,
  defragCrashPoint,
  defragStore,
  EnvReaders,
  trackWrites,
} from "./defrag.ts";
import { compareKeys, nextPrefix } from "./key-range.ts";
import { type KvBackend, metadataText } from "./kv-backend.ts";
import { checkLmdbFile } from "./lmdb-check.ts";
import { openEnvironment, storeFile } from "./lmdb-env.ts";
import {
  decodeMembershipRecord,
  decodeMeta,
  decodeSession,
  decodeUpload,
  decodeValue,
  encodeMembershipRecord,
  encodeMeta,
  encodeSession,
  encodeUpload,
  encodeValue,
  MEMBERSHIP_KEY,
  META_KEY,
  SESSION_PREFIX,
  type StoreMeta,
  UPLOAD_PREFIX,
  VALUE_PREFIX,
} from "./lmdb-records.ts";
import { LmdbView } from "./lmdb-view.ts";
import {
  DEFAULT_WRITE_BEHIND,
  mergeKeys,
  PendingWrites,
  type WriteBehindLimits,
} from "./pending-writes.ts";
import { SessionTable } from "./sessions.ts";
import { SnapshotReceiver } from "./snapshot-receiver.ts";
import { SnapshotSource } from "./snapshot-source.ts";
import { recoverStateDirs, stateDirs, swapInIncoming } from "./state-dirs.ts";
import type {
  ApplyResult,
  StateMachine,
  StateView,
  StoredValue,
  UploadState,
} from "./state-machine.ts";

/** The live store's commits: every one replayable from the WAL (see lmdb-env.ts). */
const LIVE_STORE_DURABILITY = "all-but-last";

/** The on-disk {@link StateMachine} of a node. */
export class LmdbStore implements StateMachine {
  private meta: StoreMeta;
  /** The configuration in force at the applied index (null: no configuration entry yet). */
  private config: Membership | null;
  /** {@link config} changed since LMDB last recorded it. */
  private configDirty = false;
  private readonly state: RuleState;
  private receiving: SnapshotReceiver | null = null;
  /** The received snapshot was accepted by the core and must be installed before another. */
  private awaitingInstall = false;
  /** Serializes the start of transfers. */
  private receiveQueue: Promise<unknown> = Promise.resolve();
  /** Transfers started (names each one's directory). */
  private transfers = 0;
  /** Applied but not yet written to LMDB (see pending-writes.ts). */
  private pending: PendingWrites;
  /** A received snapshot is replacing the environment: no write-behind meanwhile. */
  private installing = false;
  /** Set when applying failed part-way over pending writes: nothing more is applied. */
  private broken: StoreBrokenError | null = null;
  /**
   * Test seam, null in production: called right after each write-behind transaction
   * commits, with the applied index LMDB now holds. The simulator (test/sim/sim-lmdb.ts)
   * uses it to crash a node exactly between "the batch committed" and "it was flushed";
   * it must not call back into the store.
   */
  afterCommit: ((applied: number) => void) | null = null;
  /**
   * Test seam, null in production: called after each step of a defrag (defrag.ts), so a
   * test can copy the data dir there as a crash would leave it. It must not call back
   * into the store.
   */
  afterDefragStep: ((step: DefragStep) => void) | null = null;
  /** Keys written to LMDB since a defrag started copying (null: no defrag). */
  private dirty: DirtyRecords | null = null;
  /** Stops recording {@link dirty}. */
  private untrack: () => void = () => {};
  /** The defrag running, if any (one at a time). */
  private defragging: Promise<DefragReport> | null = null;
  /** Set to stop a running defrag before its switch (closing, installing a snapshot). */
  private defragAborted = false;
  /** Pending while a defrag's switched-to copy is not yet durably in place: flushes wait. */
  private swapping: Promise<void> | null = null;
  /** Defrags started (names each one's directory). */
  private defrags = 0;
  /** Views and snapshot sources per environment (an old one closes when they are done). */
  private readonly readers = new EnvReaders();
  /** Environments a defrag took out of use, closed once their readers are done. */
  private readonly retired = new Set<RootDatabase<Buffer, string>>();
  /** Dead blobs, pins and stream holds: when a blob's file may go (blob-space.ts). */
  readonly space: BlobSpace;

  private constructor(
    private readonly dataDir: string,
    private db: RootDatabase<Buffer, string>,
    writeBehind: WriteBehindLimits,
    /** Times the pending generation's age (ms; injectable for tests). */
    private readonly now: () => number,
    /** The node's upload blobs (`<data-dir>/blobs/`, beside state/). */
    readonly blobs: BlobIo,
  ) {
    this.space = new BlobSpace(blobs, now);
    this.space.load(readDeadBlobs(db));
    this.pending = new PendingWrites(writeBehind);
    this.meta = readMeta(db);
    this.config = readMembership(db);
    this.state = {
      sessions: new SessionTable(),
      auth: new AuthState(),
      clockMs: this.meta.clockMs,
      lastSweepMs: this.meta.lastSweepMs,
    };
    this.loadSessions();
    this.state.auth.loadImage(readAuth(db));
  }

  /**
   * Opens (creating if missing) the store of `dataDir`, finishing any interrupted install.
   * `writeBehind` changes when applied writes go to LMDB and `now` the clock that ages
   * them (tests use small limits and a clock of their own).
   */
  static async open(
    dataDir: string,
    writeBehind: WriteBehindLimits = DEFAULT_WRITE_BEHIND,
    now: () => number = () => performance.now(),
    blobs: BlobIo = new FileBlobIo(blobDir(dataDir)),
  ): Promise<LmdbStore> {
    await recoverStateDirs(dataDir);
    const dir = stateDirs(dataDir).live;
    await mkdirDurable(dir);
    await checkLmdbFile(storeFile(dir));
    const db = openEnvironment(dir, LIVE_STORE_DURABILITY);
    try {
      await migrateChunkRecords(db, blobs);
    } catch (error) {
      await db.close();
      throw error;
    }
    return new LmdbStore(dataDir, db, writeBehind, now, blobs);
  }

  /**
   * The start-up check of the blob store (blob-check.ts): removes orphan blobs (named by
   * no value, upload, dead record, nor by a chunk entry of the log in `logUploads`) and
   * throws StartupError "corrupt" naming a blob that a value or upload needs but that is
   * missing or short. Returns the orphans removed.
   */
  async checkBlobs(logUploads: ReadonlySet<string>): Promise<string[]> {
    this.writePending();
    return await checkBlobs(this.db, this.blobs, logUploads, `${blobDir(this.dataDir)}/`);
  }

  /**
   * Unlinks the dead blobs that may go now that the log is durably compacted to
   * `compacted` (blob-space.ts rules a-d), and forgets their records. Returns their ids.
   */
  async reapBlobs(compacted: number): Promise<string[]> {
    const gone = await this.space.reap(compacted);
    if (gone.length > 0)
      this.db.transactionSync(() => {
        for (const id of gone) this.db.removeSync(DEAD_BLOB_PREFIX + id);
      });
    return gone;
  }

  /** Applied entries not yet written to LMDB: the write-behind backlog (metrics). */
  get writeBehindEntries(): number {
    return this.pending.entries;
  }

  /** The LMDB data file of the live store (its size is a metric). */
  get storePath(): string {
    return storeFile(stateDirs(this.dataDir).live);
  }

  get appliedIndex(): number {
    return this.meta.applied;
  }

  /**
   * The configuration in force at {@link appliedIndex}: the last configuration entry
   * applied (or the one an installed snapshot carried); null before any.
   */
  get membership(): Membership | null {
    return this.config;
  }

  get auth(): AuthView {
    return this.state.auth;
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
    if (this.broken !== null) throw this.broken;
    // Disk writes come first: if one fails (a full disk) nothing was applied, so the
    // caller's retry of the same entries is exact.
    if (this.pending.isDue(this.now())) this.writePending();
    if (this.pending.readers > 0) this.startNewGeneration();
    const rollbackIsExact = this.pending.isEmpty;
    try {
      const results = entries.map((entry) => this.applyOne(entry));
      this.meta = {
        applied: last.index,
        appliedTerm: last.term,
        clockMs: this.state.clockMs,
        sessionWrites: this.state.sessions.writeCount,
        lastSweepMs: this.state.lastSweepMs,
      };
      this.pending.noteApplied(entries.length, this.now());
      if (this.pending.isFull) this.tryWritePending();
      return results;
    } catch (error) {
      // Half-applied. If LMDB held everything before this batch, going back to it undoes
      // exactly this batch. Otherwise it would also undo batches already answered: the
      // store refuses to go on instead (a restart replays the WAL after LMDB's index).
      if (rollbackIsExact) {
        this.reloadFromDisk();
        throw error;
      }
      this.broken = new StoreBrokenError(entries[0]?.index ?? 0, error);
      throw this.broken;
    }
  }

  writeBehindIfDue(): void {
    if (this.installing || this.broken !== null) return;
    if (this.pending.isDue(this.now())) this.tryWritePending();
  }

  /**
   * Writes the pending generation if it can (a full generation as soon as it is applied;
   * before a snapshot image is opened). If that fails, the entries stay applied and
   * pending: the next {@link applyEntries} or {@link flushed} writes them first and reports
   * the failure there, before applying or compacting anything.
   */
  private tryWritePending(): void {
    try {
      this.writePending();
    } catch {
      // Retried by the next applyEntries.
    }
  }

  /**
   * Writes the pending generation to LMDB in one transaction with the applied index and
   * the changed sessions (one fdatasync), and starts an empty one. On failure (a full
   * disk) the transaction rolled back and the pending generation stays as it was.
   */
  private writePending(): void {
    // A broken store's pending writes may hold half a batch: they never reach the disk.
    if (this.broken !== null) throw this.broken;
    const pending = this.pending;
    if (pending.isEmpty) return;
    const sessions = this.state.sessions.takeChanges();
    const auth = this.state.auth.takeChanges();
    try {
      this.db.transactionSync(() => {
        for (const [k, v] of pending.values)
          v === null ? this.db.removeSync(k) : this.db.putSync(k, encodeValue(k, v));
        for (const [k, facts] of pending.chunks)
          facts === null ? this.db.removeSync(k) : this.db.putSync(k, encodeChunkFacts(k, facts));
        for (const [k, dead] of pending.dead)
          dead === null ? this.db.removeSync(k) : this.db.putSync(k, encodeDeadBlob(k, dead));
        for (const [k, u] of pending.uploads)
          u === null ? this.db.removeSync(k) : this.db.putSync(k, encodeUpload(k, u));
        for (const { id, image } of sessions) {
          const k = SESSION_PREFIX + id;
          image === null ? this.db.removeSync(k) : this.db.putSync(k, encodeSession(k, image));
        }
        writeAuthChanges(this.db, auth);
        this.putMeta();
      });
    } catch (error) {
      this.state.sessions.requeueChanges(sessions);
      this.state.auth.requeueChanges(auth);
      throw error;
    }
    this.configDirty = false;
    this.pending = this.pending.next();
    this.afterCommit?.(this.meta.applied);
  }

  /** Inside a transaction: the meta record, and the configuration with it when it changed. */
  private putMeta(): void {
    this.db.putSync(META_KEY, encodeMeta(this.meta));
    if (this.configDirty && this.config !== null)
      this.db.putSync(MEMBERSHIP_KEY, encodeMembershipRecord(this.config));
  }

  /** Views read the current generation: freeze it (written to LMDB) and start another. */
  private startNewGeneration(): void {
    if (this.pending.isEmpty) this.pending = this.pending.next();
    else this.writePending();
  }

  get(key: string): StoredValue | undefined {
    const k = VALUE_PREFIX + key;
    const waiting = this.pending.values.get(k);
    if (waiting !== undefined) return waiting ?? undefined;
    const raw = this.db.get(k);
    return raw === undefined ? undefined : decodeValue(k, raw);
  }

  openView(): StateView {
    return this.readers.track(this.db, new LmdbView(this.db, this.pending, this.space));
  }

  size(): number {
    this.writePending();
    return this.db.getKeysCount({ start: VALUE_PREFIX, end: nextPrefix(VALUE_PREFIX) });
  }

  digest(): string {
    this.writePending();
    const hash = createHash("sha256");
    const range = this.db.getRange({ start: VALUE_PREFIX, end: nextPrefix(VALUE_PREFIX) });
    for (const { key, value } of range) {
      const name = key.slice(VALUE_PREFIX.length);
      const v = decodeValue(key, value);
      hash.update(`${name.length}:${name}:${v.version}:${v.size}:`);
      hash.update(v.sha256);
      if (v.metadata !== undefined) hash.update(metadataText(v.metadata));
    }
    const chunks = countChunkRecords(this.db);
    hash.update(`sessions:${this.state.sessions.size()}:chunks:${chunks}`);
    hash.update(this.state.auth.fingerprint());
    return hash.digest("hex");
  }

  /**
   * Resolves once everything applied so far is durable on disk: the pending writes go to
   * LMDB, then one more commit (rewriting the meta record as it is) whose fdatasync
   * carries the previous commit's meta page to the disk; then any asynchronous write
   * lmdb-js still flushes.
   */
  async flushed(): Promise<void> {
    // During a defrag's swap the WAL must not be compacted past the old store's durable
    // index: a crash before the swap is durable restarts from the old store.
    while (this.swapping !== null) await this.swapping;
    await this.flushNow();
  }

  private async flushNow(): Promise<void> {
    this.writePending();
    const applied = this.meta.applied;
    this.db.transactionSync(() => this.putMeta());
    this.configDirty = false;
    await this.db.flushed;
    this.space.noteDurable(applied);
  }

  /** A consistent, streamable image of the store as it is now (for a follower). */
  openSnapshot(): SnapshotSource {
    // Best effort: an image at LMDB's older applied index is as good (it is never behind
    // the last capture, so the log still holds every entry after it).
    this.tryWritePending();
    return this.readers.track(this.db, new SnapshotSource(this.db, this.space));
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
      const receiver = await SnapshotReceiver.create(dir, meta, this.blobs);
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
    this.installing = true;
    try {
      await this.haltDefrag();
      await this.db.close();
      // Cached descriptors name the old blobs: closed before their directory moves.
      await this.blobs.closeAll();
      await swapInIncoming(this.dataDir, receiver.dir);
      this.db = openEnvironment(stateDirs(this.dataDir).live, LIVE_STORE_DURABILITY);
      this.reloadFromDisk();
      if (this.config === null && meta.membership !== undefined) {
        // An image without the record (its store never applied a configuration entry):
        // keep the configuration the leader announced with it, durably.
        this.config = meta.membership;
        this.configDirty = true;
        this.db.transactionSync(() => this.putMeta());
        this.configDirty = false;
        await this.db.flushed;
      }
      this.space.noteDurable(meta.index);
      await this.markUnreferenced(meta.index);
    } finally {
      this.installing = false;
    }
  }

  /**
   * After a snapshot install: every blob the new store does not name (nor a dead record)
   * is dead at the snapshot's index, and goes by the usual rules (blob-space.ts). The
   * loop persists nothing while a snapshot installs, so no blob is being written now.
   */
  private async markUnreferenced(index: number): Promise<void> {
    const unreferenced = await unreferencedBlobs(this.db, this.blobs);
    if (unreferenced.length === 0) return;
    this.db.transactionSync(() => {
      for (const [id, bytes] of unreferenced) {
        this.db.putSync(
          DEAD_BLOB_PREFIX + id,
          encodeDeadBlob(DEAD_BLOB_PREFIX + id, { index, bytes }),
        );
        this.space.died(id, index, bytes);
      }
    });
    await this.db.flushed;
  }

  /**
   * Gives the disk space of deleted records back while the node serves: a compacting copy
   * swapped in crash-safely (defrag.ts, docs/backup.md#giving-disk-space-back). One at a
   * time; refused while a snapshot from the leader is being installed.
   */
  defrag(): Promise<DefragReport> {
    if (this.defragging !== null) throw new DefragBusyError("a defrag is already running");
    if (this.installing || this.awaitingInstall)
      throw new DefragBusyError("a snapshot from the leader is being installed");
    if (this.broken !== null) throw this.broken;
    this.defragAborted = false;
    const run = this.runDefrag();
    this.defragging = run;
    const clear = () => {
      this.defragging = null;
    };
    run.then(clear, clear);
    return run;
  }

  private async runDefrag(): Promise<DefragReport> {
    let switched = false;
    let swapped: () => void = () => {};
    const host: DefragHost = {
      dataDir: this.dataDir,
      live: () => this.db,
      track: () => {
        this.dirty = new DirtyRecords();
        this.untrack = trackWrites(this.db, this.dirty);
        return this.dirty;
      },
      openCopy: (dir) => openEnvironment(dir, LIVE_STORE_DURABILITY),
      switchTo: (fresh) => {
        this.swapping = new Promise((resolve) => (swapped = resolve));
        switched = true;
        const old = this.db;
        copyRecords(old, fresh, [...(this.dirty?.drain() ?? []), META_KEY, MEMBERSHIP_KEY]);
        this.untrack();
        this.dirty = null;
        this.db = fresh;
        this.tryWritePending();
        return old;
      },
      flush: () => this.flushNow(),
      retire: (old) => this.retire(old),
      abandon: () => {
        this.untrack();
        this.dirty = null;
      },
      aborted: () => this.defragAborted,
      reached: (step) => {
        defragCrashPoint(step);
        this.afterDefragStep?.(step);
      },
    };
    try {
      return await defragStore(host, ++this.defrags);
    } catch (error) {
      // After the switch the old store may no longer match the log's compaction: only a
      // restart (which finds one complete store, old or new) is safe.
      if (switched) this.broken ??= new StoreBrokenError(this.meta.applied, error);
      throw error;
    } finally {
      this.swapping = null;
      swapped();
    }
  }

  /** Closes `old` once nobody reads it any more (its directory is already gone then). */
  private retire(old: RootDatabase<Buffer, string>): void {
    this.retired.add(old);
    void this.readers.whenIdle(old).then(async () => {
      if (!this.retired.delete(old)) return;
      await old.close();
    });
  }

  /** Stops a running defrag (before its switch if it can) and closes retired stores. */
  private async haltDefrag(): Promise<void> {
    this.defragAborted = true;
    await this.defragging?.catch(() => {});
    for (const old of this.retired) {
      this.retired.delete(old);
      await old.close();
    }
  }

  /** Back to what LMDB holds: pending writes are dropped (the WAL replays them). */
  private reloadFromDisk(): void {
    this.pending = this.pending.next();
    this.meta = readMeta(this.db);
    this.config = readMembership(this.db);
    this.configDirty = false;
    this.state.clockMs = this.meta.clockMs;
    this.state.lastSweepMs = this.meta.lastSweepMs;
    this.loadSessions();
    this.state.auth.loadImage(readAuth(this.db));
    this.space.replaceDead(readDeadBlobs(this.db));
  }

  /**
   * Closes the store; pending writes and committed transactions are flushed first (if the
   * pending writes cannot be written, the WAL replays them at the next start).
   */
  async close(): Promise<void> {
    await this.receiving?.abort();
    await this.haltDefrag();
    try {
      this.writePending();
    } catch {
      // Left to the WAL: the store's applied index stays where LMDB has it.
    }
    await this.db.close();
    await this.blobs.closeAll();
  }

  private applyOne(entry: Entry): ApplyResult {
    if (entry.kind === EntryKind.Config) {
      // The core refuses a configuration entry that does not decode at the edge, so this
      // one does; if not, the store keeps the previous configuration (as the core does).
      const next = decodeMembership(entry.data);
      if (next !== null) {
        this.config = next;
        this.configDirty = true;
      }
      return { kind: "noop" };
    }
    if (entry.kind !== EntryKind.Normal) return { kind: "noop" };
    return applyCommand(this.backend, this.state, entry.index, entry.data);
  }

  private readonly backend: KvBackend = {
    getValue: (key) => this.get(key),
    setValue: (key, value) => this.pending.setValue(VALUE_PREFIX + key, value),
    deleteValue: (key) => {
      const existed = this.get(key) !== undefined;
      this.pending.setValue(VALUE_PREFIX + key, null);
      return existed;
    },
    putChunk: (id, seq, facts) => {
      this.pending.setChunk(blobChunkKey(id, seq), facts);
      if (seq === 0 && this.space.revived(id)) this.pending.setDead(DEAD_BLOB_PREFIX + id, null);
    },
    dropBlob: (id, count, bytes, index) => {
      for (let seq = 0; seq < count; seq++) this.pending.setChunk(blobChunkKey(id, seq), null);
      this.pending.setDead(DEAD_BLOB_PREFIX + id, { index, bytes });
      this.space.died(id, index, bytes);
    },
    getUpload: (id) => {
      const k = UPLOAD_PREFIX + id;
      const waiting = this.pending.uploads.get(k);
      if (waiting !== undefined) return waiting ?? undefined;
      const raw = this.db.get(k);
      return raw === undefined ? undefined : decodeUpload(k, raw);
    },
    setUpload: (id, state) => this.pending.setUpload(UPLOAD_PREFIX + id, state),
    uploads: () => this.uploadsInProgress(),
    keysUnder: (prefix) => {
      const keys = this.get(prefix) === undefined ? [] : [prefix];
      const start = `${VALUE_PREFIX}${prefix}/`;
      const end = nextPrefix(start);
      const stored = this.db.getKeys({ start, end });
      for (const key of mergeKeys(stored, this.pending, start, end))
        keys.push(key.slice(VALUE_PREFIX.length));
      return keys;
    },
  };

  /** Every upload in progress, in key order: LMDB's records under the pending ones. */
  private uploadsInProgress(): (readonly [string, UploadState])[] {
    const all = new Map<string, UploadState>();
    const range = this.db.getRange({ start: UPLOAD_PREFIX, end: nextPrefix(UPLOAD_PREFIX) });
    for (const { key, value } of range)
      if (!this.pending.uploads.has(key)) all.set(key, decodeUpload(key, value));
    for (const [key, u] of this.pending.uploads) if (u !== null) all.set(key, u);
    return [...all]
      .sort(([a], [b]) => compareKeys(a, b))
      .map(([key, u]) => [key.slice(UPLOAD_PREFIX.length), u] as const);
  }

  private loadSessions(): void {
    const range = this.db.getRange({ start: SESSION_PREFIX, end: nextPrefix(SESSION_PREFIX) });
    const clients = [...range].map(({ key, value }) => decodeSession(key, value));
    this.state.sessions.load(this.meta.sessionWrites, clients);
  }
}

/**
 * Applying an entry failed after earlier entries were applied into memory only: the store
 * cannot roll back to a consistent point while serving, so the node must restart (and
 * replay its WAL after the store's durable applied index). No errno code, so it is never
 * mistaken for a full disk and retried.
 */
export class StoreBrokenError extends Error {
  constructor(index: number, cause: unknown) {
    super(`state machine failed applying entry ${index}; restart the node to replay its log`, {
      cause,
    });
    this.name = "StoreBrokenError";
  }
}

/** A defrag cannot start now; the message says why (retrying later may help). */
export class DefragBusyError extends Error {
  constructor(why: string) {
    super(`cannot defrag now: ${why}`);
    this.name = "DefragBusyError";
  }
}

/**
 * The blobs directory of a data dir: beside `state/`, not in it, so neither a defrag's
 * nor a snapshot install's swap of `state/` ever moves it under a write in progress.
 */
export function blobDir(dataDir: string): string {
  return join(dataDir, "blobs");
}

function readMembership(db: RootDatabase<Buffer, string>): Membership | null {
  const raw = db.get(MEMBERSHIP_KEY);
  return raw === undefined ? null : decodeMembershipRecord(raw);
}

function readMeta(db: RootDatabase<Buffer, string>): StoreMeta {
  const raw = db.get(META_KEY);
  if (raw === undefined)
    return { applied: 0, appliedTerm: 0, clockMs: 0, sessionWrites: 0, lastSweepMs: 0 };
  return decodeMeta(raw);
}
