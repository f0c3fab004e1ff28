/**
 * How a node certificate says which member it belongs to: its subject common name is
 * `dfs-node-<id>` (etcd reads client identities from the CN the same way). One rule,
 * shared by the generator (`dfs certs init`) and the peer listener, which accepts a
 * message only when the sender it claims matches the certificate that carried it.
 * See docs/security.md, "Peer port and TLS".
 */

/** Prefix of a node certificate's common name; the member id follows in decimal. */
export const NODE_CN_PREFIX = "dfs-node-";

/** The common name a node certificate for member `id` must carry. */
export function nodeCommonName(id: number): string {
  return `${NODE_CN_PREFIX}${id}`;
}

/**
 * The member id a certificate's common name names, or null when it names none. Strict
 * digits without leading zeros, so `dfs-node-02` or `dfs-node-2 ` never pass for 2.
 * Takes `unknown` because a certificate with several CNs yields an array in Node.
 */
export function memberIdOfCommonName(cn: unknown): number | null {
  if (typeof cn !== "string" || !cn.startsWith(NODE_CN_PREFIX)) return null;
  const digits = cn.slice(NODE_CN_PREFIX.length);
  if (!/^[1-9][0-9]{0,9}$/.test(digits)) return null;
  const id = Number(digits);
  return id <= 0xffff_ffff ? id : null;
}
