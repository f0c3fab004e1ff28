/**
 * The layout of a cluster's certificate directory as `dfs certs init` writes it, and the
 * server and client TLS flags that use it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ClientTls } from "../client/index.ts";

/** File names inside a certificates directory. */
export const CERT_FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  nodeCert: (id: number) => `node${id}.crt`,
  nodeKey: (id: number) => `node${id}.key`,
  clientCert: "client.crt",
  clientKey: "client.key",
} as const;

/** `dfs server` flags for mutual TLS on both ports with node `id`'s certificate. */
export function nodeTlsArgs(dir: string, id: number): string[] {
  const cert = join(dir, CERT_FILES.nodeCert(id));
  const key = join(dir, CERT_FILES.nodeKey(id));
  const ca = join(dir, CERT_FILES.caCert);
  return [
    ...["--peer-cert", cert, "--peer-key", key, "--peer-ca", ca],
    ...["--cert", cert, "--key", key, "--client-ca", ca],
  ];
}

/** The client flags of the `dfs` CLI with the client certificate. */
export function clientTlsArgs(dir: string): string[] {
  return [
    ...["--cacert", join(dir, CERT_FILES.caCert)],
    ...["--cert", join(dir, CERT_FILES.clientCert)],
    ...["--key", join(dir, CERT_FILES.clientKey)],
  ];
}

/** The client library's TLS with the client certificate. */
export function readClientTls(dir: string): ClientTls {
  return {
    ca: readFileSync(join(dir, CERT_FILES.caCert)),
    cert: readFileSync(join(dir, CERT_FILES.clientCert)),
    key: readFileSync(join(dir, CERT_FILES.clientKey)),
  };
}
