/**
 * The sequential specification of one dfs key, matching the client API: put, get,
 * delete and compare-and-set with versions. A put makes version = previous + 1 (1 when
 * absent); delete makes the key absent, which is version 0; outcomes are checked exactly.
 */
import type { Operation } from "./history.ts";
import type { Model, Observation, StepResult } from "./model.ts";

/** The state of one key. `version` is 0 exactly when `value` is null (absent). */
export interface KvState {
  readonly value: string | null;
  readonly version: number;
}

/** A client request on one key. cas `expectedVersion` 0 means "must be absent". */
export type KvInput =
  | { readonly op: "put"; readonly value: string }
  | { readonly op: "get" }
  | { readonly op: "delete" }
  | { readonly op: "cas"; readonly expectedVersion: number; readonly value: string };

/** A put's answer: the version it created. */
export type PutOutput = { readonly ok: true; readonly version: number };
/** A get's answer. */
export type GetOutput =
  | { readonly found: false }
  | { readonly found: true; readonly value: string; readonly version: number };
/** A delete's answer: whether the key was present. */
export type DeleteOutput = { readonly existed: boolean };
/** A cas's answer: the version it created, or ok false when the precondition failed. */
export type CasOutput = { readonly ok: true; readonly version: number } | { readonly ok: false };
/** Any answer; which one is expected follows from the input's `op`. */
export type KvOutput = PutOutput | GetOutput | DeleteOutput | CasOutput;
/** An operation of a dfs client history. */
export type KvOperation = Operation<KvInput, KvOutput>;

const ABSENT: KvState = { value: null, version: 0 };

/** The dfs key model for {@link checkLinearizable}. */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => ABSENT,
  step,
  equal: (a, b) => a.version === b.version && a.value === b.value,
  // Canonical: absent is always version 0, and the version ends before the first ":".
  hash: (s) => (s.value === null ? "-" : `${s.version}:${s.value}`),
  describe: describeKvOperation,
  describeState: (s) => (s.value === null ? "nothing" : describeValue(s.value, s.version)),
  readOnly: (input) => input.op === "get",
  couldProduce,
  canonicalInputs,
};

/**
 * Replaces every written value that no determinate get returned by one placeholder: such
 * a value only ever matters through the version and presence it creates, so states that
 * differ only in it are equivalent, and timed-out writes of it become interchangeable.
 */
function canonicalInputs(ops: readonly Observation<KvInput, KvOutput>[]): KvInput[] {
  const observed = new Set<string>();
  for (const { output } of ops) {
    if (output !== undefined && "found" in output && output.found) observed.add(output.value);
  }
  let placeholder = "(a value no read returned)";
  while (observed.has(placeholder)) placeholder += "'";
  return ops.map(({ input }) =>
    (input.op === "put" || input.op === "cas") && !observed.has(input.value)
      ? { ...input, value: placeholder }
      : input,
  );
}

function step(state: KvState, input: KvInput, output: KvOutput | undefined): StepResult<KvState> {
  switch (input.op) {
    case "put":
      return stepWrite(state, input.value, output);
    case "get":
      return { ok: output === undefined || sameGet(state, output), next: state };
    case "delete":
      return {
        ok: output === undefined || ("existed" in output && output.existed === state.version > 0),
        next: ABSENT,
      };
    case "cas":
      if (state.version !== input.expectedVersion) {
        return {
          ok: output === undefined || (isOkFlag(output) && output.ok === false),
          next: state,
        };
      }
      return stepWrite(state, input.value, output);
  }
}

/** A write that takes effect: the answer must carry exactly the next version. */
function stepWrite(
  state: KvState,
  value: string,
  output: KvOutput | undefined,
): StepResult<KvState> {
  const next = { value, version: state.version + 1 };
  const ok =
    output === undefined ||
    (isOkFlag(output) &&
      output.ok === true &&
      "version" in output &&
      output.version === next.version);
  return { ok, next };
}

function isOkFlag(output: KvOutput): output is PutOutput | CasOutput {
  return "ok" in output;
}

function sameGet(state: KvState, output: KvOutput): boolean {
  if (!("found" in output)) return false;
  if (!output.found) return state.value === null;
  return output.value === state.value && output.version === state.version;
}

function couldProduce(
  writer: Observation<KvInput, KvOutput>,
  observed: Observation<KvInput, KvOutput>,
): boolean {
  const seen = observed.output;
  if (observed.input.op !== "get" || seen === undefined || !("found" in seen) || !seen.found) {
    return false;
  }
  const w = writer.input;
  if (w.op !== "put" && w.op !== "cas") return false;
  const out = writer.output;
  return w.value === seen.value && (out === undefined || (isOkFlag(out) && out.ok));
}

function describeValue(value: string, version: number): string {
  return `${JSON.stringify(value)} (version ${version})`;
}

/** e.g. `put "v1" → ok, version 1`, `get → "v1" (version 1)`, `delete → ? (indeterminate)`. */
export function describeKvOperation(input: KvInput, output: KvOutput | undefined): string {
  return `${describeKvInput(input)} → ${output === undefined ? "? (indeterminate)" : describeKvOutput(output)}`;
}

function describeKvInput(input: KvInput): string {
  switch (input.op) {
    case "put":
      return `put ${JSON.stringify(input.value)}`;
    case "cas":
      return `cas(if version ${input.expectedVersion}) ${JSON.stringify(input.value)}`;
    default:
      return input.op;
  }
}

function describeKvOutput(output: KvOutput): string {
  if ("found" in output)
    return output.found ? describeValue(output.value, output.version) : "absent";
  if ("existed" in output) return output.existed ? "existed" : "did not exist";
  return output.ok ? `ok, version ${output.version}` : "failed (version mismatch)";
}
