/**
 * `dfs role add|delete|grant|revoke|list|get` (docs/auth.md): roles hold key-range
 * permissions (`--key K` for one key, `--prefix P` for every key starting with P; `""` is
 * every key) with `--read`, `--write`, `--list`, and the admin flag. Flag combinations are
 * checked here (exit 2) so a grant never goes out meaning something other than intended.
 */
import type { Command } from "commander";
import { checkKey, DfsError } from "../api/index.ts";
import { DEFAULT_TIMEOUT_MS, type KeyPermission, type PermissionRange } from "../client/index.ts";
import type { Permission, RoleInfo } from "../gen/dfs.ts";
import { change, say } from "./auth-commands.ts";
import { checkAuthName } from "./credentials.ts";
import { addClientOptions, type ClientFlags, tlsKeyAs, withClient } from "./options.ts";
import { UsageError } from "./usage-error.ts";

/** The permission flags of `role grant` and `role revoke`. */
export interface PermissionFlags {
  readonly prefix?: string;
  readonly key?: string;
  readonly read?: boolean;
  readonly write?: boolean;
  readonly list?: boolean;
  readonly admin?: boolean;
}

interface JsonFlags extends ClientFlags {
  readonly json?: boolean;
}

/** What a grant or revoke changes: a permission, the admin flag, or both. */
export interface RoleEdit<P> {
  readonly permission?: P;
  readonly admin: boolean;
}

/** Checks `role grant`'s flags; throws {@link UsageError} saying what is missing. */
export function grantOf(flags: PermissionFlags): RoleEdit<KeyPermission> {
  const range = rangeOf(flags);
  const actions = { read: !!flags.read, write: !!flags.write, list: !!flags.list };
  const some = actions.read || actions.write || actions.list;
  if (range === undefined) {
    if (some) throw new UsageError("--read, --write and --list need --prefix P or --key K");
    if (!flags.admin)
      throw new UsageError("give --prefix P or --key K with --read/--write/--list, or --admin");
    return { admin: true };
  }
  if (!some) throw new UsageError("a permission needs at least one of --read, --write, --list");
  return { permission: { ...range, ...actions }, admin: !!flags.admin };
}

/** Checks `role revoke`'s flags; throws {@link UsageError} saying what is wrong. */
export function revokeOf(flags: PermissionFlags): RoleEdit<PermissionRange> {
  if (flags.read || flags.write || flags.list) {
    throw new UsageError(
      "revoke removes a whole permission by --prefix or --key; --read, --write and --list do not apply",
    );
  }
  const range = rangeOf(flags);
  if (range === undefined && !flags.admin)
    throw new UsageError("give --prefix P, --key K or --admin");
  return { ...(range !== undefined ? { permission: range } : {}), admin: !!flags.admin };
}

function rangeOf(flags: PermissionFlags): PermissionRange | undefined {
  if (flags.prefix !== undefined && flags.key !== undefined) {
    throw new UsageError("give either --prefix or --key, not both");
  }
  if (flags.key !== undefined) {
    checkKey(flags.key);
    return { key: flags.key, prefix: false };
  }
  if (flags.prefix === undefined) return undefined;
  if (flags.prefix !== "") checkKey(flags.prefix.replace(/\/+$/, ""));
  return { key: flags.prefix, prefix: true };
}

