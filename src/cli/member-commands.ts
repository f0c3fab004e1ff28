/**
 * `dfs member list|add|promote|remove` and `dfs leader transfer`: changing the cluster
 * while it serves (docs/membership.md). Each change goes to the leader (the client
 * follows redirects) and returns once the new configuration has committed, so when the
 * command exits 0 the change is in force; a refusal is one line naming the reason and
 * the remedy, with its own exit code (docs/operations.md#exit-codes).
 */
import type { Command } from "commander";
import { DEFAULT_TIMEOUT_MS, parseHostPort } from "../client/index.ts";
import {
  type MemberClient,
  type MemberStatus,
  memberClient,
  type NewMember,
  refusalReason,
} from "./member-api.ts";
import { addClientOptions, type ClientFlags, withClient } from "./options.ts";
import { parseNodeId } from "./peers.ts";
import { UsageError } from "./usage-error.ts";
import { writeExact } from "./value-io.ts";

interface JsonFlag extends ClientFlags {
  readonly json?: boolean;
}

interface AddFlags extends JsonFlag {
  readonly peerAddr: string;
  readonly clientAddr: string;
  readonly learner?: boolean;
}

interface TransferFlags extends JsonFlag {
  readonly to?: number;
}

/** Registers `member` (with its subcommands) on `program`. */
export function addMemberCommands(program: Command): void {
  const member = program
    .command("member")
    .description("list the cluster's members, add, promote or remove one");
  const list = member
    .command("list")
    .description("every member as the leader sees it: voter or learner, addresses, lag")
    .option("--json", "print a JSON array");
  addClientOptions(list, DEFAULT_TIMEOUT_MS).action(async (flags: JsonFlag) => {
    const members = await withClient(flags, (c) => memberClient(c).memberList());
    await print(flags, members, null);
  });

  const add = member
    .command("add")
    .description("add a member (a learner with --learner: it gets the log but does not vote)")
    .argument("<id>", "the new member's id: a positive integer never used in this cluster", idArg)
    .requiredOption("--peer-addr <host:port>", "where members reach its peer listener")
    .requiredOption("--client-addr <host:port>", "where clients reach it")
    .option("--learner", "add it as a learner; promote it once it caught up")
    .option("--json", "print the new member list as a JSON array");
  addClientOptions(add, DEFAULT_TIMEOUT_MS).action(async (id: number, flags: AddFlags) => {
    const next = newMember(id, flags);
    const members = await withClient(flags, (c) => memberClient(c).memberAdd(next));
    const as = next.learner ? "a learner" : "a voter";
    await print(flags, members, `member ${id} added as ${as}`);
  });

  const promote = member
    .command("promote")
    .description("make a learner a voter (refused until it has caught up)")
    .argument("<id>", "the learner's id", idArg)
    .option("--json", "print the new member list as a JSON array");
  addClientOptions(promote, DEFAULT_TIMEOUT_MS).action(async (id: number, flags: JsonFlag) => {
    const members = await withClient(flags, (c) => memberClient(c).memberPromote(id));
    await print(flags, members, `member ${id} promoted to voter`);
  });

  const remove = member
    .command("remove")
    .description("remove a member for good (its id is never reused); a leader hands over first")
    .argument("<id>", "the member's id", idArg)
    .option("--json", "print the new member list as a JSON array");
  addClientOptions(remove, DEFAULT_TIMEOUT_MS).action(async (id: number, flags: JsonFlag) => {
    const done = await withClient(flags, (c) => removeOnce(memberClient(c), id));
    await print(flags, done.members, `member ${id} removed${done.already ? " (already)" : ""}`);
  });
}

/** Registers `leader` (with `transfer`) on `program`. */
export function addLeaderCommands(program: Command): void {
  const leader = program.command("leader").description("hand leadership to another voter");
  const transfer = leader
    .command("transfer")
    .description("make another voter the leader (default: the most caught-up one)")
    .option("--to <id>", "the voter to hand over to", idOption)
    .option("--json", 'print {"from": ID, "to": ID}');
  addClientOptions(transfer, DEFAULT_TIMEOUT_MS).action(async (flags: TransferFlags) => {
    const result = await withClient(flags, (c) => transferOnce(memberClient(c), flags.to ?? 0));
    const text = flags.json
      ? `${JSON.stringify(result)}\n`
      : result.from === result.to
        ? `member ${result.to} already leads\n`
        : `leadership transferred from member ${result.from} to member ${result.to}\n`;
    await writeExact(Buffer.from(text));
  });
}

