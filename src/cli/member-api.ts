/**
 * What the membership commands need from the client library (PLAN17's contract with
 * src/client): the member list and the four changes, plus the reasons a change can be
 * refused and what each means to an operator. Kept as a small interface so the CLI does
 * not depend on more of the client than it calls.
 */
import type { DfsClient } from "../client/index.ts";

/** One member as the leader sees it (`dfs member list`, the answer to every change). */
export interface MemberStatus {
  readonly id: number;
  readonly learner: boolean;
  readonly peerAddr: string;
  readonly clientAddr: string;
  /** The unique identity of the member's data dir, fixed when the dir was created. */
  readonly identity: string;
  readonly leader: boolean;
  /** Highest log index the leader knows the member has. */
  readonly match: number;
  /** Leader's last index minus `match`: how far behind the member is. */
  readonly lag: number;
  /** The leader heard from it within an election timeout. */
  readonly reachable: boolean;
}

/** A member to add: `dfs member add ID --peer-addr H:P --client-addr H:P [--learner]`. */
export interface NewMember {
  readonly id: number;
  readonly peerAddr: string;
  readonly clientAddr: string;
  readonly learner?: boolean;
}

/** The client calls behind `dfs member …` and `dfs leader transfer`. */
export interface MemberClient {
  memberList(): Promise<MemberStatus[]>;
  memberAdd(member: NewMember): Promise<MemberStatus[]>;
  memberPromote(id: number): Promise<MemberStatus[]>;
  memberRemove(id: number): Promise<MemberStatus[]>;
  /** `to` 0 or absent: the most caught-up voter. */
  leaderTransfer(to?: number): Promise<{ from: number; to: number }>;
}

/** The membership calls of a client. */
export function memberClient(client: DfsClient): MemberClient {
  return client as unknown as MemberClient;
}

/**
 * Why the cluster refused a membership change or a transfer: the Raft core's reasons
 * (`pending` … `bad_target`) and the server's own checks (`duplicate_id` … `removed_id`).
 */
export const REFUSAL_REASONS = [
  "pending",
  "not_single_change",
  "invalid",
  "transferring",
  "no_quorum",
  "bad_target",
  "duplicate_id",
  "duplicate_address",
  "not_found",
  "learner_lagging",
  "last_voter",
  "removed_id",
  "not_learner",
] as const;

/** One reason from {@link REFUSAL_REASONS}. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

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

const KNOWN = new Set<string>(REFUSAL_REASONS);

/**
 * The refusal reason `err` carries, if it is a refused membership change: a `reason`
 * property (the client's typed error), or, failing that, a reason named in the message
 * of an error whose code is not one of the classic ones.
 */
export function refusalReason(err: unknown): RefusalReason | undefined {
  if (!(err instanceof Error)) return undefined;
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === "string" && KNOWN.has(reason)) return reason as RefusalReason;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string" || CLASSIC_CODES.has(code)) return undefined;
  const named = REFUSAL_REASONS.find((r) => new RegExp(`\\b${r}\\b`).test(err.message));
  return named;
}

/** Error codes that predate membership changes and never carry a refusal reason. */
const CLASSIC_CODES = new Set([
  "not_found",
  "not_leader",
  "unavailable",
  "invalid_argument",
  "too_large",
  "precondition_failed",
  "resource_exhausted",
  "internal",
]);
