/**
 * `dfs status`: every endpoint's own view of the cluster, side by side. Operators use it
 * to see who leads, whether terms agree and how far each node lags, so every node is
 * asked directly (no redirects) and an unreachable node is a row, not a failure. Below
 * the nodes, the configuration the leader has in force: voters and learners with their
 * lag; members missing from `--endpoints` are asked too, so the table covers them all.
 */
import type { Command } from "commander";
import { DfsError } from "../api/index.ts";
import type { DfsClient } from "../client/index.ts";
import type { StatusResponse } from "../gen/dfs.ts";
import { type MemberStatus, memberClient } from "./member-api.ts";
import { formatMembers, summarizeMembers } from "./member-commands.ts";
import { addClientOptions, type ClientFlags, parseEndpoints, withClient } from "./options.ts";
import { UsageError } from "./usage-error.ts";
import { writeExact } from "./value-io.ts";

/**
 * Per-node deadline. Short, because a dead node that refuses connections answers at
 * once and only a hung one waits this long; the table should appear in seconds.
 */
export const STATUS_TIMEOUT_MS = 3_000;

interface StatusFlags extends ClientFlags {
  readonly json?: boolean;
  readonly watch?: boolean;
  readonly interval: number;
}

/** Seconds between two frames of `--watch` (like `watch`'s and `kubectl get -w`'s 2 s). */
export const WATCH_INTERVAL_S = 2;

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
    .description(
      "show every node's role, term, leader, log indexes, lag and health (exit 3 if none answer)",
    )
    .option("--json", "print a JSON array instead of a table (one line per frame with --watch)")
    .option("--watch", "refresh until Ctrl-C")
    .option(
      "--interval <seconds>",
      `seconds between refreshes with --watch (default ${WATCH_INTERVAL_S})`,
      secondsFlag,
      WATCH_INTERVAL_S,
    );
  addClientOptions(command, STATUS_TIMEOUT_MS).action(async (flags: StatusFlags) => {
    const endpoints = parseEndpoints(flags.endpoints);
    if (flags.watch === true) return watch(flags, endpoints);
    const { rows, view } = await withClient(flags, (client) => collect(client, endpoints));
    await writeExact(Buffer.from(render(rows, view, flags.json === true, false)));
    if (!rows.some((row) => row.reachable)) {
      throw new DfsError("unavailable", `no node answered (${endpoints.join(", ")})`);
    }
  });
}

/** One frame: every endpoint's status, then the leader's member list (and missing members). */
async function collect(
  client: DfsClient,
  endpoints: readonly string[],
): Promise<{ rows: StatusRow[]; view: MembersView | null }> {
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
}

/** The text of one frame: the table and members section, or JSON (one line when watching). */
function render(
  rows: readonly StatusRow[],
  view: MembersView | null,
  json: boolean,
  watching: boolean,
): string {
  if (json) return `${toJson(rows, view, watching ? 0 : 2)}\n`;
  return `${formatTable(rows)}${view === null ? "" : formatMembersView(view)}`;
}

/**
 * `--watch`: a frame every `--interval` seconds until SIGINT or SIGTERM. On a terminal
 * each frame replaces the last (cleared screen, a time stamp on top); piped, frames
 * follow each other (JSON: one array per line). A frame where no node answers is shown
 * like any other: the cluster may come back.
 */
async function watch(flags: StatusFlags, endpoints: readonly string[]): Promise<void> {
  const tty = process.stdout.isTTY === true && flags.json !== true;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await withClient(flags, async (client) => {
    let running = true;
    void stopped.then(() => {
      running = false;
    });
    while (running) {
      const { rows, view } = await collect(client, endpoints);
      const frame = render(rows, view, flags.json === true, true);
      const head =
        flags.json === true ? "" : `${new Date().toISOString()}  every ${flags.interval}s\n`;
      // A terminal shows one frame at a time; piped text frames are set apart by a blank line.
      const text = tty ? `\x1b[H\x1b[2J${head}${frame}` : flags.json ? frame : `${head}${frame}\n`;
      await writeExact(Buffer.from(text));
      await Promise.race([stopped, delay(flags.interval * 1000)]);
    }
  });
}

/** Resolves after `ms`; the timer does not keep the process alive on its own. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function secondsFlag(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0.1 || n > 3600) {
    throw new UsageError(`--interval '${text}' is not a number of seconds from 0.1 to 3600`);
  }
  return n;
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

const HEADER = [
  "ID",
  "ADDRESS",
  "ROLE",
  "TERM",
  "LEADER",
  "COMMIT",
  "APPLIED",
  "LAST",
  "LAG",
  "VERSION",
  "HEALTH",
];

/**
 * Renders rows as an aligned text table; unreachable nodes say why in place of numbers.
 * Below it, one line per node that refused peer messages (a broken or hostile peer is
 * worth an operator's look): its id, then each reason with its count.
 */
export function formatTable(rows: readonly StatusRow[]): string {
  const commit = highestCommit(rows);
  const cells = rows.map((row) => rowCells(row, commit));
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

/** The highest commit index any node reports: what every node's LAG is measured against. */
export function highestCommit(rows: readonly StatusRow[]): number {
  let commit = 0;
  for (const row of rows) if (row.reachable) commit = Math.max(commit, row.status.commitIndex);
  return commit;
}

/**
 * How many committed entries `status` has yet to apply, measured against the highest
 * commit index any node reports (normally the leader's): what a read served by that node
 * may miss. Each node answers at a slightly different moment, so under load a few
 * entries of lag are noise.
 */
export function lagOf(status: StatusResponse, commit: number): number {
  return Math.max(0, commit - status.appliedIndex);
}

function rowCells(row: StatusRow, commit: number): string[] {
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
    String(lagOf(s, commit)),
    s.version === "" ? "-" : s.version, // empty from nodes that predate the field
    s.health === "" ? "-" : s.health, // "ok" or why /health fails; empty from older nodes
  ];
}

/**
 * The rows as a JSON array (as before membership changes); each row gains `member`: the
 * leader's view of that node (voter or learner, match, lag), null when it is not a member
 * or the member list is unknown; a reachable row also gains `lag` (see {@link lagOf}).
 */
function toJson(rows: readonly StatusRow[], view: MembersView | null, indent = 2): string {
  const members = view?.known ? view.members : [];
  const commit = highestCommit(rows);
  const memberOf = (row: StatusRow) =>
    members.find((m) =>
      row.reachable
        ? m.id === row.status.id
        : m.clientAddr.toLowerCase() === row.endpoint.toLowerCase(),
    ) ?? null;
  const plain = rows.map((row) => {
    const member = memberOf(row);
    return row.reachable
      ? { ...row, lag: lagOf(row.status, commit), member }
      : { ...row, error: { code: row.error.code, message: row.error.message }, member };
  });
  return JSON.stringify(plain, null, indent);
}
