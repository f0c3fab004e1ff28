/**
 * The rules of the state machine, written once: versions, compare-and-set, deletes and
 * exactly-once sessions. Every store (in memory for the simulator, on disk for a node)
 * runs these same rules over its own key/value backend, so they cannot drift apart.
 */
import { decodeCommand, type FsmCommand } from "./commands.ts";
import type { SessionTable } from "./sessions.ts";
import type { ApplyResult, StoredValue } from "./state-machine.ts";

/** Where a store keeps values; the rules below never see how. */
export interface KvBackend {
  getValue(key: string): StoredValue | undefined;
  setValue(key: string, value: StoredValue): void;
  /** Returns whether the key existed. */
  deleteValue(key: string): boolean;
}

/** State besides the values that the rules read and advance. */
export interface RuleState {
  readonly sessions: SessionTable;
  /** Latest leader clock seen in the log (never goes back, even if a leader's clock does). */
  clockMs: number;
}

/**
 * Applies the command committed at `index` to `backend`. Deterministic: depends only on
 * the command, the backend's contents and `state`.
 */
export function applyCommand(
  backend: KvBackend,
  state: RuleState,
  index: number,
  data: Uint8Array,
): ApplyResult {
  const command = decodeCommand(data);
  if (command === null) return { kind: "invalid", reason: "undecodable command" };
  state.clockMs = Math.max(state.clockMs, command.timeMs ?? 0);
  const session = command.session;
  if (session === undefined) return execute(backend, index, command);
  const verdict = state.sessions.check(session);
  if (verdict.kind === "duplicate") {
    state.sessions.acknowledge(session, state.clockMs);
    return verdict.result;
  }
  if (verdict.kind === "expired") return { kind: "session_expired" };
  const result = execute(backend, index, command);
  state.sessions.record(session, result, state.clockMs);
  return result;
}

function execute(backend: KvBackend, index: number, command: FsmCommand): ApplyResult {
  if (command.op === "delete")
    return { kind: "delete", existed: backend.deleteValue(command.key), index };
  const current = backend.getValue(command.key)?.version ?? 0;
  if (command.ifVersion !== undefined && command.ifVersion !== current) {
    return { kind: "precondition_failed", currentVersion: current };
  }
  const version = current + 1;
  backend.setValue(command.key, { value: command.value, version, modIndex: index });
  return { kind: "put", version, index };
}
