/**
 * `dfs status`: every endpoint's own view of the cluster, side by side. Operators use it
 * to see who leads, whether terms agree and how far each node lags, so every node is
 * asked directly (no redirects) and an unreachable node is a row, not a failure. Below
 * the nodes, the configuration the leader has in force: voters and learners with their
 * lag; members missing from `--endpoints` are asked too, so the table covers them all.
 */
import type { Command } from "commander";
import { DfsError } from "../api/index.ts";
import type { StatusResponse } from "../gen/dfs.ts";
import { type MemberStatus, memberClient } from "./member-api.ts";
import { formatMembers, summarizeMembers } from "./member-commands.ts";
import { addClientOptions, type ClientFlags, parseEndpoints, withClient } from "./options.ts";
import { writeExact } from "./value-io.ts";

/**
 * Per-node deadline. Short, because a dead node that refuses connections answers at
 * once and only a hung one waits this long; the table should appear in seconds.
 */
export const STATUS_TIMEOUT_MS = 3_000;

interface StatusFlags extends ClientFlags {
  readonly json?: boolean;
}

/** One endpoint's answer, or why there was none. */
export type StatusRow =
  | { readonly endpoint: string; readonly reachable: true; readonly status: StatusResponse }
  | { readonly endpoint: string; readonly reachable: false; readonly error: DfsError };

/** The leader's member list, or why it could not be had (no leader, an older cluster). */
export type MembersView =
  | { readonly known: true; readonly members: readonly MemberStatus[] }
  | { readonly known: false; readonly error: DfsError };

/** Registers `status` on `program`. */
export function addStatusCommand(program: Command): void {
  const command = program
    .command("status")
    .description("show every node's role, term, leader and log indexes (exit 3 if none answer)")
    .option("--json", "print a JSON array instead of a table");
  addClientOptions(command, STATUS_TIMEOUT_MS).action(async (flags: StatusFlags) => {
    const endpoints = parseEndpoints(flags.endpoints);
    const { rows, view } = await withClient(flags, async (client) => {
      const ask = (list: readonly string[]) =>
        Promise.all(list.map((endpoint) => queryOne(endpoint, client.status(endpoint))));
      const asked = await ask(endpoints);
      // Nobody answered: no member list either (and no wait for one).
      if (!asked.some((row) => row.reachable)) return { rows: asked, view: null };
      const members = await membersOf(client);
      const known = new Set(endpoints.map((e) => e.toLowerCase()));
      const missing = members.known
        ? members.members.map((m) => m.clientAddr).filter((a) => !known.has(a.toLowerCase()))
        : [];
      return { rows: [...asked, ...(await ask(missing))], view: members };
    });
    const text = flags.json
      ? `${toJson(rows, view)}\n`
      : `${formatTable(rows)}${view === null ? "" : formatMembersView(view)}`;
    await writeExact(Buffer.from(text));
    if (!rows.some((row) => row.reachable)) {
      throw new DfsError("unavailable", `no node answered (${endpoints.join(", ")})`);
    }
  });
}

/** The member list from the leader; a failure is part of the answer, not of the command. */
async function membersOf(client: Parameters<typeof memberClient>[0]): Promise<MembersView> {
  try {
    return { known: true, members: await memberClient(client).memberList() };
  } catch (err) {
    const error = err instanceof DfsError ? err : new DfsError("internal", String(err));
    return { known: false, error };
  }
}

/** The members section below the node table. */
export function formatMembersView(view: MembersView): string {
  if (!view.known) return `members: unknown (${view.error.message})\n`;
  return `\nmembers (${summarizeMembers(view.members)}):\n${formatMembers(view.members)}`;
}

async function queryOne(endpoint: string, answer: Promise<StatusResponse>): Promise<StatusRow> {
  try {
    return { endpoint, reachable: true, status: await answer };
  } catch (err) {
    const error = err instanceof DfsError ? err : new DfsError("internal", String(err));
    return { endpoint, reachable: false, error };
  }
}

const HEADER = ["ID", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "LAST", "VERSION"];

/**
 * Renders rows as an aligned text table; unreachable nodes say why in place of numbers.
 * Below it, one line per node that refused peer messages (a broken or hostile peer is
 * worth an operator's look): its id, then each reason with its count.
 */
export function formatTable(rows: readonly StatusRow[]): string {
  const cells = rows.map(rowCells);
  const widths = HEADER.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => alignedWidth(row, column))),
  );
  const lines = [HEADER, ...cells].map((row) =>
    row.map((cell, column) => (column < row.length - 1 ? cell.padEnd(widths[column] ?? 0) : cell)),
  );
  return `${lines.map((line) => line.join("  ")).join("\n")}\n${droppedLines(rows)}`;
}

/** "node 2 refused peer messages: not_member 3, wrong_cluster 1" for each node with any. */
function droppedLines(rows: readonly StatusRow[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    if (!row.reachable) continue;
    const counts = row.status.droppedPeerMessages.filter((d) => d.count > 0);
    if (counts.length === 0) continue;
    const list = counts.map((d) => `${d.reason} ${d.count}`).join(", ");
    lines.push(`node ${row.status.id} refused peer messages: ${list}\n`);
  }
  return lines.join("");
}

/** Width a cell claims in its column; an unreachable row's trailing message claims none. */
function alignedWidth(row: readonly string[], column: number): number {
  const spansRest = row.length < HEADER.length && column === row.length - 1;
  return spansRest ? 0 : (row[column] ?? "").length;
}

function rowCells(row: StatusRow): string[] {
  if (!row.reachable) return ["-", row.endpoint, `unreachable: ${row.error.message}`];
  const s = row.status;
  const leader = s.leaderId === 0 ? "-" : String(s.leaderId);
  return [
    String(s.id),
    row.endpoint,
    s.role,
    String(s.term),
    leader,
    String(s.commitIndex),
    String(s.appliedIndex),
    String(s.lastIndex),
    s.version === "" ? "-" : s.version, // empty from nodes that predate the field
  ];
}

/**
 * The rows as a JSON array (as before membership changes); each row gains `member`: the
 * leader's view of that node (voter or learner, match, lag), null when it is not a member
 * or the member list is unknown.
 */
function toJson(rows: readonly StatusRow[], view: MembersView | null): string {
  const members = view?.known ? view.members : [];
  const memberOf = (row: StatusRow) =>
    members.find((m) =>
      row.reachable
        ? m.id === row.status.id
        : m.clientAddr.toLowerCase() === row.endpoint.toLowerCase(),
    ) ?? null;
  const plain = rows.map((row) => {
    const member = memberOf(row);
    return row.reachable
      ? { ...row, member }
      : { ...row, error: { code: row.error.code, message: row.error.message }, member };
  });
  return JSON.stringify(plain, null, 2);
}
