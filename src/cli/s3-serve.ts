/**
 * Starting the S3 gateway from the CLI (`dfs gateway`, `dfs server --s3-port`): its
 * flags, the choice of key source (a static pair when the cluster's auth is off; access
 * keys mapped through S3Credentials when it is on) and the line saying where it listens.
 */
import { type Command, Option } from "commander";
import { DfsClient, type DfsClientOptions } from "../client/index.ts";
import { AutoKeys, ClusterKeys, S3Gateway, StaticKeys } from "../s3/index.ts";
import { intFlag } from "./options.ts";
import { UsageError } from "./usage-error.ts";

/** Environment variables of the static key pair (auth off). */
export const S3_ACCESS_KEY_ENV = "DFS_S3_ACCESS_KEY";
export const S3_SECRET_KEY_ENV = "DFS_S3_SECRET_KEY";

/** The gateway's flags. */
export interface S3Flags {
  readonly s3Port?: number;
  readonly s3Host?: string;
  readonly s3AccessKey?: string;
  readonly s3SecretKey?: string;
  readonly s3Anonymous?: boolean;
  readonly s3Region?: string;
  readonly s3Domain?: string;
}

/** Adds the `--s3-*` flags to `command`. */
export function addS3Options(command: Command): Command {
  return command
    .addOption(
      new Option("--s3-port <port>", "serve the S3 API on this port (docs/s3.md)").argParser(
        intFlag("--s3-port", 0, 65535),
      ),
    )
    .option("--s3-host <host>", "host to bind the S3 port to (default 0.0.0.0)")
    .addOption(
      new Option("--s3-access-key <key>", "S3 access key when the cluster's auth is off").env(
        S3_ACCESS_KEY_ENV,
      ),
    )
    .addOption(
      new Option("--s3-secret-key <secret>", "S3 secret key when the cluster's auth is off").env(
        S3_SECRET_KEY_ENV,
      ),
    )
    .option("--s3-anonymous", "accept unsigned S3 requests (auth off only; for tests and demos)")
    .option("--s3-region <region>", "region the gateway names itself (default us-east-1)")
    .option(
      "--s3-domain <domains>",
      "comma-separated domains for virtual-host-style buckets (<bucket>.<domain>; default localhost)",
    );
}

/** What a running gateway needs to be stopped. */
export interface RunningGateway {
  readonly port: number;
  readonly mode: string;
  close(): Promise<void>;
}

/**
 * Starts a gateway in front of the cluster reached by `clientOptions`. With a user (an
 * admin: S3Credentials is admin-only) it maps access keys while the cluster's auth is
 * on; the static key pair (or anonymous access) serves while it is off. Throws
 * UsageError when, as the cluster is now, no request could ever be authenticated.
 */
export async function startS3(
  flags: S3Flags,
  clientOptions: DfsClientOptions,
  probeEndpoint: string,
  log: (line: string) => void,
): Promise<RunningGateway> {
  // Auth off: requests act through a client without login (a user that does not exist
  // yet must not break them); auth on: the admin client maps keys to per-user clients.
  const client = new DfsClient(withoutLogin(clientOptions));
  const { s3AccessKey, s3SecretKey } = flags;
  if ((s3AccessKey === undefined) !== (s3SecretKey === undefined))
    throw new UsageError("give both --s3-access-key and --s3-secret-key (or neither)");
  const authEnabled = async () => (await client.status(probeEndpoint)).authEnabled;
  const enabled = await authEnabled();
  const hasUser = clientOptions.user !== undefined;
  if (enabled && !hasUser)
    throw new UsageError(
      "the cluster's auth is on: the S3 gateway needs an admin user (--user or DFS_USER) to map access keys",
    );
  if (!enabled && s3AccessKey === undefined && flags.s3Anonymous !== true)
    throw new UsageError(
      `the S3 gateway needs a key pair (--s3-access-key/--s3-secret-key or ${S3_ACCESS_KEY_ENV}/${S3_SECRET_KEY_ENV}) or --s3-anonymous`,
    );
  const off = new StaticKeys(
    s3AccessKey ?? "",
    s3SecretKey ?? "",
    client,
    flags.s3Anonymous === true,
  );
  const admin = hasUser ? new DfsClient(clientOptions) : null;
  const on = admin
    ? new ClusterKeys(
        (scope) => admin.s3Credentials(scope),
        (tokenSource) => new DfsClient({ ...withoutLogin(clientOptions), tokenSource }),
      )
    : null;
  const keys = new AutoKeys(authEnabled, off, on);
  const mode = enabled
    ? "auth on: access keys of dfs users"
    : s3AccessKey === undefined
      ? "auth off: anonymous access"
      : `auth off: access key ${s3AccessKey}${flags.s3Anonymous === true ? " and anonymous access" : ""}`;
  const gateway = new S3Gateway({
    keys,
    ...(flags.s3Region !== undefined ? { region: flags.s3Region } : {}),
    ...(flags.s3Domain !== undefined
      ? { domains: flags.s3Domain.split(",").map((d) => d.trim()) }
      : {}),
    log,
  });
  const port = await gateway.listen(flags.s3Port ?? 0, flags.s3Host ?? "0.0.0.0");
  return {
    port,
    mode,
    close: async () => {
      await gateway.close();
      on?.close();
      admin?.close();
      client.close();
    },
  };
}

function withoutLogin(options: DfsClientOptions): DfsClientOptions {
  const { user: _u, password: _p, token: _t, ...rest } = options;
  return rest;
}
