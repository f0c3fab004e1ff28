/**
 * Finds the `etcd` binary, installing Debian's `etcd-server` with apt-get when it is
 * missing and we are root; otherwise explains how to get it.
 */
import { execFileSync, spawnSync } from "node:child_process";

/** How to install etcd by hand, quoted when we cannot do it ourselves. */
export const ETCD_INSTALL_HINT =
  "install it with `sudo apt-get install -y etcd-server` (Debian/Ubuntu), or put an etcd 3.4+ binary on PATH, or set ETCD_BIN";

/** Path of a working etcd binary and its version line. */
export interface EtcdBinary {
  readonly path: string;
  readonly version: string;
}

/** Returns the etcd binary (from ETCD_BIN or PATH), installing it via apt-get if allowed. */
export function ensureEtcd(log: (line: string) => void): EtcdBinary {
  const chosen = process.env.ETCD_BIN;
  if (chosen !== undefined && chosen !== "") {
    const given = probe(chosen);
    if (given === undefined) throw new Error(`ETCD_BIN=${chosen} does not run '--version'`);
    return given;
  }
  const found = probe("etcd");
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) throw new Error(`etcd not found; ${ETCD_INSTALL_HINT}`);
  log("etcd not found: running apt-get install -y etcd-server");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let install = spawnSync("apt-get", ["install", "-y", "etcd-server"], { stdio: "inherit", env });
  if (install.status !== 0) {
    spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    install = spawnSync("apt-get", ["install", "-y", "etcd-server"], { stdio: "inherit", env });
  }
  const installed = install.status === 0 ? probe("etcd") : undefined;
  if (installed === undefined)
    throw new Error(`apt-get could not install etcd; ${ETCD_INSTALL_HINT}`);
  return installed;
}

function probe(path: string): EtcdBinary | undefined {
  try {
    const out = execFileSync(path, ["--version"], { encoding: "utf8", stdio: "pipe" });
    const version = out.split("\n")[0]?.trim() ?? "etcd";
    return { path, version };
  } catch {
    return undefined;
  }
}
