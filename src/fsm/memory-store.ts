/**
 * In-memory key → bytes state machine with client sessions. Rebuilt on start by replaying
 * the committed log (until the on-disk store and snapshots land); deterministic by
 * construction: every decision depends only on the entries applied.
 */
import { createHash } from "node:crypto";
import { decodeCommand, type FsmCommand } from "./commands.ts";
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
  private readonly sessions = new SessionTable();
  private applied = 0;
  /** Latest leader clock seen in the log (never goes back, even if a leader's clock does). */
  private clockMs = 0;

  get appliedIndex(): number {
    return this.applied;
  }

  apply(index: number, data: Uint8Array): ApplyResult {
    this.advanceTo(index);
    const command = decodeCommand(data);
    if (command === null) return { kind: "invalid", reason: "undecodable command" };
    this.clockMs = Math.max(this.clockMs, command.timeMs ?? 0);
    const session = command.session;
    if (session === undefined) return this.execute(index, command);
    const verdict = this.sessions.check(session);
    if (verdict.kind === "duplicate") {
      this.sessions.acknowledge(session, this.clockMs);
      return verdict.result;
    }
    if (verdict.kind === "expired") return { kind: "session_expired" };
    const result = this.execute(index, command);
    this.sessions.record(session, result, this.clockMs);
    return result;
  }

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
    hash.update(`sessions:${this.sessions.size()}`);
    return hash.digest("hex");
  }

  snapshot(): Uint8Array {
    const image: StoreImage = {
      applied: this.applied,
      clockMs: this.clockMs,
      values: [...this.values].map(([k, v]) => [
        k,
        Buffer.from(v.value).toString("base64"),
        v.version,
        v.modIndex,
      ]),
      sessions: this.sessions.toImage(),
    };
    return Buffer.from(JSON.stringify(image));
  }

  restore(image: Uint8Array): void {
    const parsed = JSON.parse(Buffer.from(image).toString()) as StoreImage;
    this.applied = parsed.applied;
    this.clockMs = parsed.clockMs;
    this.values = new Map(
      parsed.values.map(([k, v, version, modIndex]) => [
        k,
        { value: Buffer.from(v, "base64"), version, modIndex },
      ]),
    );
    this.sessions.loadImage(parsed.sessions);
  }

  private execute(index: number, command: FsmCommand): ApplyResult {
    const current = this.values.get(command.key)?.version ?? 0;
    if (command.op === "delete")
      return { kind: "delete", existed: this.values.delete(command.key), index };
    if (command.ifVersion !== undefined && command.ifVersion !== current) {
      return { kind: "precondition_failed", currentVersion: current };
    }
    const version = current + 1;
    this.values.set(command.key, { value: command.value, version, modIndex: index });
    return { kind: "put", version, index };
  }

  private advanceTo(index: number): void {
    if (index <= this.applied) {
      throw new Error(`fsm: apply of index ${index} after ${this.applied} (out of order)`);
    }
    this.applied = index;
  }
}
