/**
 * The catalogue of faults the nemesis injects into a {@link ChaosCluster}, grouped in the
 * families `--faults` enables (docs/testing.md#chaos-harness). Each fault applies itself
 * and returns how to undo it; the nemesis decides when and for how long.
 */
import { rm } from "node:fs/promises";
import { DfsError } from "../../src/api/index.ts";
import { type MemberClient, memberClient, refusalReason } from "../../src/cli/member-api.ts";
import type { Rng } from "../support/rng.ts";
import type { LinkMode } from "./fault-proxy.ts";
import type { ChaosCluster } from "./proxied-cluster.ts";

/** The families `--faults` can enable. */
export const FAULT_FAMILIES = ["kill", "pause", "partition", "delay", "drop", "member"] as const;

/** One family of faults. */
export type FaultFamily = (typeof FAULT_FAMILIES)[number];

/** What a fault needs: the cluster, the seeded randomness and who leads right now. */
export interface FaultContext {
  readonly cluster: ChaosCluster;
  readonly rng: Rng;
  /** The current leader's slot, or a random running node if none is found in time. */
  leaderOrAny(): Promise<number>;
}

/** A fault in effect: what it did, and how to undo it. */
export interface ActiveFault {
  readonly detail: string;
  heal(): Promise<void>;
}

/** A kind of fault: its family, how long it is held (ms range) and how to apply it. */
export interface FaultKind {
  readonly name: string;
  readonly family: FaultFamily;
  readonly holdMs: readonly [number, number];
  apply(ctx: FaultContext): Promise<ActiveFault>;
}

/**
 * Election timeouts are [1, 2) s, so a pause or cut of 4.5 s or more outlasts two of
 * them: the others must have elected someone else by the time the node wakes up.
 */
const BEYOND_TWO_ELECTIONS: readonly [number, number] = [4500, 7000];

const BLACKHOLE: LinkMode = { kind: "blackhole" };

