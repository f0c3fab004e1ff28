/**
 * What the peer fuzzer throws at a live node (test/adversary/peer-fuzz.test.ts), as
 * fast-check arbitraries of abstract attacks that are made concrete against the target's
 * current term and log (so mutations start from messages a real peer would send):
 *
 * - `bytes`: random bytes to Deliver, Stream or InstallSnapshot;
 * - `random`: a MessageBatch with random field values from a sender that is not a member;
 * - `mutated`: a realistic message from a member, with random mutations (terms, indexes,
 *   commits, kinds, entry lists, from/to) and at least one that makes it invalid by the
 *   peer rules (docs/security.md), applied last;
 * - `stale`: a well-formed message from a member in a term below the target's (Raft only
 *   answers those);
 * - `chunk`: an InstallSnapshot chunk from a non-member or with impossible metadata.
 *
 * A well-formed message in the current term from a member is never sent: without peer
 * authentication (mutual TLS) it is indistinguishable from the real member's, and no
 * validation can refuse it. A term tweak that lands above the target's term is pulled
 * back to it (Raft must follow a valid higher term, at the cost of an election), except
 * for the terms that used to end elections for good: 2^52, 2^52-1 and the first term
 * more than MAX_TERM_STEP ahead (src/raft/limits.ts), which 1 in 64 term tweaks set. The
 * break applied last makes those messages invalid too, so the target must refuse them
 * without moving its term (the WAL check at the end would see a stepped term).
 */
import * as fc from "fast-check";
import {
  type Entry,
  type MessageBatch,
  MessageType,
  type RaftMessage,
  SnapshotChunk,
} from "../../src/gen/raft.ts";
import { MAX_INDEX, MAX_TERM, MAX_TERM_STEP } from "../../src/raft/limits.ts";
import { raftMessage } from "./peer-attacker.ts";

/** Which peer call carries an attack. */
export type Carrier = "deliver" | "stream";

/** Message shapes a member really sends, before mutation. */
const BASES = [
  "heartbeat",
  "append",
  "vote",
  "preVote",
  "appendResp",
  "heartbeatResp",
  "voteResp",
] as const;
type Base = (typeof BASES)[number];

/** Mutations that make a member's message invalid by the peer rules. */
const GENERIC_BREAKS = [
  "termAboveMax",
  "fromOther",
  "toOther",
  "batchToOther",
  "otherCluster",
  "nonMember",
  "unknownType",
  "snapshotType",
] as const;
const APPEND_BREAKS = [
  "entryKind",
  "gap",
  "entryTermAbove",
  "entryTermBelowPrev",
  "prevTermAbove",
  "commitAboveMax",
] as const;
type Break =
  | (typeof GENERIC_BREAKS)[number]
  | (typeof APPEND_BREAKS)[number]
  | "lastLogTermAbove"
  | "hintAbove";

/** Mutations that may or may not break the message (applied before the break). */
const TWEAKS = [
  "term",
  "index",
  "logTerm",
  "commit",
  "kind",
  "entries",
  "reject",
  "context",
] as const;
type Tweak = (typeof TWEAKS)[number];

/** One abstract attack; see the module doc. */
export type Attack =
  | { kind: "bytes"; carrier: Carrier | "snapshot"; target: number; bytes: Uint8Array }
  | {
      kind: "random";
      carrier: Carrier;
      target: number;
      sender: number;
      messages: RandomMessage[];
      realCluster: boolean;
    }
  | {
      kind: "mutated";
      carrier: Carrier;
      target: number;
      base: Base;
      entries: number;
      tweaks: [Tweak, bigint][];
      break: Break;
      noise: bigint;
    }
  | { kind: "stale"; carrier: Carrier; target: number; base: Base; back: number; noise: bigint }
  | {
      kind: "chunk";
      target: number;
      sender: number;
      breakMeta: boolean;
      fields: bigint[];
      data: Uint8Array;
    };

/** Random field values of one message (numbers biased to edges by fast-check). */
interface RandomMessage {
  type: number;
  to: number;
  term: number;
  logTerm: number;
  index: number;
  commit: number;
  entries: { term: number; index: number; kind: number; data: Uint8Array }[];
  reject: boolean;
  rejectHint: number;
  context: number;
}

/** Where the target stands, read from its Status just before the attack is sent. */
export interface TargetView {
  readonly id: number;
  readonly term: number;
  readonly lastIndex: number;
  readonly leaderId: number;
  readonly clusterId: string;
  readonly members: readonly number[];
}

