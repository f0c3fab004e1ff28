/**
 * Reading TLS files named by flags (`--peer-cert`, `--cacert`, ...). Every problem, a
 * missing or unreadable file, one that is not PEM, a flag given without its partner, is
 * a usage error naming the flag and the path (exit 2), never a stack trace or a failed
 * handshake much later.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "./usage-error.ts";

/** Reads the PEM file `path` named by `flag`. */
export function readPem(flag: string, path: string): Buffer {
  if (path.trim() === "") throw new UsageError(`${flag} is empty; expected a PEM file`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : (code ?? String(error));
    throw new UsageError(`${flag} ${path}: cannot read it (${why})`);
  }
  if (!bytes.includes("-----BEGIN ")) throw new UsageError(`${flag} ${path}: not a PEM file`);
  return bytes;
}

/** Reads `path` if the flag was given. */
export function readOptionalPem(flag: string, path: string | undefined): Buffer | undefined {
  return path === undefined ? undefined : readPem(flag, path);
}

/**
 * Checks that flags which only make sense together were given together: `group` maps
 * each flag to its value (undefined = not given); all or none must be present.
 */
export function requireTogether(group: Readonly<Record<string, string | undefined>>): boolean {
  const given = Object.entries(group).filter(([, value]) => value !== undefined);
  if (given.length === 0) return false;
  const missing = Object.keys(group).filter((flag) => group[flag] === undefined);
  if (missing.length > 0) {
    const names = given.map(([flag]) => flag).join(", ");
    throw new UsageError(`${names} also needs ${missing.join(" and ")}`);
  }
  return true;
}
