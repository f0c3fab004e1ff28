/**
 * Client-side request checks. The server checks too; checking here first turns a
 * doomed round trip (or a gRPC message-size error) into a precise, typed error before
 * anything is sent, and lets the CLI reject a bad key before it reads stdin.
 */
import { DfsError } from "../api/errors.ts";
import { keyProblem } from "../api/keys.ts";
import { MAX_VALUE_BYTES } from "../api/limits.ts";

/** Throws `invalid_argument` when `key` breaks the key rules (see `keyProblem`). */
export function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== null) throw new DfsError("invalid_argument", `invalid key '${key}': ${problem}`);
}

/** Throws `too_large` when `value` does not fit in one put. */
export function checkValue(value: Uint8Array): void {
  if (value.byteLength <= MAX_VALUE_BYTES) return;
  throw new DfsError(
    "too_large",
    `value is ${value.byteLength} bytes; a single put holds at most ${MAX_VALUE_BYTES} bytes`,
  );
}
