/**
 * In-memory key → bytes state machine. Rebuilt on start by replaying the committed log
 * (until the on-disk store and snapshots land); deterministic by construction.
 */
import { createHash } from "node:crypto";
import { decodeCommand } from "./commands.ts";
import type { ApplyResult, StateMachine, StoredValue } from "./state-machine.ts";

/** A {@link StateMachine} that keeps every key in a Map. */
export class MemoryStore implements StateMachine {
  private readonly values = new Map<string, StoredValue>();
  private applied = 0;

  get appliedIndex(): number {
    return this.applied;
  }

  apply(index: number, data: Uint8Array): ApplyResult {
    this.advanceTo(index);
    const command = decodeCommand(data);
    if (command === null) return { kind: "invalid", reason: "undecodable command" };
    if (command.op === "put") {
      const current = this.values.get(command.key)?.version ?? 0;
      if (command.ifVersion !== undefined && command.ifVersion !== current) {
        return { kind: "precondition_failed", currentVersion: current };
      }
      const version = current + 1;
      this.values.set(command.key, { value: command.value, version, modIndex: index });
      return { kind: "put", version };
    }
    return { kind: "delete", existed: this.values.delete(command.key) };
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
    return hash.digest("hex");
  }

  private advanceTo(index: number): void {
    if (index <= this.applied) {
      throw new Error(`fsm: apply of index ${index} after ${this.applied} (out of order)`);
    }
    this.applied = index;
  }
}
