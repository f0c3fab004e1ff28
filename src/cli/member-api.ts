/**
 * What the membership commands need from the client library: the member list, the four
 * changes and the transfer, plus the reasons a change can be refused and what each means
 * to an operator (its class, hence its exit code, and the remedy printed).
 */
import {
  isMemberChangeReason,
  MEMBER_CHANGE_REASONS,
  MemberChangeError,
  type MemberChangeReason,
} from "../api/index.ts";
import type { DfsClient, MemberStatus, NewMember } from "../client/index.ts";

export type { MemberStatus, NewMember };

/** The client calls behind `dfs member …` and `dfs leader transfer`. */
export type MemberClient = Pick<
  DfsClient,
  "memberList" | "memberAdd" | "memberPromote" | "memberRemove" | "leaderTransfer"
>;

/** The membership calls of a client. */
export function memberClient(client: DfsClient): MemberClient {
  return client;
}

/**
 * Why the cluster refused a membership change or a transfer: the Raft core's reasons
 * (`pending` … `bad_target`) and the server's own checks (src/api/errors.ts).
 */
export const REFUSAL_REASONS: readonly MemberChangeReason[] = MEMBER_CHANGE_REASONS;

/** One reason from {@link REFUSAL_REASONS}. */
export type RefusalReason = MemberChangeReason;

/**
 * How an operator should read a refusal: `retry` when the same command may succeed later
 * by itself (something is in progress), `quorum` when nodes must come back first, `never`
 * when the command must change.
 */
export type RefusalClass = "retry" | "quorum" | "never";

/** Each reason's class and the remedy printed after the server's message. */
export const REFUSALS: Readonly<Record<RefusalReason, { cls: RefusalClass; remedy: string }>> = {
  pending: {
    cls: "retry",
    remedy:
      "another membership change is still being committed; retry once it shows in 'dfs member list'",
  },
  transferring: {
    cls: "retry",
    remedy: "a leadership transfer is in progress; retry in a second",
  },
  learner_lagging: {
    cls: "retry",
    remedy: "wait until the learner's LAG in 'dfs member list' is near 0, then promote again",
  },
  no_quorum: {
    cls: "quorum",
    remedy:
      "too few voters are reachable for the new configuration to commit; bring members back up ('dfs status') first",
  },
  last_voter: {
    cls: "never",
    remedy: "a cluster needs a voter; add and promote another member before removing this one",
  },
  duplicate_id: {
    cls: "never",
    remedy: "that id is already a member; give the new member an unused id",
  },
  duplicate_address: {
    cls: "never",
    remedy: "another member already uses that address; give the new member its own ports",
  },
  removed_id: {
    cls: "never",
    remedy: "ids of removed members are never reused; give the new member a new id",
  },
  not_found: {
    cls: "never",
    remedy: "no member has that id; see 'dfs member list'",
  },
  bad_target: {
    cls: "never",
    remedy: "the target must be a reachable voter other than the leader; see 'dfs member list'",
  },
  not_learner: {
    cls: "never",
    remedy: "that member already votes; only learners are promoted",
  },
  not_single_change: {
    cls: "never",
    remedy: "change one member per command",
  },
  invalid: {
    cls: "never",
    remedy: "the resulting configuration would be invalid; see 'dfs member list'",
  },
};

/** The refusal reason `err` carries, if it is a refused membership change or transfer. */
export function refusalReason(err: unknown): RefusalReason | undefined {
  if (err instanceof MemberChangeError) return err.reason;
  const reason = err instanceof Error ? (err as { reason?: unknown }).reason : undefined;
  return isMemberChangeReason(reason) ? reason : undefined;
}
