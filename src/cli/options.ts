/**
 * Flags shared by several commands and their parsers, so `--timeout`, `--endpoints` and
 * every numeric flag are spelled, defaulted and validated the same way everywhere.
 */
import { type Command, Option } from "commander";
import type { ClientTls } from "../client/index.ts";
import { DfsClient, parseHostPort } from "../client/index.ts";
import { type Credentials, resolveCredentials, USER_ENV } from "./credentials.ts";
import { processTerminal } from "./prompt.ts";
import { readOptionalPem, requireTogether } from "./tls-files.ts";
import { UsageError } from "./usage-error.ts";

/** The dev cluster's addresses (`npm start`), so the CLI works there without flags. */
export const DEFAULT_ENDPOINTS = "localhost:50051,localhost:50052,localhost:50053";

/** Environment variable that replaces {@link DEFAULT_ENDPOINTS} for a whole shell session. */
export const ENDPOINTS_ENV = "DFS_ENDPOINTS";

/** Flags every client command has; `endpoints` is still the raw comma-separated text. */
export interface ClientFlags {
  readonly endpoints: string;
  readonly timeout: number;
  readonly debug?: boolean;
  /** etcdctl's TLS flags: CA file to verify servers, client certificate and key files. */
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
  /** `--user NAME[:PASSWORD]` as given (or DFS_USER). */
  readonly user?: string;
  /** The user and password resolved from `user` before the action ran (see credentials.ts). */
  readonly credentials?: Credentials;
}

/**
 * An argParser accepting integers in [min, max] written as plain digits, so `1e3`,
 * `0x10` or `12ms` are refused instead of silently meaning something else.
 */
export function intFlag(flag: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
    if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
    throw new UsageError(`${flag} '${text}' is not an integer in ${min}..${max}`);
  };
}

/** Parser for `--port`: a TCP port to listen on. */
export const parsePort = intFlag("--port", 1, 65535);

/**
 * Adds `--endpoints`, `--timeout`, `--debug`, `--user` and the TLS flags to a client
 * command, and resolves `--user`'s password (flag, DFS_PASSWORD or a prompt) into the
 * command's `credentials` before its action runs. `tlsKeyFlag` is `--cert-key` where
 * `--key` means something else (`dfs role grant --key K`); read it with {@link tlsKeyAs}.
 */
export function addClientOptions(
  command: Command,
  defaultTimeoutMs: number,
  tlsKeyFlag: "--key" | "--cert-key" = "--key",
): Command {
  return command
    .addOption(
      new Option(
        "--user <name[:password]>",
        "log in as this user (auth); the password from here, DFS_PASSWORD, or a prompt",
      ).env(USER_ENV),
    )
    .hook("preAction", async (self) => {
      const user = self.getOptionValue("user") as string | undefined;
      const credentials = await resolveCredentials(user, process.env, processTerminal());
      if (credentials !== undefined) self.setOptionValue("credentials", credentials);
    })
    .addOption(
      new Option("--endpoints <list>", "comma-separated host:port of cluster nodes")
        .env(ENDPOINTS_ENV)
        .default(DEFAULT_ENDPOINTS),
    )
    .addOption(
      new Option("--timeout <ms>", "deadline of the whole operation in milliseconds")
        .argParser(intFlag("--timeout", 1, 24 * 3600 * 1000))
        .default(defaultTimeoutMs),
    )
    .option("--cacert <file>", "use TLS; verify the servers with this CA certificate (PEM)")
    .option("--cert <file>", "use TLS; present this client certificate (PEM)")
    .option(`${tlsKeyFlag} <file>`, "the private key of --cert (PEM)")
    .option("--debug", "print stack traces of internal errors");
}

/**
 * The TLS settings from `--cacert/--cert/--key` (undefined: plain text). Any of them
 * turns TLS on; `--cert` and `--key` go together. Throws {@link UsageError} naming the
 * flag and file that cannot be used.
 */
export function clientTlsFrom(flags: ClientFlags): ClientTls | undefined {
  requireTogether({ "--cert": flags.cert, "--key": flags.key });
  if (flags.cacert === undefined && flags.cert === undefined) return undefined;
  const ca = readOptionalPem("--cacert", flags.cacert);
  const cert = readOptionalPem("--cert", flags.cert);
  const key = readOptionalPem("--key", flags.key);
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}

/** Splits and checks `--endpoints`; throws {@link UsageError} naming the bad entry. */
export function parseEndpoints(list: string): string[] {
  const endpoints = list.split(",").map((entry) => entry.trim());
  for (const endpoint of endpoints) {
    const parsed = parseHostPort(endpoint);
    if (!parsed.ok) {
      throw new UsageError(`--endpoints entry '${endpoint}' is not host:port: ${parsed.problem}`);
    }
  }
  return endpoints;
}

/** Runs `body` with a client built from the flags, and always closes it so the process can exit. */
export async function withClient<T>(
  flags: ClientFlags,
  body: (client: DfsClient) => Promise<T>,
): Promise<T> {
  const tls = clientTlsFrom(flags);
  const client = new DfsClient({
    endpoints: parseEndpoints(flags.endpoints),
    timeoutMs: flags.timeout,
    ...(tls !== undefined ? { tls } : {}),
    ...loginOf(flags),
  });
  try {
    return await body(client);
  } finally {
    client.close();
  }
}

/** The `user` and `password` options of a DfsClient for the command's credentials. */
export function loginOf(flags: Pick<ClientFlags, "credentials">): {
  user?: string;
  password?: string;
} {
  const c = flags.credentials;
  return c === undefined ? {} : { user: c.user, password: c.password };
}

/** Flags of a command registered with `--cert-key`, as {@link withClient} reads them. */
export function tlsKeyAs<F extends ClientFlags>(flags: F & { certKey?: string }): ClientFlags {
  const { key: _permissionKey, certKey, ...rest } = flags;
  return { ...rest, ...(certKey !== undefined ? { key: certKey } : {}) };
}
