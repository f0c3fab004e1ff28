/**
 * Byte sizes as people write them on a command line: `256`, `4KiB`, `1MiB` (also `4k`,
 * `1m`, `4KB`: binary multiples throughout, as etcd's and dd's flags mean them).
 */

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 * 1024,
  mb: 1024 * 1024,
  mib: 1024 * 1024,
};

/** Parses a size; undefined when `text` is not a non-negative integer with a known unit. */
export function parseSize(text: string): number | undefined {
  const match = /^([0-9]+)\s*([a-zA-Z]*)$/.exec(text.trim());
  if (match === null) return undefined;
  const unit = UNITS[(match[2] ?? "").toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(match[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** The shortest exact spelling of `bytes`: `256 B`, `4 KiB`, `1 MiB`, `1500 B`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
