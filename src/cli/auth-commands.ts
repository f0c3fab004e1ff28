/**
 * `dfs auth enable|disable|status`: the switch of issue 18 (docs/auth.md). Enabling needs
 * a user `root` and makes every later call need credentials, so the command says what to
 * do next; `status` asks the nodes' Status (which needs no credentials) so anyone can see
 * whether they must log in.
 */
import type { Command } from "commander";
import { DfsError } from "../api/index.ts";
import {
  type AuthChange,
  DEFAULT_TIMEOUT_MS,
  type DfsClient,
  type S3AccessKey,
} from "../client/index.ts";
import type { StatusResponse } from "../gen/dfs.ts";
import { addClientOptions, type ClientFlags, parseEndpoints, withClient } from "./options.ts";
import { STATUS_TIMEOUT_MS } from "./status-command.ts";
import { writeExact } from "./value-io.ts";

/** Registers `auth` with its subcommands on `program`. */
export function addAuthCommands(program: Command): void {
  const auth = program
    .command("auth")
    .description("turn auth on or off, or show whether it is on (docs/auth.md)");
  const enable = auth
    .command("enable")
    .description("require credentials on every call from now on (needs a user root)");
  addClientOptions(enable, DEFAULT_TIMEOUT_MS).action(async (flags: ClientFlags) => {
    const { index } = await change(flags, { op: "enable" });
    await say(`ok: auth enabled (index ${index}); log in with --user root from now on`);
  });
  const disable = auth.command("disable").description("let every call through again (admin)");
  addClientOptions(disable, DEFAULT_TIMEOUT_MS).action(async (flags: ClientFlags) => {
    const { index } = await change(flags, { op: "disable" });
    await say(`ok: auth disabled (index ${index})`);
  });
  const status = auth
    .command("status")
    .description("whether auth is on, as the leader sees it (needs no credentials)")
    .option("--json", 'print {"enabled": BOOL, "node": ID}');
  addClientOptions(status, STATUS_TIMEOUT_MS).action(
    async (flags: ClientFlags & { json?: boolean }) => {
      const s = await leaderStatus(flags);
      await say(
        flags.json
          ? JSON.stringify({ enabled: s.authEnabled, node: s.id })
          : `auth: ${s.authEnabled ? "enabled" : "disabled"}`,
      );
    },
  );
}

/** Runs one auth change with the command's client; resolves with its log index. */
export function change(
  flags: ClientFlags,
  what: AuthChange,
): Promise<{ index: number; s3Key?: S3AccessKey }> {
  return withClient(flags, (client: DfsClient) => client.authChange(what));
}

/** Writes one line to stdout. */
export async function say(line: string): Promise<void> {
  await writeExact(Buffer.from(`${line}\n`));
}

/**
 * The Status of the node that leads (the first that answers when none says it leads);
 * `unavailable` when no endpoint answers.
 */
async function leaderStatus(flags: ClientFlags): Promise<StatusResponse> {
  const endpoints = parseEndpoints(flags.endpoints);
  return withClient(flags, async (client) => {
    const answers = await Promise.all(
      endpoints.map((e) =>
        client.status(e).then(
          (s) => s,
          (error: unknown) => error as Error,
        ),
      ),
    );
    const ok = answers.filter((a): a is StatusResponse => !(a instanceof Error));
    const best = ok.find((s) => s.role === "leader") ?? ok[0];
    if (best !== undefined) return best;
    const why = answers.map((a, i) => `${endpoints[i]} (${(a as Error).message})`).join(", ");
    throw new DfsError("unavailable", `no node answered: ${why}`);
  });
}
