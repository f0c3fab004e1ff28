/**
 * `dfs certs init DIR --nodes N`: writes a CA, one certificate per node and a client
 * certificate for a dev or test cluster with mutual TLS (see cert-factory.ts for what
 * each certificate is for, docs/security.md for how to use them). Keys are written 0600;
 * an existing CA in DIR is never overwritten, since that would orphan every certificate
 * it signed.
 */
import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { CERT_FILES } from "../cluster/index.ts";
import { intFlag } from "./options.ts";
import { UsageError } from "./usage-error.ts";

interface CertsInitFlags {
  readonly nodes: number;
  readonly hosts?: string;
}

/** Registers `certs init` on `program`. */
export function addCertsCommand(program: Command): void {
  const certs = program
    .command("certs")
    .description("make certificates for a cluster with mutual TLS");
  certs
    .command("init")
    .description("write a CA, node certificates node<i>.crt/.key and client.crt/.key into DIR")
    .argument("<dir>", "directory to write into (created if missing)")
    .option("--nodes <n>", "number of node certificates (ids 1..n)", intFlag("--nodes", 1, 99), 3)
    .option("--hosts <list>", "extra DNS names or IPs for the node certificates, comma-separated")
    .action(async (dir: string, flags: CertsInitFlags) => {
      const written = await writeClusterCerts(dir, flags.nodes, parseHosts(flags.hosts));
      process.stdout.write(`wrote ${written.length} files to ${resolve(dir)}\n`);
    });
}

/** Generates and writes the files; returns their paths. Throws UsageError if DIR has a CA. */
export async function writeClusterCerts(
  dir: string,
  nodes: number,
  hosts: readonly string[] = [],
  caName?: string,
): Promise<string[]> {
  // Loaded here: the X.509 library (and its polyfill) is only needed by this command.
  const { makeClusterCerts } = await import("./cert-factory.ts");
  const certs = await makeClusterCerts({ nodes, hosts, ...(caName ? { caName } : {}) });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: [string, string, number][] = [
    [CERT_FILES.caCert, certs.ca.cert, 0o644],
    [CERT_FILES.caKey, certs.ca.key, 0o600],
    [CERT_FILES.clientCert, certs.client.cert, 0o644],
    [CERT_FILES.clientKey, certs.client.key, 0o600],
  ];
  for (const [id, pair] of certs.nodes) {
    files.push([CERT_FILES.nodeCert(id), pair.cert, 0o644]);
    files.push([CERT_FILES.nodeKey(id), pair.key, 0o600]);
  }
  const paths: string[] = [];
  for (const [name, text, mode] of files) {
    const path = join(dir, name);
    await writeNew(path, text, mode);
    paths.push(path);
  }
  return paths;
}

/** Creates `path` with `mode` (never widened by an existing file); refuses to overwrite. */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      throw new UsageError(`${path} already exists; pick an empty directory (nothing overwritten)`);
    }
    throw new UsageError(`cannot write ${path}: ${code ?? String(error)}`);
  }
  try {
    await handle.writeFile(text);
    await handle.chmod(mode); // the umask may have narrowed it; keys must be exactly 0600
  } finally {
    await handle.close();
  }
}

function parseHosts(list: string | undefined): string[] {
  if (list === undefined) return [];
  const hosts = list.split(",").map((h) => h.trim());
  for (const host of hosts) {
    if (!/^[A-Za-z0-9.:_-]+$/.test(host)) {
      throw new UsageError(`--hosts entry '${host}' is not a host name or IP address`);
    }
  }
  return hosts;
}
