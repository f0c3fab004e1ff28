/**
 * The leader binds each member of the configuration to the data dir it heard from
 * (Member.identity, storage/meta.ts): a member whose identity is still "" (bootstrapped
 * from `--peers`, or just added) gets a configuration entry naming the identity its
 * messages carry, one member at a time, retried while another change is pending. From
 * then on every node refuses that id from any other data dir: a wiped node restarted
 * with the same flags can neither take the old member's place nor vote.
 */
import type { Membership } from "../raft/index.ts";
import type { Logger } from "./logger.ts";
import type { MemberDirectory } from "./members.ts";
import type { RaftLoop } from "./raft-loop.ts";

/** Checks this often whether a member needs binding (cheap: a scan of a few members). */
export const BIND_EVERY_MS = 200;

/** Starts binding; returns the function that stops it. */
export function startIdentityBinder(
  loop: Pick<RaftLoop, "status" | "proposeMembership" | "isStopped">,
  members: MemberDirectory,
  logger: Logger,
  everyMs = BIND_EVERY_MS,
): () => void {
  let inFlight = false;
  const timer = setInterval(() => {
    if (inFlight || loop.isStopped) return;
    const next = bindingToPropose(loop.status(), members);
    if (next === null) return;
    inFlight = true;
    // proposeMembership throws at once when the node refuses (a full disk, not leader):
    // inside a promise chain that is a retry later, never an uncaught exception.
    Promise.resolve()
      .then(() => loop.proposeMembership(next.membership))
      .then(() => logger.info({ member: next.id }, "bound member to its data dir"))
      .catch((error: Error) =>
        logger.debug({ member: next.id, err: error.message }, "binding a member: retry later"),
      )
      .finally(() => (inFlight = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The configuration that binds the first unbound member whose identity this leader knows,
 * or null when there is none (or this node is not a leader free to propose).
 */
export function bindingToPropose(
  st: ReturnType<RaftLoop["status"]>,
  members: Pick<MemberDirectory, "heardIdentity">,
): { id: number; membership: Membership } | null {
  if (st.role !== "leader" || st.pendingConfig !== 0 || st.transferee !== 0) return null;
  const current = st.membership.membership;
  for (const m of [...current.members].sort((a, b) => a.id - b.id)) {
    if (m.identity !== "") continue;
    const heard = members.heardIdentity(m.id);
    if (heard === undefined || heard === "") continue;
    return {
      id: m.id,
      membership: {
        members: current.members.map((x) => (x.id === m.id ? { ...x, identity: heard } : x)),
        removed: current.removed,
      },
    };
  }
  return null;
}
