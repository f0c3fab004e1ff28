/**
 * `dfs gateway`: a standalone S3 endpoint in front of a cluster (docs/s3.md), for when
 * the S3 port should not live in a node's process. Runs until SIGINT/SIGTERM.
 */
import type { Command } from "commander";
import {
  addClientOptions,
  type ClientFlags,
  clientTlsFrom,
  loginOf,
  parseEndpoints,
} from "./options.ts";
import { addS3Options, type S3Flags, startS3 } from "./s3-serve.ts";
import { UsageError } from "./usage-error.ts";

/** Registers `gateway` on `program`. */
export function addGatewayCommand(program: Command): void {
  const command = program
    .command("gateway")
    .description("serve the S3 API in front of a cluster until SIGINT/SIGTERM (docs/s3.md)");
  addS3Options(addClientOptions(command, 30_000)).action(runGateway);
}

async function runGateway(flags: ClientFlags & S3Flags): Promise<void> {
  if (flags.s3Port === undefined) throw new UsageError("give --s3-port PORT");
  const endpoints = parseEndpoints(flags.endpoints);
  const tls = clientTlsFrom(flags);
  const gateway = await startS3(
    flags,
    {
      endpoints,
      timeoutMs: flags.timeout,
      ...(tls !== undefined ? { tls } : {}),
      ...loginOf(flags),
    },
    endpoints[0] as string,
    (line) => process.stderr.write(`dfs gateway: ${line}\n`),
  );
  process.stderr.write(
    `dfs: S3 gateway on http://${flags.s3Host ?? "0.0.0.0"}:${gateway.port} for ${endpoints.join(",")} (${gateway.mode})\n`,
  );
  const signal = await new Promise<string>((resolve) => {
    for (const s of ["SIGINT", "SIGTERM"] as const) process.once(s, () => resolve(s));
  });
  process.stderr.write(`dfs: S3 gateway stopping (${signal})\n`);
  await gateway.close();
}
