/**
 * The version of this dfs build, read from the package's own package.json (one level
 * above both `src/` and the compiled `dist/`, so it is right from source and from the
 * installed package). `dfs --version` prints it and every node reports it in Status.
 */
import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The `version` field of dfs's package.json ("0.1.0"); read once, on first use. */
export function dfsVersion(): string {
  if (cached === undefined) {
    const file = new URL("../../package.json", import.meta.url);
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { version?: unknown };
    cached = typeof pkg.version === "string" ? pkg.version : "unknown";
  }
  return cached;
}
