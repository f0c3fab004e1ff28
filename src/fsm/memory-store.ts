/**
 * In-memory state machine with client sessions, for the deterministic simulator: the same
 * rules as the on-disk store (apply-command.ts) over Maps, and snapshots as one JSON image.
 * Chunks are records (length, CRC-32) as on disk; their bytes are in the blobs of the
 * {@link BlobIo} it is given, which the node's write path fills. Its image carries the
 * chunks' records, not their bytes: whoever ships the image ships the blobs too.
 */
import { createHash } from "node:crypto";
import { decodeMembership, type Entry, EntryKind, type Membership } from "../raft/index.ts";
import type { BlobIo } from "../storage/index.ts";
import { applyCommand, type RuleState } from "./apply-command.ts";
import { type AuthImage, AuthState, type AuthView, NO_AUTH } from "./auth-state.ts";
import type { ChunkFacts } from "./blob-records.ts";
import { BlobSpace } from "./blob-space.ts";
import { compareKeys } from "./key-range.ts";
import { type KvBackend, metadataText } from "./kv-backend.ts";
import { MemoryBlobIo } from "./memory-blob-io.ts";
import { type SessionsImage, SessionTable } from "./sessions.ts";
import type {
  ApplyResult,
  StateMachine,
  StateView,
  StoredValue,
  UploadState,
} from "./state-machine.ts";

/** The snapshot format of a MemoryStore (JSON; bytes in base64). */
interface StoreImage {
  readonly applied: number;
  readonly clockMs: number;
  readonly lastSweepMs: number;
  readonly values: readonly (readonly [string, StoredImage])[];
  readonly chunks: readonly (readonly [string, ChunkFacts])[];
  readonly uploads: readonly (readonly [string, UploadState])[];
  readonly sessions: SessionsImage;
  /** Users, roles and the auth switch (absent in images from before auth: none). */
  readonly auth?: AuthImage;
  /** The configuration in force at `applied` (absent: none applied yet). */
  readonly membership?: Membership;
}

type StoredImage = Omit<StoredValue, "value" | "sha256"> & { value: string; sha256: string };

/** A {@link StateMachine} that keeps everything in Maps. */
export class MemoryStore implements StateMachine {
  private values = new Map<string, StoredValue>();
  private chunks = new Map<string, ChunkFacts>();
  private uploadStates = new Map<string, UploadState>();
  private readonly state: RuleState = {
    sessions: new SessionTable(),
    auth: new AuthState(),
    clockMs: 0,
    lastSweepMs: 0,
  };
  private applied = 0;
  private config: Membership | null = null;
  /** Dead blobs, pins and holds (blob-space.ts); durability is the simulator's to note. */
  readonly space: BlobSpace;

  constructor(
    /** Where the chunks' bytes are. */
    readonly blobs: BlobIo = new MemoryBlobIo(),
    now?: () => number,
  ) {
    this.space = new BlobSpace(blobs, now);
  }

  private readonly backend: KvBackend = {
    getValue: (key) => this.values.get(key),
    setValue: (key, value) => void this.values.set(key, value),
    deleteValue: (key) => this.values.delete(key),
    putChunk: (id, seq, facts) => {
      this.chunks.set(chunkKey(id, seq), facts);
      if (seq === 0) this.space.revived(id);
    },
    dropBlob: (id, count, bytes, index) => {
      for (let seq = 0; seq < count; seq++) this.chunks.delete(chunkKey(id, seq));
      this.space.died(id, index, bytes);
    },
    getUpload: (id) => this.uploadStates.get(id),
    setUpload: (id, state) =>
      void (state === null ? this.uploadStates.delete(id) : this.uploadStates.set(id, state)),
    uploads: () => [...this.uploadStates],
    keysUnder: (prefix) =>
      [...this.values.keys()].filter((k) => k === prefix || k.startsWith(`${prefix}/`)),
  };

  get appliedIndex(): number {
    return this.applied;
  }

  get auth(): AuthView {
    return this.state.auth;
  }

  /** The configuration in force at the applied index (null before any configuration entry). */
  get membership(): Membership | null {
    return this.config;
  }

