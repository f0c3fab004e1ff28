/**
 * `dfs defrag`: gives the disk space of deleted data back, node by node
 * (docs/backup.md#giving-disk-space-back). Each endpoint compacts its own state store
 * while it keeps serving; they are asked one after another (as `etcdctl defrag` advises),
 * so at most one node at a time spends disk bandwidth on it. Prints each store file's
 * size before and after and the time it took.
 */
import type { Command } from "commander";
import { DfsError } from "../api/index.ts";
import { toDfsError } from "../client/index.ts";
import type { DefragResponse } from "../gen/dfs.ts";
import { addClientOptions, type ClientFlags, parseEndpoints, withClient } from "./options.ts";
import { writeExact } from "./value-io.ts";

/** Deadline per node: a compacting copy of a large store takes minutes. */
export const DEFRAG_TIMEOUT_MS = 30 * 60 * 1000;

interface DefragFlags extends ClientFlags {
  readonly json?: boolean;
}

/** One node's outcome. */
export type DefragRow =
  | { readonly endpoint: string; readonly ok: true; readonly result: DefragResponse }
  | { readonly endpoint: string; readonly ok: false; readonly error: DfsError };

/** Registers `defrag` on `program`. */
export function addDefragCommand(program: Command): void {
  const command = program
    .command("defrag")
    .description(
      "compact each endpoint's state store in turn, giving deleted data's disk space back (nodes keep serving)",
    )
    .option("--json", "print a JSON array instead of lines");
  addClientOptions(command, DEFRAG_TIMEOUT_MS).action(async (flags: DefragFlags) => {
    const endpoints = parseEndpoints(flags.endpoints);
    const rows = await defragAll(endpoints, flags);
    const text = flags.json ? `${JSON.stringify(rows.map(jsonRow), null, 2)}\n` : formatRows(rows);
    await writeExact(Buffer.from(text));
    const failed = rows.filter((row) => !row.ok);
    if (failed.length > 0) {
      const first = (failed[0] as { error: DfsError }).error;
      const why = failed.map(
        (row) => `${row.endpoint}: ${(row as { error: DfsError }).error.message}`,
      );
      throw new DfsError(
        first.code,
        `defrag failed on ${failed.length} of ${rows.length} node(s): ${why.join("; ")}`,
      );
    }
  });
}

/**
 * Asks every endpoint in turn, with the command's credentials and TLS; a failure is a
 * row, and the next node is still asked.
 */
async function defragAll(endpoints: readonly string[], flags: DefragFlags): Promise<DefragRow[]> {
  return withClient(flags, async (client) => {
    const rows: DefragRow[] = [];
    for (const endpoint of endpoints) {
      try {
        const deadline = new Date(Date.now() + flags.timeout);
        rows.push({ endpoint, ok: true, result: await client.defragAt(endpoint, deadline) });
      } catch (err) {
        rows.push({ endpoint, ok: false, error: toDfsError(err) });
      }
    }
    return rows;
  });
}

/** One line per node: `127.0.0.1:50051: 2.0 GiB -> 1.1 MiB (-99.9%) in 3.2 s`. */
export function formatRows(rows: readonly DefragRow[]): string {
  return rows
    .map((row) => {
      if (!row.ok) return `${row.endpoint}: failed: ${row.error.message}\n`;
      const { bytesBefore, bytesAfter, durationMs } = row.result;
      const saved = bytesBefore === 0 ? 0 : (100 * (bytesBefore - bytesAfter)) / bytesBefore;
      return `${row.endpoint}: ${formatBytes(bytesBefore)} -> ${formatBytes(bytesAfter)} (${saved >= 0 ? "-" : "+"}${Math.abs(saved).toFixed(1)}%) in ${(durationMs / 1000).toFixed(1)} s\n`;
    })
    .join("");
}

function jsonRow(row: DefragRow): object {
  return row.ok
    ? { endpoint: row.endpoint, ok: true, ...row.result }
    : { endpoint: row.endpoint, ok: false, code: row.error.code, error: row.error.message };
}

/** Bytes in binary units with one decimal. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