const u64 = fc.oneof(
  fc.integer({ min: 0, max: 16 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(MAX_TERM, MAX_TERM + 1, Number.MAX_SAFE_INTEGER),
);
/** The ids the fuzz test removes from the cluster before attacking (see `nonMember`). */
export const REMOVED_IDS = [99, 100] as const;

const u32 = fc.oneof(
  fc.integer({ min: 0, max: 5 }),
  fc.constant(99),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
);
/**
 * Senders refused whole: id 0 (never a member) and the ids the test removed before the
 * attacks (peer-attacker.ts `removedIds`, {@link REMOVED_IDS}). An id nobody ever added is
 * accepted since membership changes (a member added by a configuration a node has not
 * learned yet must reach it), so it is not a "non-member" any more.
 */
const nonMember = fc.constantFrom(0, ...REMOVED_IDS);
const target = fc.integer({ min: 0, max: 2 });
const carrier = fc.constantFrom<Carrier>("deliver", "stream");

const randomMessage: fc.Arbitrary<RandomMessage> = fc.record({
  type: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
  to: u32,
  term: u64,
  logTerm: u64,
  index: u64,
  commit: u64,
  entries: fc.array(
    fc.record({
      term: u64,
      index: u64,
      kind: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      data: fc.uint8Array({ maxLength: 32 }),
    }),
    { maxLength: 4 },
  ),
  reject: fc.boolean(),
  rejectHint: u64,
  context: u64,
});

const mutated = fc.constantFrom(...BASES).chain((base) =>
  fc.record({
    kind: fc.constant("mutated" as const),
    carrier,
    target,
    base: fc.constant(base),
    entries: fc.integer({ min: 1, max: 3 }),
    tweaks: fc.array(
      fc.tuple(fc.constantFrom(...TWEAKS), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
      { maxLength: 3 },
    ),
    break: fc.constantFrom<Break>(...GENERIC_BREAKS, ...breaksFor(base)),
    noise: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  }),
);

function breaksFor(base: Base): Break[] {
  if (base === "append") return [...APPEND_BREAKS];
  if (base === "vote" || base === "preVote") return ["lastLogTermAbove"];
  if (base === "appendResp") return ["hintAbove"];
  return [];
}

/** Every kind of attack, weighted towards the structured ones. */
export const attackArbitrary: fc.Arbitrary<Attack> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("bytes" as const),
      carrier: fc.constantFrom<Carrier | "snapshot">("deliver", "stream", "snapshot"),
      target,
      bytes: fc.uint8Array({ maxLength: 256 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("random" as const),
      carrier,
      target,
      sender: nonMember,
      messages: fc.array(randomMessage, { minLength: 1, maxLength: 4 }),
      realCluster: fc.boolean(),
    }),
  },
  { weight: 4, arbitrary: mutated },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("stale" as const),
      carrier,
      target,
      base: fc.constantFrom(...BASES),
      back: fc.integer({ min: 1, max: 5 }),
      noise: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("chunk" as const),
      target,
      sender: fc.oneof(nonMember, fc.integer({ min: 1, max: 3 })),
      breakMeta: fc.boolean(),
      fields: fc.array(fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), { minLength: 4, maxLength: 4 }),
      data: fc.uint8Array({ maxLength: 64 }),
    }),
  },
);

/** Picks a number in [lo, hi] from random bits (deterministic per attack). */
function pick(bits: bigint, lo: number, hi: number): number {
  return lo + Number(bits % BigInt(hi - lo + 1));
}

/** A member other than the target (the one it follows, when it follows one). */
function otherMember(view: TargetView, bits: bigint): number {
  if (view.leaderId !== 0 && view.leaderId !== view.id) return view.leaderId;
  const others = view.members.filter((m) => m !== view.id);
  return others[Number(bits % BigInt(others.length))] as number;
}

