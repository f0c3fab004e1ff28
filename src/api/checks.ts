/**
 * The request checks both sides apply: the client before anything is sent (a precise
 * typed error instead of a doomed round trip), the server before a request becomes a
 * command. One implementation, so a bad key or an oversized value gets the same code and
 * the same message whichever side catches it.
 */
import { DfsError } from "./errors.ts";
import { keyProblem } from "./keys.ts";
import { MAX_VALUE_BYTES } from "./limits.ts";

/** Longest stretch of a bad key quoted back in an error message. */
const QUOTED_KEY_CHARS = 100;

/** Throws `invalid_argument` when `key` breaks the key rules (see {@link keyProblem}). */
export function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== null) {
    throw new DfsError("invalid_argument", `invalid key '${quoteKey(key)}': ${problem}`);
  }
}

/** Throws `too_large` when a value of `bytes` bytes does not fit in one put. */
export function checkValueSize(bytes: number): void {
  if (bytes <= MAX_VALUE_BYTES) return;
  throw new DfsError(
    "too_large",
    `value is ${bytes} bytes; a single put holds at most ${MAX_VALUE_BYTES} bytes (use a streamed upload for files)`,
  );
}

/**
 * `key` as it may appear in a one-line message: control characters escaped (a rejected
 * key may contain them) and long keys cut short.
 */
function quoteKey(key: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  const printable = key.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  return printable.length > QUOTED_KEY_CHARS
    ? `${printable.slice(0, QUOTED_KEY_CHARS)}...`
    : printable;
}
