/**
 * Who a client command runs as: `--user NAME[:PASSWORD]` (or DFS_USER, same syntax), the
 * password from the flag, DFS_PASSWORD, or a prompt without echo on a terminal. Resolved
 * before the command does anything (a `preAction` hook), so a prompt never races the
 * command's own use of stdin, and a script without a password fails at once with exit 2
 * instead of hanging on a prompt nobody sees. See docs/auth.md "Commands".
 */
import { canPrompt, promptHidden, type Terminal } from "./prompt.ts";
import { UsageError } from "./usage-error.ts";

/** Environment variable with the default `--user`. */
export const USER_ENV = "DFS_USER";
/** Environment variable with the password of `--user` when the flag names none. */
export const PASSWORD_ENV = "DFS_PASSWORD";

/** Names of users and roles: the rule every node applies (docs/auth.md "The model"). */
export const AUTH_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

/** Longest password, in bytes (the node refuses longer ones too). */
export const MAX_PASSWORD_BYTES = 1024;

/** A user and password to log in with. */
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** Checks a user or role name; throws {@link UsageError} naming `what`. */
export function checkAuthName(what: string, name: string): string {
  if (AUTH_NAME.test(name)) return name;
  throw new UsageError(`${what} '${name}' is not 1-64 characters of letters, digits and _ . @ -`);
}

/** Checks a password's length; throws {@link UsageError}. */
export function checkPassword(password: string, whose: string): string {
  const bytes = Buffer.byteLength(password);
  if (bytes === 0) throw new UsageError(`the password of ${whose} is empty`);
  if (bytes > MAX_PASSWORD_BYTES) {
    throw new UsageError(
      `the password of ${whose} is ${bytes} bytes; at most ${MAX_PASSWORD_BYTES}`,
    );
  }
  return password;
}

/** Splits `NAME[:PASSWORD]` at the first colon (names have none; passwords may). */
export function parseUserFlag(text: string): { user: string; password?: string } {
  const colon = text.indexOf(":");
  const user = checkAuthName("--user", colon < 0 ? text : text.slice(0, colon));
  if (colon < 0) return { user };
  return { user, password: checkPassword(text.slice(colon + 1), user) };
}

/**
 * The credentials of a command from its `--user` value (commander already fell back to
 * DFS_USER), or undefined when none was given. Throws {@link UsageError} for a bad name,
 * or for a missing password when stdin is not a terminal.
 */
export async function resolveCredentials(
  userFlag: string | undefined,
  env: NodeJS.ProcessEnv,
  terminal: Terminal,
): Promise<Credentials | undefined> {
  if (userFlag === undefined) return undefined;
  const { user, password } = parseUserFlag(userFlag);
  if (password !== undefined) return { user, password };
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== "")
    return { user, password: checkPassword(fromEnv, user) };
  if (!canPrompt(terminal)) {
    throw new UsageError(
      `no password for user ${user}: give --user ${user}:PASSWORD or set ${PASSWORD_ENV} (stdin is not a terminal to ask on)`,
    );
  }
  return {
    user,
    password: checkPassword(await promptHidden(`Password of ${user}: `, terminal), user),
  };
}

/**
 * A new password for `user add` / `user passwd`: `--password P`, `--password-stdin` (all of
 * stdin less one trailing newline), or asked twice on a terminal. Exactly one source.
 */
export async function newPassword(
  user: string,
  flags: { readonly password?: string; readonly passwordStdin?: boolean },
  terminal: Terminal,
  readStdin: () => Promise<string>,
): Promise<string> {
  if (flags.password !== undefined && flags.passwordStdin) {
    throw new UsageError("give either --password or --password-stdin, not both");
  }
  if (flags.password !== undefined) return checkPassword(flags.password, user);
  if (flags.passwordStdin) return checkPassword((await readStdin()).replace(/\r?\n$/, ""), user);
  if (!canPrompt(terminal)) {
    throw new UsageError(
      `no password for user ${user}: give --password or --password-stdin (stdin is not a terminal to ask on)`,
    );
  }
  const first = checkPassword(await promptHidden(`Password of ${user}: `, terminal), user);
  const again = await promptHidden(`Type the password of ${user} again: `, terminal);
  if (again !== first) throw new UsageError(`the two passwords of ${user} differ; nothing changed`);
  return first;
}

/** All of stdin as UTF-8 text. */
export async function readAllStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stdin) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts).toString("utf8");
}
