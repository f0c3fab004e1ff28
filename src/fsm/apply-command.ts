/**
 * The rules of the state machine, written once: versions, compare-and-set, deletes,
 * chunked file uploads, exactly-once sessions and auth (auth-rules.ts). Every store (in
 * memory for the simulator, on disk for a node) runs these same rules over its own
 * backend, so they cannot drift apart.
 */
import { createHash } from "node:crypto";
import { applyAuthOp, authorize, refuseWrites } from "./auth-rules.ts";
import type { AuthState } from "./auth-state.ts";
import type { FsmCommand } from "./command-types.ts";
import { decodeCommand } from "./commands.ts";
import { deleteKey, type KvBackend, keptMetadata, replaceValue } from "./kv-backend.ts";
import type { SessionTable } from "./sessions.ts";
import type { ApplyResult } from "./state-machine.ts";
import { abortUpload, applyChunk, commitUpload, sweepUploads } from "./upload-rules.ts";

/** State besides the data that the rules read and advance. */
export interface RuleState {
  readonly sessions: SessionTable;
  /** Users, roles and the auth switch (the same object for the store's whole life). */
  readonly auth: AuthState;
  /** Latest leader clock seen in the log (never goes back, even if a leader's clock does). */
  clockMs: number;
  /** Log clock of the last sweep for abandoned uploads. */
  lastSweepMs: number;
}

/** Sweep for abandoned uploads at most this often (log clock). */
export const UPLOAD_SWEEP_EVERY_MS = 60_000;

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
  if (state.clockMs - state.lastSweepMs >= UPLOAD_SWEEP_EVERY_MS) {
    state.lastSweepMs = state.clockMs;
    sweepUploads(backend, state.clockMs, index);
  }
  const result = once(backend, state, index, command);
  // A commit is the last word on its upload: one that did not make it the key's value
  // (a retry already applied, an expired session, a refusal) frees its blob at once, so
  // a retried large put (server/blob-put.ts) leaves nothing for the 15-minute sweep.
  if (command.op === "commit_upload" && backend.getUpload(command.uploadId) !== undefined) {
    abortUpload(backend, command.uploadId, index);
  }
  return result;
}

/** Executes a command at most once per client session (Raft thesis §6.3). */
function once(
  backend: KvBackend,
  state: RuleState,
  index: number,
  command: FsmCommand,
): ApplyResult {
  const session = command.session;
  if (session === undefined) return execute(backend, state, index, command);
  const verdict = state.sessions.check(session);
  if (verdict.kind === "duplicate") {
    state.sessions.acknowledge(session, state.clockMs);
    return verdict.result;
  }
  if (verdict.kind === "expired") return { kind: "session_expired" };
  const result = execute(backend, state, index, command);
  state.sessions.record(session, result, state.clockMs);
  return result;
}

function execute(
  backend: KvBackend,
  state: RuleState,
  index: number,
  command: FsmCommand,
): ApplyResult {
  const refused = authorize(state.auth, command);
  if (refused !== null) return refused;
  switch (command.op) {
    case "put":
      return put(backend, state, index, command);
    case "delete":
      return { kind: "delete", existed: deleteKey(backend, command.key, index), index };
    case "upload_chunk":
      return applyChunk(backend, state.clockMs, command);
    case "commit_upload":
      return commitUpload(backend, state.clockMs, index, command);
    case "abort_upload":
      return abortUpload(backend, command.uploadId, index);
    case "delete_prefix": {
      const keys = backend.keysUnder(command.prefix);
      const denied = refuseWrites(state.auth, command.caller, keys);
      if (denied !== null) return denied;
      for (const key of keys) deleteKey(backend, key, index);
      return { kind: "delete_prefix", deleted: keys.length, index };
    }
    case "auth":
      return applyAuthOp(state.auth, index, command.auth);
  }
}

function put(
  backend: KvBackend,
  state: RuleState,
  index: number,
  command: FsmCommand & { op: "put" },
): ApplyResult {
  const current = backend.getValue(command.key);
  const version = current?.version ?? 0;
  if (command.ifVersion !== undefined && command.ifVersion !== version) {
    return { kind: "precondition_failed", currentVersion: version };
  }
  replaceValue(backend, command.key, current, {
    value: command.value,
    version: version + 1,
    modIndex: index,
    modTimeMs: state.clockMs,
    size: command.value.byteLength,
    sha256: createHash("sha256").update(command.value).digest(),
    ...keptMetadata(command.metadata),
  });
  return { kind: "put", version: version + 1, index };
}
