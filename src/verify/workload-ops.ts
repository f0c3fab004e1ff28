/**
 * One workload operation against a live cluster: which client calls a {@link KvInput}
 * becomes, and how every answer — including each typed error — becomes the checker's
 * {@link KvOutput}, or "indeterminate" when the operation may or may not have happened.
 */
import { DfsError } from "../api/index.ts";
import type { KvInput, KvOutput } from "./kv-model.ts";

/**
 * The slice of the client API the workload drives. {@link DfsClient} satisfies it; tests
 * may pass an in-memory fake. `ifVersion` is the compare-and-set precondition (0 = the
 * key must be absent); a failed precondition rejects with `DfsError("precondition_failed")`.
 */
export interface WorkloadClient {
  put(
    key: string,
    value: Uint8Array,
    options?: { readonly ifVersion?: number },
  ): Promise<{ readonly version: number }>;
  get(key: string): Promise<{ readonly value: Uint8Array; readonly version: number }>;
  delete(key: string): Promise<unknown>;
  close(): void;
}

/**
 * The outcome of one operation. `unexpected` carries an error that neither the model nor
 * the retry contract explains (a bug in the harness or the server); the operation is
 * still recorded as indeterminate, since it may have taken effect, and callers report it.
 */
export type OpOutcome =
  | { readonly kind: "definite"; readonly output: KvOutput }
  | { readonly kind: "indeterminate"; readonly unexpected?: string };

/** Runs `input` on `key` and classifies the answer; never rejects. */
export async function executeOp(
  client: WorkloadClient,
  key: string,
  input: KvInput,
): Promise<OpOutcome> {
  try {
    return { kind: "definite", output: await call(client, key, input) };
  } catch (err) {
    return outcomeOfError(input, err);
  }
}

async function call(client: WorkloadClient, key: string, input: KvInput): Promise<KvOutput> {
  switch (input.op) {
    case "put": {
      const { version } = await client.put(key, Buffer.from(input.value));
      return { ok: true, version };
    }
    case "cas": {
      const options = { ifVersion: input.expectedVersion };
      const { version } = await client.put(key, Buffer.from(input.value), options);
      return { ok: true, version };
    }
    case "get": {
      const { value, version } = await client.get(key);
      return { found: true, value: Buffer.from(value).toString("utf8"), version };
    }
    case "delete":
      await client.delete(key);
      return { existed: true };
  }
}

/**
 * Maps a rejection to an outcome. `not_found` and `precondition_failed` are definite
 * answers; `unavailable` and `not_leader` (what the client throws once its deadline has
 * passed) mean the request may have reached a leader and committed, so the outcome is
 * unknown. Anything else is unexpected and reported.
 */
export function outcomeOfError(input: KvInput, err: unknown): OpOutcome {
  if (!(err instanceof DfsError)) return { kind: "indeterminate", unexpected: describe(err) };
  if (err.code === "not_found" && input.op === "get") {
    return { kind: "definite", output: { found: false } };
  }
  if (err.code === "not_found" && input.op === "delete") {
    return { kind: "definite", output: { existed: false } };
  }
  if (err.code === "precondition_failed" && input.op === "cas") {
    return { kind: "definite", output: { ok: false } };
  }
  if (err.code === "unavailable" || err.code === "not_leader") return { kind: "indeterminate" };
  return { kind: "indeterminate", unexpected: `${input.op}: ${err.code}: ${err.message}` };
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