/** The message a member `from` would send the target now, of shape `base`. */
function realistic(
  base: Base,
  from: number,
  view: TargetView,
  entries: number,
  bits: bigint,
): RaftMessage {
  const { id: to, term, lastIndex } = view;
  const last = (i: number) =>
    ({ term, index: lastIndex + 1 + i, kind: 0, data: Buffer.from([i]) }) as Entry;
  switch (base) {
    case "heartbeat":
      return raftMessage({
        type: MessageType.MESSAGE_TYPE_HEARTBEAT,
        from,
        to,
        term,
        commit: lastIndex,
      });
    case "append":
      return raftMessage({
        type: MessageType.MESSAGE_TYPE_APPEND,
        from,
        to,
        term,
        index: lastIndex,
        logTerm: term,
        commit: lastIndex,
        entries: Array.from({ length: entries }, (_, i) => last(i)),
      });
    case "vote":
    case "preVote":
      return raftMessage({
        type: base === "vote" ? MessageType.MESSAGE_TYPE_VOTE : MessageType.MESSAGE_TYPE_PRE_VOTE,
        from,
        to,
        term: term + 1,
        index: lastIndex,
        logTerm: term,
      });
    case "appendResp":
      return raftMessage({
        type: MessageType.MESSAGE_TYPE_APPEND_RESP,
        from,
        to,
        term,
        index: lastIndex,
        reject: (bits & 1n) === 1n,
      });
    case "heartbeatResp":
      return raftMessage({
        type: MessageType.MESSAGE_TYPE_HEARTBEAT_RESP,
        from,
        to,
        term,
        context: pick(bits, 0, 1000),
      });
    case "voteResp":
      return raftMessage({
        type: MessageType.MESSAGE_TYPE_VOTE_RESP,
        from,
        to,
        term,
        reject: (bits & 1n) === 1n,
      });
  }
}

/** Terms at the edge of what a node adopts, relative to its term (see the module doc). */
const EDGE_TERMS: readonly ((term: number) => number)[] = [
  () => MAX_TERM,
  () => MAX_TERM - 1,
  (term) => term + MAX_TERM_STEP + 1,
];

/** Marks a term set from EDGE_TERMS, so batchFor keeps it (a property, not a field). */
const edgeTerms = new WeakSet<RaftMessage>();

function tweak(m: RaftMessage, [what, bits]: [Tweak, bigint]): void {
  const n = Number(bits % BigInt(Number.MAX_SAFE_INTEGER));
  const small = pick(bits, 0, 20);
  switch (what) {
    case "term":
      if ((bits & 0x3fn) === 2n) {
        const edge = EDGE_TERMS[pick(bits >> 6n, 0, EDGE_TERMS.length - 1)] as (
          t: number,
        ) => number;
        m.term = Math.min(edge(m.term), MAX_TERM);
        edgeTerms.add(m);
      } else {
        m.term = (bits & 1n) === 1n ? n : Math.max(0, m.term + small - 10);
        edgeTerms.delete(m);
      }
      break;
    case "index":
      m.index = (bits & 1n) === 1n ? n : Math.max(0, m.index + small - 10);
      break;
    case "logTerm":
      m.logTerm = (bits & 1n) === 1n ? n : Math.max(0, m.logTerm + small - 10);
      break;
    case "commit":
      m.commit = (bits & 1n) === 1n ? n : m.commit + small;
      break;
    case "kind":
      for (const e of m.entries) e.kind = pick(bits, 0, 300);
      break;
    case "entries":
      if ((bits & 1n) === 1n) m.entries = m.entries.slice(1);
      else m.entries = [...m.entries, ...m.entries];
      break;
    case "reject":
      m.reject = !m.reject;
      m.rejectHint = small;
      break;
    case "context":
      m.context = n;
      break;
  }
}

