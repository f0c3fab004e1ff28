/**
 * Small helpers for directed simulator scenarios: start a quiet cluster, find its leader,
 * and propose a value through a node's real event loop with a simulated-time deadline.
 */
import { encodeCommand } from "../../src/fsm/index.ts";
import { SIM_TUNING } from "./sim-node.ts";
import { type SimOptions, Simulation } from "./simulation.ts";

/** One maximum election timeout in simulated ms. */
export const ELECTION_MS = 2 * SIM_TUNING.electionTicks * SIM_TUNING.tickMs;

/** A started cluster with no clients and no nemesis. */
export function quietCluster(
  nodes: number,
  seed: number,
  extra: Partial<SimOptions> = {},
): Simulation {
  const sim = new Simulation({ seed, nodes, faultMs: 0, clients: 0, ...extra });
  sim.startAll();
  return sim;
}

/** Waits for a leader followed by a majority; returns its id. */
export async function leaderWithin(sim: Simulation, ms: number): Promise<number> {
  await sim.waitFor("a leader", ms, () => sim.stableLeader() !== undefined);
  return sim.stableLeader() as number;
}

/** Outcome of a directed put. */
export type PutOutcome = "ok" | "failed" | "timeout";

/**
 * Proposes key=value at node `id` and runs the simulation until it is acknowledged,
 * fails, or `ms` pass. Returns the outcome (the write may still commit after a timeout).
 */
export async function putAt(
  sim: Simulation,
  id: number,
  key: string,
  value: string,
  ms = 3000,
): Promise<PutOutcome> {
  const outcome = startPut(sim, id, key, value);
  const deadline = sim.queue.now + ms;
  while (outcome.state === "pending" && sim.queue.now < deadline)
    await sim.runUntil(sim.queue.now + 5);
  return outcome.state === "pending" ? "timeout" : outcome.state;
}

/** Starts a put without waiting; the returned object's state changes as the simulation runs. */
export function startPut(
  sim: Simulation,
  id: number,
  key: string,
  value: string,
): { state: "pending" | PutOutcome } {
  const outcome: { state: "pending" | PutOutcome } = { state: "pending" };
  const inc = sim.node(id).current;
  if (inc == null || !inc.alive) {
    outcome.state = "failed";
    return outcome;
  }
  try {
    inc.loop.propose(encodeCommand({ op: "put", key, value: Buffer.from(value) })).then(
      () => {
        outcome.state = "ok";
      },
      () => {
        outcome.state = "failed";
      },
    );
  } catch {
    outcome.state = "failed";
  }
  return outcome;
}

/** The value a node's state machine holds for key (as text), if any. */
export function valueAt(sim: Simulation, id: number, key: string): string | undefined {
  const v = sim.node(id).current?.fsm.get(key);
  return v === undefined ? undefined : Buffer.from(v.value).toString();
}

/** Current term of a node (0 when down). */
export function termOf(sim: Simulation, id: number): number {
  return sim.node(id).current?.node.status().term ?? 0;
}

/** Ids of nodes that currently believe they lead. */
export function leaders(sim: Simulation): number[] {
  return sim.nodes
    .filter((n) => n.current?.alive && n.current.node.status().role === "leader")
    .map((n) => n.id);
}

/** Cuts every link of `id` in both directions. */
export function disconnect(sim: Simulation, id: number): void {
  const others = sim.nodes.map((n) => n.id).filter((x) => x !== id);
  sim.network.separate([id], others);
}

/** Outcome of a directed linearizable get: the value (null if absent), or why it did not answer. */
export type GetOutcome = { value: string | null } | "failed" | "timeout";

/** Issues a linearizable get at node `id` and runs the simulation until it answers or `ms` pass. */
export async function getAt(
  sim: Simulation,
  id: number,
  key: string,
  ms = 2000,
): Promise<GetOutcome> {
  let outcome: GetOutcome | "pending" = "pending";
  const inc = sim.node(id).current;
  if (inc == null || !inc.alive) return "failed";
  try {
    inc.loop.linearizableRead().then(
      () => {
        const v = inc.fsm.get(key);
        outcome = { value: v === undefined ? null : Buffer.from(v.value).toString() };
      },
      () => {
        outcome = "failed";
      },
    );
  } catch {
    return "failed";
  }
  const deadline = sim.queue.now + ms;
  while (outcome === "pending" && sim.queue.now < deadline) await sim.runUntil(sim.queue.now + 5);
  return outcome === "pending" ? "timeout" : outcome;
}