/** Every fault, in a fixed order, so a seed always draws the same kinds. */
export const FAULT_KINDS: readonly FaultKind[] = [
  killFault("kill-follower", [2000, 6000], async (ctx) => [await follower(ctx)]),
  killFault("kill-leader", [2000, 6000], async (ctx) => [await ctx.leaderOrAny()]),
  killFault("kill-majority", [2000, 5000], async (ctx) =>
    shuffle(ctx.rng, ctx.cluster.ids()).slice(0, majority(ctx.cluster.ids().length)),
  ),
  killFault("kill-all", [1000, 4000], async (ctx) => ctx.cluster.ids()),
  pauseFault("pause-leader", BEYOND_TWO_ELECTIONS, (ctx) => ctx.leaderOrAny()),
  pauseFault("pause-follower", [2000, 5000], follower),
  {
    // A GC pause on a node that is also cut off: when it wakes it hears nobody, so it
    // still believes it leads until check-quorum, while clients keep asking it.
    name: "pause-leader-wake-cut-off",
    family: "pause",
    holdMs: BEYOND_TWO_ELECTIONS,
    async apply(ctx) {
      const id = await ctx.leaderOrAny();
      const cutMs = Math.round(ctx.rng.between(1000, 2500));
      const links = around(ctx, [id]);
      ctx.cluster.processes.pause(id);
      for (const [from, to] of links) ctx.cluster.link(from, to).set(BLACKHOLE);
      return {
        detail: `SIGSTOP node ${id} and cut it off; SIGCONT ${cutMs} ms before reconnecting`,
        heal: async () => {
          ctx.cluster.processes.resume(id);
          await new Promise((resolve) => setTimeout(resolve, cutMs)); // part of the fault
          for (const [from, to] of links) ctx.cluster.link(from, to).heal();
        },
      };
    },
  },
  linkFault("partition", "isolate-leader", [3000, 8000], async (ctx) => {
    const leader = await ctx.leaderOrAny();
    return { detail: `node ${leader} cut off both ways`, links: around(ctx, [leader]) };
  }),
  linkFault("partition", "halves", [3000, 8000], async (ctx) => {
    const ids = shuffle(ctx.rng, ctx.cluster.ids());
    const small = ids.slice(0, Math.floor(ids.length / 2));
    return { detail: `{${small}} | {${ids.slice(small.length)}}`, links: around(ctx, small) };
  }),
  linkFault("partition", "one-way", [3000, 8000], async (ctx) => {
    const leader = await ctx.leaderOrAny();
    const others = ctx.cluster.ids().filter((id) => id !== leader);
    const mute = ctx.rng.chance(0.5);
    const links = others.map((id): Link => (mute ? [leader, id] : [id, leader]));
    return { detail: `node ${leader} ${mute ? "cannot send" : "cannot hear"}`, links };
  }),
  linkFault("partition", "blackhole-node", [8000, 15_000], async (ctx) => {
    const node = ctx.rng.pick(ctx.cluster.ids());
    return { detail: `node ${node} blackholed`, links: around(ctx, [node]) };
  }),
  linkFault("delay", "delay-all", [5000, 10_000], async (ctx) => ({
    detail: "75 ± 50 ms on every link",
    links: allLinks(ctx),
    mode: { kind: "delay", ms: 75, jitterMs: 50 },
  })),
  linkFault("delay", "delay-5s", [6000, 10_000], async (ctx) => {
    const leader = await ctx.leaderOrAny();
    const links = ctx.cluster.ids().flatMap((id) => (id === leader ? [] : [[leader, id] as const]));
    return {
      detail: `5 s ± 0.5 s on node ${leader}'s outgoing links (forces an election)`,
      links,
      mode: { kind: "delay", ms: 5000, jitterMs: 500 },
    };
  }),
  {
    // Replace a machine whose disk died: remove its member, wipe its data dir, add it back
    // as a new member (a learner) that joins with --join, and promote it once it caught up.
    name: "replace-node",
    family: "member",
    holdMs: [3000, 8000],
    apply: replaceNode,
  },
  linkFault("drop", "drop-all", [4000, 8000], async (ctx) => ({
    detail: "50% of chunks kill their connection, every link",
    links: allLinks(ctx),
    mode: { kind: "drop", p: 0.5 },
  })),
  linkFault("drop", "drop-leader", [4000, 8000], async (ctx) => {
    const leader = await ctx.leaderOrAny();
    return {
      detail: `50% drop on node ${leader}'s links`,
      links: around(ctx, [leader]),
      mode: { kind: "drop", p: 0.5 },
    };
  }),
];

type Link = readonly [number, number];

/** How long one membership change may keep being retried (elections, a lagging learner). */
const CHANGE_DEADLINE_MS = 30_000;

/**
 * The `replace-node` fault: everything but the promotion happens at once; the learner
 * catches up during the hold and is promoted by the heal. A step that fails is reported
 * by the heal, so the run's report names it instead of the run throwing.
 */