/**
 * Removes member `id`; removing a member that is already removed succeeds. That is what
 * an operator means, and it makes a retry safe when an answer was lost (a removed leader
 * that stopped before its answer arrived: the client's retry at the next leader finds
 * the id on the removed list, `not_found` "was already removed").
 */
export async function removeOnce(
  client: MemberClient,
  id: number,
): Promise<{ members: MemberStatus[]; already: boolean }> {
  try {
    return { members: await client.memberRemove(id), already: false };
  } catch (err) {
    if (refusalReason(err) !== "not_found" || !/already removed/.test((err as Error).message)) {
      throw err;
    }
    return { members: await client.memberList(), already: true };
  }
}

/**
 * Hands leadership to `to` (0: the best voter). Asking for the member that already leads
 * succeeds with from = to: the operator's goal holds (the leader refuses it as
 * `bad_target`, being no *other* voter).
 */
export async function transferOnce(
  client: MemberClient,
  to: number,
): Promise<{ from: number; to: number }> {
  try {
    return await client.leaderTransfer(to);
  } catch (err) {
    if (to === 0 || refusalReason(err) !== "bad_target") throw err;
    const leader = (await client.memberList()).find((m) => m.leader);
    if (leader?.id !== to) throw err;
    return { from: to, to };
  }
}

/** Checks `member add`'s flags; throws {@link UsageError} naming the bad one. */
export function newMember(
  id: number,
  flags: Pick<AddFlags, "peerAddr" | "clientAddr" | "learner">,
): NewMember {
  const peerAddr = address("--peer-addr", flags.peerAddr);
  const clientAddr = address("--client-addr", flags.clientAddr);
  if (peerAddr.toLowerCase() === clientAddr.toLowerCase()) {
    throw new UsageError(
      `--peer-addr and --client-addr are both ${peerAddr}; a node listens on two ports`,
    );
  }
  return { id, peerAddr, clientAddr, learner: flags.learner === true };
}

function address(flag: string, text: string): string {
  const parsed = parseHostPort(text.trim());
  if (!parsed.ok) throw new UsageError(`${flag} '${text}' is not host:port: ${parsed.problem}`);
  return `${parsed.value.host}:${parsed.value.port}`;
}

/** Parses a member id argument; a usage error (exit 2) if it is not a positive integer. */
export function parseMemberId(what: string, text: string): number {
  const id = parseNodeId(text);
  if (id === null) throw new UsageError(`${what} '${text}' is not a positive integer`);
  return id;
}

function idArg(text: string): number {
  return parseMemberId("member id", text);
}

function idOption(text: string): number {
  return parseMemberId("--to", text);
}

async function print(flags: JsonFlag, members: MemberStatus[], done: string | null) {
  if (flags.json) {
    await writeExact(Buffer.from(`${JSON.stringify(members, null, 2)}\n`));
    return;
  }
  await writeExact(Buffer.from(`${done === null ? "" : `ok: ${done}\n`}${formatMembers(members)}`));
}

const HEADER = ["ID", "ROLE", "CLIENT", "PEER", "MATCH", "LAG", "REACHABLE", "IDENTITY"];

/**
 * The member list as an aligned table, voters first (the leader marked `leader`), then
 * learners, each by id. LAG is how many entries the member is behind the leader's log.
 */
export function formatMembers(members: readonly MemberStatus[]): string {
  const sorted = [...members].sort(
    (a, b) =>
      Number(a.learner) - Number(b.learner) || Number(b.leader) - Number(a.leader) || a.id - b.id,
  );
  const rows = sorted.map((m) => [
    String(m.id),
    m.learner ? "learner" : m.leader ? "leader" : "voter",
    m.clientAddr,
    m.peerAddr,
    String(m.match),
    m.leader ? "-" : String(m.lag),
    m.leader ? "-" : m.reachable ? "yes" : "no",
    m.identity === "" ? "-" : m.identity,
  ]);
  const widths = HEADER.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const lines = [HEADER, ...rows].map((row) =>
    row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] ?? 0) : cell)).join("  "),
  );
  return `${lines.join("\n")}\n`;
}

/** `2 voters, 1 learner`: the shape of a configuration in a few words. */
export function summarizeMembers(members: readonly MemberStatus[]): string {
  const learners = members.filter((m) => m.learner).length;
  const voters = members.length - learners;
  return `${voters} voter${voters === 1 ? "" : "s"}, ${learners} learner${learners === 1 ? "" : "s"}`;
}