/** Applies `brk` to message `m` of batch `batch`; the result is invalid for the target. */
function breakIt(
  batch: MessageBatch,
  m: RaftMessage,
  brk: Break,
  view: TargetView,
  bits: bigint,
): void {
  if ((APPEND_BREAKS as readonly string[]).includes(brk) && m.entries.length === 0) {
    m.entries = [{ term: m.term, index: m.index + 1, kind: 0, data: Buffer.alloc(0) }];
  }
  const otherOf = (id: number) => view.members.find((x) => x !== id && x !== view.id) ?? 99;
  switch (brk) {
    case "termAboveMax":
      m.term = MAX_TERM + 1 + pick(bits, 0, Number.MAX_SAFE_INTEGER - MAX_TERM - 1);
      break;
    case "fromOther":
      m.from = (bits & 1n) === 1n ? 99 : otherOf(batch.from);
      break;
    case "toOther":
      m.to = otherOf(view.id);
      break;
    case "batchToOther":
      batch.to = otherOf(view.id);
      break;
    case "otherCluster":
      batch.clusterId = `x${bits.toString(16).slice(0, 15)}`;
      break;
    case "nonMember":
      batch.from = 99;
      m.from = 99;
      break;
    case "unknownType":
      m.type = pick(bits, 13, 2 ** 31 - 1) as MessageType;
      if ((bits & 2n) === 2n) m.type = MessageType.MESSAGE_TYPE_UNSPECIFIED;
      break;
    case "snapshotType":
      m.type = MessageType.MESSAGE_TYPE_SNAPSHOT;
      m.logTerm = Math.min(m.logTerm, m.term);
      m.index = Math.max(1, m.index);
      break;
    case "entryKind":
      for (const e of m.entries) e.kind = pick(bits, 2, 2 ** 32 - 1);
      break;
    case "gap": {
      const e = m.entries[m.entries.length - 1] as Entry;
      e.index = m.index + m.entries.length + 1 + pick(bits, 0, 5);
      break;
    }
    case "entryTermAbove":
      (m.entries[0] as Entry).term = m.term + 1 + pick(bits, 0, 100);
      break;
    case "entryTermBelowPrev":
      m.logTerm = Math.max(1, Math.min(m.logTerm, m.term));
      (m.entries[0] as Entry).term = m.logTerm - 1;
      break;
    case "prevTermAbove":
      m.logTerm = m.term + 1 + pick(bits, 0, 100);
      break;
    case "commitAboveMax":
      m.commit = MAX_INDEX + 1 + pick(bits, 0, 1000);
      break;
    case "lastLogTermAbove":
      m.logTerm = m.term + 1 + pick(bits, 0, 100);
      m.index = Math.max(1, m.index);
      break;
    case "hintAbove":
      m.reject = true;
      m.rejectHint = m.index + 1 + pick(bits, 0, 100);
      break;
  }
}

/** The concrete batch of a `random`, `mutated` or `stale` attack against `view`. */
export function batchFor(attack: Attack, view: TargetView): MessageBatch {
  if (attack.kind === "random") {
    const clusterId = attack.realCluster ? view.clusterId : "not-this-cluster";
    const messages = attack.messages.map((r) =>
      raftMessage({
        ...r,
        type: r.type as MessageType,
        from: attack.sender,
        entries: r.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })),
      }),
    );
    return { clusterId, from: attack.sender, to: view.id, messages, identity: "" };
  }
  if (attack.kind === "mutated") {
    const from = otherMember(view, attack.noise);
    const m = realistic(attack.base, from, view, attack.entries, attack.noise);
    const batch: MessageBatch = {
      clusterId: view.clusterId,
      from,
      to: view.id,
      messages: [m],
      identity: "",
    };
    for (const t of attack.tweaks) tweak(m, t);
    // Tweaks must not leave a message in a higher term, except an edge term (module doc).
    if (m.term > view.term && m.term <= MAX_TERM && !edgeTerms.has(m)) m.term = view.term;
    breakIt(batch, m, attack.break, view, attack.noise);
    return batch;
  }
  if (attack.kind === "stale") {
    const from = otherMember(view, attack.noise);
    const m = realistic(attack.base, from, view, 1, attack.noise);
    m.term = Math.max(0, view.term - attack.back);
    m.logTerm = Math.min(m.logTerm, m.term);
    for (const e of m.entries) e.term = m.term;
    if (m.logTerm === 0) m.index = 0;
    return { clusterId: view.clusterId, from, to: view.id, messages: [m], identity: "" };
  }
  throw new Error(`no batch for a ${attack.kind} attack`);
}

/**
 * The encoded InstallSnapshot chunk of a `chunk` attack. From a non-member the fields are
 * random; from a member the metadata is always impossible (a term above MAX_TERM, or a
 * snapshot log term above the leader's term).
 */
export function chunkFor(attack: Attack & { kind: "chunk" }, view: TargetView): Buffer {
  const [term, index, logTerm, offset] = attack.fields.map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const fromMember = view.members.includes(attack.sender);
  const chunk = SnapshotChunk.fromPartial({
    clusterId: view.clusterId,
    from: attack.sender,
    to: view.id,
    term,
    index,
    logTerm,
    offset,
    data: Buffer.from(attack.data),
    done: (offset & 1) === 1,
    sha256: Buffer.alloc(32),
  });
  if (attack.breakMeta) chunk.term = MAX_TERM + 1 + (term % 1000);
  else if (fromMember) chunk.logTerm = Math.min(chunk.term, MAX_TERM) + 1;
  return Buffer.from(SnapshotChunk.encode(chunk).finish());
}
