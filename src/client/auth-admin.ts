/**
 * The changes an admin can make to users, roles and the on/off switch, as the client API
 * names them, and their wire form. One discriminated union rather than eleven methods, so
 * the CLI and tools build a change as data and send it through one call
 * (`DfsClient.authChange`). Semantics: docs/auth.md.
 */
import type { AuthChangeRequest, AuthReadResponse, Permission } from "../gen/dfs.ts";

/**
 * A key-range permission: `key` alone, or every key starting with `key` when `prefix` (""
 * with prefix = every key), with the actions it allows.
 */
export type KeyPermission = Permission;

/** Which permission of a role to revoke: by its key and prefix (flags are ignored). */
export interface PermissionRange {
  readonly key: string;
  readonly prefix: boolean;
}

/** One change to the auth state; applied through the log like any write. */
export type AuthChange =
  | { readonly op: "enable" }
  | { readonly op: "disable" }
  /** `password` absent: a user without password (only a client certificate speaks for it). */
  | { readonly op: "user_add"; readonly name: string; readonly password?: string }
  | { readonly op: "user_delete"; readonly name: string }
  | { readonly op: "user_passwd"; readonly name: string; readonly password: string }
  | { readonly op: "user_grant_role"; readonly name: string; readonly role: string }
  | { readonly op: "user_revoke_role"; readonly name: string; readonly role: string }
  | { readonly op: "role_add"; readonly name: string }
  | { readonly op: "role_delete"; readonly name: string }
  | {
      readonly op: "role_grant";
      readonly role: string;
      readonly permission?: KeyPermission;
      readonly admin?: boolean;
    }
  | {
      readonly op: "role_revoke";
      readonly role: string;
      readonly permission?: PermissionRange;
      readonly admin?: boolean;
    }
  /** A new S3 access key for `user`; the node draws key and secret (see `authChange`). */
  | { readonly op: "s3_key_add"; readonly user: string }
  | { readonly op: "s3_key_delete"; readonly accessKey: string };

/** Users, roles and whether auth is on, as the leader has them (AuthRead). */
export type AuthInfo = AuthReadResponse;

/** The wire request of a change. */
export function authChangeRequest(change: AuthChange): AuthChangeRequest {
  switch (change.op) {
    case "enable":
      return { enable: {} };
    case "disable":
      return { disable: {} };
    case "user_add":
      return {
        userAdd: {
          name: change.name,
          password: change.password ?? "",
          noPassword: change.password === undefined,
        },
      };
    case "user_delete":
      return { userDelete: { name: change.name } };
    case "user_passwd":
      return { userPasswd: { name: change.name, password: change.password } };
    case "user_grant_role":
      return { userGrantRole: { name: change.name, role: change.role } };
    case "user_revoke_role":
      return { userRevokeRole: { name: change.name, role: change.role } };
    case "role_add":
      return { roleAdd: { name: change.name } };
    case "role_delete":
      return { roleDelete: { name: change.name } };
    case "role_grant":
      return {
        roleGrant: { role: change.role, permission: change.permission, admin: !!change.admin },
      };
    case "role_revoke":
      return {
        roleRevoke: {
          role: change.role,
          permission:
            change.permission === undefined
              ? undefined
              : { ...change.permission, read: false, write: false, list: false },
          admin: !!change.admin,
        },
      };
    case "s3_key_add":
      return { s3KeyAdd: { user: change.user } };
    case "s3_key_delete":
      return { s3KeyDelete: { accessKey: change.accessKey } };
  }
}

/** An S3 access key and its secret, as `s3_key_add` returns them (the only time). */
export interface S3AccessKey {
  readonly accessKey: string;
  readonly secret: string;
}

/** What `s3Credentials` asks: an access key and the SigV4 credential scope. */
export interface S3CredentialsQuery {
  readonly accessKey: string;
  /** yyyymmdd (UTC), as in the credential scope. */
  readonly date: string;
  readonly region: string;
  /** "s3". */
  readonly service: string;
}

/** The answer of `s3Credentials`: who the key is, its signing key, a token to act as them. */
export interface S3Credentials {
  readonly user: string;
  /** HMAC-SHA256 chain "AWS4"+secret → date → region → service → "aws4_request". */
  readonly signingKey: Uint8Array;
  /** A token for `user` ("" while auth is off: none is needed). */
  readonly token: string;
  /** When the token expires, ms since the epoch (node's clock; 0 without a token). */
  readonly tokenExpiresMs: number;
}