/** Registers `role` with its subcommands on `program`. */
export function addRoleCommands(program: Command): void {
  const role = program
    .command("role")
    .description("add, change, list and delete roles and their permissions (admin)");

  const add = role.command("add").description("add a role").argument("<role>", "its name", roleArg);
  addClientOptions(add, DEFAULT_TIMEOUT_MS).action(async (name: string, flags: ClientFlags) => {
    const { index } = await change(flags, { op: "role_add", name });
    await say(`ok: role ${name} added (index ${index})`);
  });

  const del = role
    .command("delete")
    .description("delete a role (every user loses it)")
    .argument("<role>", "its name", roleArg);
  addClientOptions(del, DEFAULT_TIMEOUT_MS).action(async (name: string, flags: ClientFlags) => {
    const { index } = await change(flags, { op: "role_delete", name });
    await say(`ok: role ${name} deleted (index ${index})`);
  });

  const grant = withPermissionFlags(
    role
      .command("grant")
      .description("grant a permission (the same key and prefix again replaces its flags) or admin")
      .argument("<role>", "the role", roleArg),
  )
    .option("--read", "allow get, stat, download")
    .option("--write", "allow put, upload, delete, compare-and-set, rm -r")
    .option("--list", "show the keys in listings");
  addClientOptions(grant, DEFAULT_TIMEOUT_MS, "--cert-key").action(
    async (name: string, flags: PermissionFlags & ClientFlags) => {
      const edit = grantOf(flags);
      const { index } = await change(tlsKeyAs(flags), { op: "role_grant", role: name, ...edit });
      await say(`ok: role ${name} granted ${describeEdit(edit)} (index ${index})`);
    },
  );

  const revoke = withPermissionFlags(
    role
      .command("revoke")
      .description("remove a permission (by --prefix or --key) or admin from a role")
      .argument("<role>", "the role", roleArg),
  )
    .option("--read", "(not applicable: revoke removes the whole permission)")
    .option("--write", "(not applicable)")
    .option("--list", "(not applicable)");
  addClientOptions(revoke, DEFAULT_TIMEOUT_MS, "--cert-key").action(
    async (name: string, flags: PermissionFlags & ClientFlags) => {
      const edit = revokeOf(flags);
      const { index } = await change(tlsKeyAs(flags), { op: "role_revoke", role: name, ...edit });
      await say(`ok: role ${name} lost ${describeEdit(edit)} (index ${index})`);
    },
  );

  const list = role.command("list").description("every role").option("--json", "a JSON array");
  addClientOptions(list, DEFAULT_TIMEOUT_MS).action(async (flags: JsonFlags) => {
    const { roles } = await withClient(flags, (c) => c.authRead());
    await say(flags.json ? JSON.stringify(roles) : roles.map((r) => r.name).join("\n"));
  });

  const get = role
    .command("get")
    .description("a role's admin flag and permissions")
    .argument("<role>", "the role", roleArg)
    .option("--json", "a JSON object");
  addClientOptions(get, DEFAULT_TIMEOUT_MS).action(async (name: string, flags: JsonFlags) => {
    const { roles } = await withClient(flags, (c) => c.authRead());
    const found = roles.find((r) => r.name === name);
    if (found === undefined) throw new DfsError("not_found", `role ${name} does not exist`);
    await say(flags.json ? JSON.stringify(found) : formatRole(found));
  });
}

function withPermissionFlags(command: Command): Command {
  return command
    .option("--prefix <prefix>", "every key starting with PREFIX ('' = every key)")
    .option("--key <key>", "exactly this key")
    .option("--admin", "the admin flag: membership, auth, users and roles");
}

/** One role as `dfs role get` prints it. */
export function formatRole(r: RoleInfo): string {
  const lines = [`role: ${r.name}`, `admin: ${r.admin ? "yes" : "no"}`];
  if (r.permissions.length === 0) lines.push("permissions: none");
  else lines.push("permissions:", ...r.permissions.map((p) => `  ${describePermission(p)}`));
  return lines.join("\n");
}

/** `read,write prefix photos/` or `read key a.txt`. */
export function describePermission(p: Permission): string {
  const actions = [p.read && "read", p.write && "write", p.list && "list"].filter(Boolean);
  const range = p.prefix ? `prefix ${JSON.stringify(p.key)}` : `key ${JSON.stringify(p.key)}`;
  return `${actions.join(",") || "-"} ${range}`;
}

function describeEdit(edit: RoleEdit<PermissionRange | KeyPermission>): string {
  const parts: string[] = [];
  const p = edit.permission;
  if (p !== undefined) {
    parts.push(
      "read" in p
        ? describePermission(p)
        : `the permission on ${p.prefix ? "prefix" : "key"} ${JSON.stringify(p.key)}`,
    );
  }
  if (edit.admin) parts.push("admin");
  return parts.join(" and ");
}

function roleArg(text: string): string {
  return checkAuthName("role name", text);
}
