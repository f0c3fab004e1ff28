/**
 * Polling with a deadline: how the harness (and every test) waits for a cluster, never a
 * bare sleep.
 */

/** Thrown by a probe to stop waiting at once (e.g. the process being waited for died). */
export class StopWaiting extends Error {}

/**
 * Polls `probe` every `intervalMs` until it returns a non-undefined value or the deadline
 * passes. A probe that throws is retried (its last error is quoted on timeout), except
 * with {@link StopWaiting}, which is rethrown at once.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
