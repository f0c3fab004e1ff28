/**
 * `dfs user add|delete|passwd|list|get|grant-role|revoke-role` (docs/auth.md). Passwords
 * come from `--password`, `--password-stdin` or a prompt without echo, never from a place
 * a script could hang on; names are checked here (exit 2) before anything is sent.
 */
import type { Command } from "commander";
import { DfsError } from "../api/index.ts";
import { DEFAULT_TIMEOUT_MS } from "../client/index.ts";
import type { UserInfo } from "../gen/dfs.ts";
import { change, say } from "./auth-commands.ts";
import { checkAuthName, newPassword, readAllStdin } from "./credentials.ts";
import { addClientOptions, type ClientFlags, withClient } from "./options.ts";
import { processTerminal } from "./prompt.ts";
import { UsageError } from "./usage-error.ts";

interface PasswordFlags extends ClientFlags {
  /** A string from `--password P`; false from `--no-password`. */
  readonly password?: string | false;
  readonly passwordStdin?: boolean;
}

interface JsonFlags extends ClientFlags {
  readonly json?: boolean;
}

/** Registers `user` with its subcommands on `program`. */
export function addUserCommands(program: Command): void {
  const user = program.command("user").description("add, change, list and delete users (admin)");

  const add = user
    .command("add")
    .description("add a user; asks for its password twice unless given")
    .argument("<name>", "1-64 characters of letters, digits and _ . @ -", nameArg)
    .option("--password <password>", "the password (visible in ps and shell history)")
    .option("--password-stdin", "read the password from stdin (one trailing newline dropped)")
    .option("--no-password", "no password: only a client certificate with this CN logs in");
  addClientOptions(add, DEFAULT_TIMEOUT_MS).action(async (name: string, flags: PasswordFlags) => {
    const password = flags.password === false ? undefined : await passwordOf(name, flags);
    const { index } = await change(flags, {
      op: "user_add",
      name,
      ...(password !== undefined ? { password } : {}),
    });
    await say(`ok: user ${name} added (index ${index})`);
  });

  const passwd = user
    .command("passwd")
    .description("change a user's password; its tokens stop working at once")
    .argument("<name>", "the user", nameArg)
    .option("--password <password>", "the new password (visible in ps and shell history)")
    .option("--password-stdin", "read the new password from stdin");
  addClientOptions(passwd, DEFAULT_TIMEOUT_MS).action(
    async (name: string, flags: PasswordFlags) => {
      const password = await passwordOf(name, flags);
      const { index } = await change(flags, { op: "user_passwd", name, password });
      await say(`ok: password of user ${name} changed (index ${index})`);
    },
  );

  const del = user
    .command("delete")
    .description("delete a user; its tokens stop working at once")
    .argument("<name>", "the user", nameArg);
  addClientOptions(del, DEFAULT_TIMEOUT_MS).action(async (name: string, flags: ClientFlags) => {
    const { index } = await change(flags, { op: "user_delete", name });
    await say(`ok: user ${name} deleted (index ${index})`);
  });

  for (const [verb, op, done] of [
    ["grant-role", "user_grant_role", "granted to"],
    ["revoke-role", "user_revoke_role", "revoked from"],
  ] as const) {
    const command = user
      .command(verb)
      .description(`${verb === "grant-role" ? "give a user" : "take from a user"} a role`)
      .argument("<name>", "the user", nameArg)
      .argument("<role>", "the role", roleArg);
    addClientOptions(command, DEFAULT_TIMEOUT_MS).action(
      async (name: string, role: string, flags: ClientFlags) => {
        const { index } = await change(flags, { op, name, role });
        await say(`ok: role ${role} ${done} user ${name} (index ${index})`);
      },
    );
  }

  addS3KeyCommands(user);

  const list = user.command("list").description("every user").option("--json", "a JSON array");
  addClientOptions(list, DEFAULT_TIMEOUT_MS).action(async (flags: JsonFlags) => {
    const { users } = await withClient(flags, (c) => c.authRead());
    if (flags.json) await say(JSON.stringify(users));
    else await say(users.map((u) => u.name).join("\n") || "(no users)");
  });

  const get = user
    .command("get")
    .description("a user's roles and whether it has a password")
    .argument("<name>", "the user", nameArg)
    .option("--json", "a JSON object");
  addClientOptions(get, DEFAULT_TIMEOUT_MS).action(async (name: string, flags: JsonFlags) => {
    const { users } = await withClient(flags, (c) => c.authRead());
    const found = users.find((u) => u.name === name);
    if (found === undefined) throw new DfsError("not_found", `user ${name} does not exist`);
    await say(flags.json ? JSON.stringify(found) : formatUser(found));
  });
}

/** One user as `dfs user get` prints it. */
export function formatUser(u: UserInfo): string {
  const roles = u.roles.length === 0 ? "-" : u.roles.join(", ");
  const keys = u.s3AccessKeys.length === 0 ? "" : `\ns3 access keys: ${u.s3AccessKeys.join(", ")}`;
  return `user: ${u.name}\npassword: ${u.hasPassword ? "yes" : "no"}\nroles: ${roles}${keys}`;
}

/**
 * `dfs user s3-key add NAME` and `dfs user s3-key delete KEY` (docs/auth.md "S3 access
 * keys"): the node draws the key and secret; the secret is printed this once and can
 * never be read back (AuthRead shows key ids only).
 */
function addS3KeyCommands(user: Command): void {
  const s3 = user.command("s3-key").description("add or delete a user's S3 access keys (admin)");
  const add = s3
    .command("add")
    .description("give a user a new S3 access key; prints the key and its secret once")
    .argument("<name>", "the user", nameArg)
    .option("--json", "print {accessKey, secret} as JSON");
  addClientOptions(add, DEFAULT_TIMEOUT_MS).action(async (name: string, flags: JsonFlags) => {
    const { index, s3Key } = await change(flags, { op: "s3_key_add", user: name });
    if (s3Key === undefined) throw new DfsError("internal", "the node returned no S3 key");
    if (flags.json) await say(JSON.stringify({ user: name, ...s3Key, index }));
    else
      await say(
        `ok: S3 access key for user ${name} (index ${index}); the secret is shown only now\n` +
          `access key: ${s3Key.accessKey}\nsecret key: ${s3Key.secret}`,
      );
  });
  const del = s3
    .command("delete")
    .description("delete an S3 access key; requests signed with it fail at once")
    .argument("<access-key>", "the access key (DFS...)", accessKeyArg);
  addClientOptions(del, DEFAULT_TIMEOUT_MS).action(
    async (accessKey: string, flags: ClientFlags) => {
      const { index } = await change(flags, { op: "s3_key_delete", accessKey });
      await say(`ok: S3 access key ${accessKey} deleted (index ${index})`);
    },
  );
}

function accessKeyArg(text: string): string {
  if (!/^DFS[A-Z0-9]{17}$/.test(text))
    throw new UsageError(
      `bad S3 access key '${text.slice(0, 40)}': 20 characters of A-Z 0-9 starting with DFS`,
    );
  return text;
}

function passwordOf(name: string, flags: PasswordFlags): Promise<string> {
  const password = typeof flags.password === "string" ? flags.password : undefined;
  return newPassword(
    name,
    {
      ...(password !== undefined ? { password } : {}),
      passwordStdin: flags.passwordStdin === true,
    },
    processTerminal(),
    () => readAllStdin(),
  );
}

function nameArg(text: string): string {
  return checkAuthName("user name", text);
}

function roleArg(text: string): string {
  return checkAuthName("role name", text);
}