  applyEntries(entries: readonly Entry[]): ApplyResult[] {
    return entries.map((entry) => {
      if (entry.kind === EntryKind.Config)
        this.config = decodeMembership(entry.data) ?? this.config;
      if (entry.kind !== EntryKind.Normal) {
        this.skip(entry.index);
        return { kind: "noop" };
      }
      return this.apply(entry.index, entry.data);
    });
  }

  /** Applies the command committed at `index`. */
  apply(index: number, data: Uint8Array): ApplyResult {
    this.advanceTo(index);
    return applyCommand(this.backend, this.state, index, data);
  }

  /** Records that a no-op entry at `index` was applied. */
  skip(index: number): void {
    this.advanceTo(index);
  }

  get(key: string): StoredValue | undefined {
    return this.values.get(key);
  }

  openView(): StateView {
    // Maps are replaced, not mutated, by restore; a view of live maps is consistent for
    // the simulator, which never interleaves a view with applies.
    const unpins: (() => void)[] = [];
    return {
      blobs: this.blobs,
      get: (key) => {
        const value = this.values.get(key);
        if (value?.file !== undefined) unpins.push(this.space.pin(value.file.uploadId));
        return value;
      },
      chunk: (id, seq) => {
        const facts = this.chunks.get(chunkKey(id, seq));
        if (facts === undefined) throw new Error(`chunk ${seq} of upload ${id} is missing`);
        return facts;
      },
      keys: (from, prefix) =>
        [...this.values.keys()]
          .filter((k) => compareKeys(k, from) >= 0 && k.startsWith(prefix))
          .sort(compareKeys),
      close: () => {
        for (const unpin of unpins.splice(0)) unpin();
      },
    };
  }

  size(): number {
    return this.values.size;
  }

  /** Chunks held (for tests: reclaimed uploads and replaced files leave none behind). */
  chunkCount(): number {
    return this.chunks.size;
  }

  digest(): string {
    const hash = createHash("sha256");
    // UTF-8 byte order, as LMDB sorts keys, so both stores' digests agree on any key.
    const keys = [...this.values.keys()].sort(compareKeys);
    for (const key of keys) {
      const v = this.values.get(key) as StoredValue;
      hash.update(`${key.length}:${key}:${v.version}:${v.size}:`);
      hash.update(v.sha256);
      if (v.metadata !== undefined) hash.update(metadataText(v.metadata));
    }
    hash.update(`sessions:${this.state.sessions.size()}:chunks:${this.chunks.size}`);
    hash.update(this.state.auth.fingerprint());
    return hash.digest("hex");
  }

  /** The whole state as bytes: what the simulator's snapshots store and ship. */
  snapshot(): Uint8Array {
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    const image: StoreImage = {
      applied: this.applied,
      clockMs: this.state.clockMs,
      lastSweepMs: this.state.lastSweepMs,
      values: [...this.values].map(([k, v]) => [
        k,
        { ...v, value: b64(v.value), sha256: b64(v.sha256) },
      ]),
      chunks: [...this.chunks],
      uploads: [...this.uploadStates],
      sessions: this.state.sessions.toImage(),
      auth: this.state.auth.toImage(),
      ...(this.config !== null ? { membership: this.config } : {}),
    };
    return Buffer.from(JSON.stringify(image));
  }

  /** Replaces the whole state with an image from {@link snapshot} (of any node). */
  restore(image: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(image).toString()) as StoreImage;
    const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));
    this.applied = parsed.applied;
    this.state.clockMs = parsed.clockMs;
    this.state.lastSweepMs = parsed.lastSweepMs;
    this.values = new Map(
      parsed.values.map(([k, v]) => [k, { ...v, value: bytes(v.value), sha256: bytes(v.sha256) }]),
    );
    this.chunks = new Map(parsed.chunks);
    this.uploadStates = new Map(parsed.uploads);
    this.state.sessions.loadImage(parsed.sessions);
    this.state.auth.loadImage(parsed.auth ?? NO_AUTH);
    this.config = parsed.membership ?? null;
  }

  private advanceTo(index: number): void {
    if (index <= this.applied) {
      throw new Error(`fsm: apply of index ${index} after ${this.applied} (out of order)`);
    }
    this.applied = index;
  }
}

function chunkKey(uploadId: string, seq: number): string {
  return `${uploadId}/${seq}`;
}
