/**
 * A progress bar for long transfers (bytes, rate, ETA) on stderr, shown only when stderr
 * is a terminal and the transfer is larger than a few MB: scripts and pipes get clean
 * output, people at a terminal see that a multi-GiB upload is moving.
 */
import { createRequire } from "node:module";
import type * as CliProgress from "cli-progress";

/** cli-progress (CommonJS), loaded only when a bar is shown: most runs never need it. */
const loadCliProgress = (): typeof CliProgress =>
  createRequire(import.meta.url)("cli-progress") as typeof CliProgress;

/** Transfers smaller than this finish too fast to need a bar. */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/** Reports bytes done; `stop` clears up. A no-op when no bar is shown. */
export interface Progress {
  update(bytes: number): void;
  stop(): void;
}

/** A bar for a transfer of `total` bytes (undefined when unknown, e.g. stdin). */
export function progressFor(label: string, total: number | undefined): Progress {
  const tty = process.stderr.isTTY === true;
  if (!tty || (total !== undefined && total < PROGRESS_MIN_BYTES))
    return { update() {}, stop() {} };
  const bar = new (loadCliProgress().SingleBar)({
    stream: process.stderr,
    format:
      total === undefined
        ? `${label} {value_mb} MB  {rate} MB/s`
        : `${label} [{bar}] {percentage}%  {value_mb}/{total_mb} MB  {rate} MB/s  ETA {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: true,
  });
  const started = Date.now();
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const extra = (bytes: number) => ({
    value_mb: mb(bytes),
    total_mb: mb(total ?? 0),
    rate: mb(bytes / Math.max(0.001, (Date.now() - started) / 1000)),
  });
  bar.start(total ?? 0, 0, extra(0));
  return {
    update: (bytes) => bar.update(bytes, extra(bytes)),
    stop: () => bar.stop(),
  };
}
