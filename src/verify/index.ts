/**
 * Public surface of the linearizability checker, used by the simulator, the fault
 * harness and `dfs verify`: the only module other layers import.
 */
/** The checker: is a recorded history linearizable against a model, within a budget. */
export type { CheckOptions, CheckResult } from "./checker.ts";
export { checkLinearizable } from "./checker.ts";
/** The checker's default budgets, which callers shown in `dfs verify --help` override. */
export {
  DEFAULT_EXPLAIN_TIMEOUT_MS,
  DEFAULT_MAX_STATES,
  DEFAULT_TIMEOUT_MS,
} from "./defaults.ts";
/** A history the checker cannot read (a harness bug, not a dfs bug). */
export { InvalidHistoryError } from "./errors.ts";
/** One operation as a readable line, for failure reports. */
export { formatOperation } from "./explain.ts";
/** One recorded operation: what harnesses append to a history. */
export type { Operation } from "./history.ts";
/** The key-value model of dfs that histories are checked against, and its operations. */
export type {
  CasOutput,
  DeleteOutput,
  GetOutput,
  KvInput,
  KvOperation,
  KvOutput,
  KvState,
  PutOutput,
} from "./kv-model.ts";
export { kvModel } from "./kv-model.ts";
/** The model interface, for checking other sequential specifications. */
export type { Model, Observation, StepResult } from "./model.ts";
/** The checked workload `dfs verify` runs against a live cluster, and its verdict. */
export { type ReadBackResult, WORKLOAD_DEFAULTS, Workload } from "./workload.ts";
/** Turns a recorded workload history into a verdict and its one-line summary. */
export { checkWorkload, verdictLine, type WorkloadVerdict } from "./workload-check.ts";
/** A reader bound to one node; `dfs verify --user` gives it a logged-in client. */
export { PinnedReader } from "./workload-pinned.ts";
/** Operation counts of a recorded history, reported by `dfs verify`. */
export type { HistoryCounts } from "./workload-record.ts";
