/**
 * Public surface of the linearizability checker, used by the simulator, the fault
 * harness and `dfs verify`: the only module other layers import.
 */
export type { CheckOptions, CheckResult } from "./checker.ts";
export { checkLinearizable } from "./checker.ts";
export {
  DEFAULT_EXPLAIN_TIMEOUT_MS,
  DEFAULT_MAX_STATES,
  DEFAULT_TIMEOUT_MS,
} from "./defaults.ts";
export { InvalidHistoryError } from "./errors.ts";
export { formatOperation } from "./explain.ts";
export type { Operation } from "./history.ts";
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
export type { Model, Observation, StepResult } from "./model.ts";
/** The checked workload `dfs verify` runs against a live cluster, and its verdict. */
export { type ReadBackResult, WORKLOAD_DEFAULTS, Workload } from "./workload.ts";
/** Turns a recorded workload history into a verdict and its one-line summary. */
export { checkWorkload, verdictLine, type WorkloadVerdict } from "./workload-check.ts";
/** Operation counts of a recorded history, reported by `dfs verify`. */
export type { HistoryCounts } from "./workload-record.ts";
