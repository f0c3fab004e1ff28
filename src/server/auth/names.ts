/**
 * The shape of user and role names and of permissions, checked at the edge so a bad
 * request is `invalid_argument` with its reason before any password is hashed or any
 * command proposed (the state machine refuses the same again at apply).
 */
import { DfsError, MAX_KEY_BYTES } from "../../api/index.ts";
import { NAME_PATTERN } from "../../fsm/index.ts";
import type { Permission } from "../../gen/dfs.ts";

/** Refuses a user or role name that is not 1-64 chars of `[A-Za-z0-9_.@-]`. */
export function checkName(kind: "user" | "role", name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new DfsError(
      "invalid_argument",
      `a ${kind} name is 1-64 characters of A-Z a-z 0-9 _ . @ -, got '${name.slice(0, 80)}'`,
    );
  }
}

/** Refuses a permission without a key range (an exact key must be non-empty). */
export function checkPermission(p: Permission | undefined): Permission {
  if (p === undefined)
    throw new DfsError("invalid_argument", "give a permission (--key or --prefix)");
  if (!p.prefix && p.key === "")
    throw new DfsError("invalid_argument", "an exact-key permission needs a key");
  if (Buffer.byteLength(p.key, "utf8") > MAX_KEY_BYTES)
    throw new DfsError("invalid_argument", `a permission's key is at most ${MAX_KEY_BYTES} bytes`);
  return p;
}
