/**
 * In-memory key → bytes state machine with client sessions. Rebuilt on start by replaying
 * the committed log (until the on-disk store and snapshots land); deterministic by
 * construction: every decision depends only on the entries applied.
 */
import { createHash } from "node:crypto";
import { type Entry, EntryKind } from "../raft/types.ts";
import { applyCommand, type KvBackend, type RuleState } from "./apply-command.ts";
import { type SessionsImage, SessionTable } from "./sessions.ts";
import type { ApplyResult, StateMachine, StoredValue } from "./state-machine.ts";

/** The snapshot format of a MemoryStore (JSON; values in base64). */
interface StoreImage {
  readonly applied: number;
  readonly clockMs: number;
  readonly values: readonly (readonly [string, string, number, number])[];
  readonly sessions: SessionsImage;
}

/** A {@link StateMachine} that keeps every key in a Map. */
export class MemoryStore implements StateMachine {
  private values = new Map<string, StoredValue>();
  private readonly state: RuleState = { sessions: new SessionTable(), clockMs: 0 };
  private applied = 0;
  private readonly backend: KvBackend = {
    getValue: (key) => this.values.get(key),
    setValue: (key, value) => void this.values.set(key, value),
    deleteValue: (key) => this.values.delete(key),
  };

  get appliedIndex(): number {
    return this.applied;
  }

  applyEntries(entries: readonly Entry[]): ApplyResult[] {
    return entries.map((entry) => {
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

  size(): number {
    return this.values.size;
  }

  digest(): string {
    const hash = createHash("sha256");
    for (const key of [...this.values.keys()].sort()) {
      const v = this.values.get(key) as StoredValue;
      hash.update(`${key.length}:${key}:${v.version}:${v.value.byteLength}:`);
      hash.update(v.value);
    }
    hash.update(`sessions:${this.state.sessions.size()}`);
    return hash.digest("hex");
  }

  /** The whole state as bytes: what the simulator's snapshots store and ship. */
  snapshot(): Uint8Array {
    const image: StoreImage = {
      applied: this.applied,
      clockMs: this.state.clockMs,
      values: [...this.values].map(([k, v]) => [
        k,
        Buffer.from(v.value).toString("base64"),
        v.version,
        v.modIndex,
      ]),
      sessions: this.state.sessions.toImage(),
    };
    return Buffer.from(JSON.stringify(image));
  }

  /** Replaces the whole state with an image from {@link snapshot} (of any node). */
  restore(image: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(image).toString()) as StoreImage;
    this.applied = parsed.applied;
    this.state.clockMs = parsed.clockMs;
    this.values = new Map(
      parsed.values.map(([k, v, version, modIndex]) => [
        k,
        { value: Buffer.from(v, "base64"), version, modIndex },
      ]),
    );
    this.state.sessions.loadImage(parsed.sessions);
  }

  private advanceTo(index: number): void {
    if (index <= this.applied) {
      throw new Error(`fsm: apply of index ${index} after ${this.applied} (out of order)`);
    }
    this.applied = index;
  }
}