async function replaceNode(ctx: FaultContext): Promise<ActiveFault> {
  const cluster = ctx.cluster;
  const slot = ctx.rng.pick(cluster.ids()); // the leader too: it hands over when removed
  const node = cluster.processes.node(slot);
  const oldId = cluster.memberId(slot);
  const newId = cluster.nextMemberId(slot);
  let failure: string | undefined;
  try {
    cluster.retiring.add(slot); // a removed member may stop by itself
    await change(ctx, `remove ${oldId}`, ["not_found"], (c) => c.memberRemove(oldId));
    await cluster.processes.kill(slot);
    cluster.retiring.delete(slot);
    await rm(node.dataDir, { recursive: true, force: true });
    const member = { id: newId, peerAddr: node.peerAddress, clientAddr: node.address };
    await change(ctx, `add ${newId}`, ["duplicate_id"], (c) =>
      c.memberAdd({ ...member, learner: true }),
    );
    await cluster.startAsNewMember(slot, newId);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  return {
    detail: `member ${oldId} (node ${slot}) removed, its data dir wiped, added back as learner ${newId} with --join; promoted at the heal`,
    heal: async () => {
      if (failure !== undefined) throw new Error(`replace-node: ${failure}`);
      await change(ctx, `promote ${newId}`, ["not_learner"], (c) => c.memberPromote(newId));
    },
  };
}

/**
 * Runs one membership change until it is done, retrying while the cluster cannot take
 * it yet (no leader, a change or transfer in progress, a lagging learner, a quorum not
 * reachable for a moment). A refusal in `done` means an earlier attempt that timed out
 * had in fact committed. Throws on any other refusal or at the deadline.
 */
async function change(
  ctx: FaultContext,
  what: string,
  done: readonly string[],
  call: (client: MemberClient) => Promise<unknown>,
): Promise<void> {
  const client = ctx.cluster.processes.client(ctx.cluster.endpoints(), 10_000);
  const deadline = Date.now() + CHANGE_DEADLINE_MS;
  let last = "";
  try {
    while (Date.now() < deadline) {
      try {
        await call(memberClient(client));
        return;
      } catch (err) {
        const reason = refusalReason(err);
        if (reason !== undefined && done.includes(reason)) return;
        const retry =
          reason === "pending" ||
          reason === "transferring" ||
          reason === "learner_lagging" ||
          reason === "no_quorum" ||
          (reason === undefined && err instanceof DfsError && err.code !== "internal");
        last = err instanceof Error ? err.message : String(err);
        if (!retry) throw new Error(`${what}: ${last}`);
        await new Promise((resolve) => setTimeout(resolve, 250)); // back off, then poll again
      }
    }
    throw new Error(`${what}: not done in ${CHANGE_DEADLINE_MS} ms (last: ${last})`);
  } finally {
    client.close();
  }
}

function killFault(
  name: string,
  holdMs: readonly [number, number],
  targets: (ctx: FaultContext) => Promise<number[]>,
): FaultKind {
  return {
    name,
    family: "kill",
    holdMs,
    async apply(ctx) {
      const ids = await targets(ctx);
      await Promise.all(ids.map((id) => ctx.cluster.processes.kill(id)));
      return {
        detail: `SIGKILL node${ids.length > 1 ? "s" : ""} ${ids.join(",")}`,
        heal: async () => {
          await Promise.all(ids.map((id) => ctx.cluster.restart(id)));
        },
      };
    },
  };
}

function pauseFault(
  name: string,
  holdMs: readonly [number, number],
  target: (ctx: FaultContext) => Promise<number>,
): FaultKind {
  return {
    name,
    family: "pause",
    holdMs,
    async apply(ctx) {
      const id = await target(ctx);
      ctx.cluster.processes.pause(id);
      return { detail: `SIGSTOP node ${id}`, heal: async () => ctx.cluster.processes.resume(id) };
    },
  };
}

/** A fault that sets links to `mode` (default: blackhole, both directions of each link). */
function linkFault(
  family: FaultFamily,
  name: string,
  holdMs: readonly [number, number],
  plan: (ctx: FaultContext) => Promise<{ detail: string; links: Link[]; mode?: LinkMode }>,
): FaultKind {
  return {
    name,
    family,
    holdMs,
    async apply(ctx) {
      const { detail, links, mode } = await plan(ctx);
      for (const [from, to] of links) ctx.cluster.link(from, to).set(mode ?? BLACKHOLE);
      return {
        detail,
        heal: async () => {
          for (const [from, to] of links) ctx.cluster.link(from, to).heal();
        },
      };
    },
  };
}

/** A random running node that does not lead (or any node, if none qualifies). */
async function follower(ctx: FaultContext): Promise<number> {
  const leader = await ctx.leaderOrAny();
  const up = ctx.cluster.nodes.filter((n) => n.state === "up" && n.id !== leader);
  return up.length > 0 ? ctx.rng.pick(up).id : ctx.rng.pick(ctx.cluster.ids());
}

/** Every directed link between `group` and the rest, both ways. */
function around(ctx: FaultContext, group: readonly number[]): Link[] {
  const inside = new Set(group);
  return allLinks(ctx).filter(([from, to]) => inside.has(from) !== inside.has(to));
}

function allLinks(ctx: FaultContext): Link[] {
  const ids = ctx.cluster.ids();
  return ids.flatMap((from) => ids.filter((to) => to !== from).map((to) => [from, to] as const));
}

function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** A seeded Fisher–Yates shuffle (a copy), so the schedule replays from its seed. */
export function shuffle<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
