/**
 * The Raft paper's Figure 8 as a directed scenario on the full simulated system (core,
 * event loop, disk, network): an entry of an earlier term that reaches a majority must
 * not be committed by counting replicas, because a node with a later-term entry can
 * still win and overwrite it. With the §5.4.2 rule the invariants hold; without it the
 * checker reports two different entries committed at one index.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Message } from "../../src/raft/index.ts";
import { leaderWithin, putAt, quietCluster, startPut, termOf } from "./scenario-helpers.ts";
import type { Simulation } from "./simulation.ts";

const ALL = [1, 2, 3, 4, 5];

function appendCarries(m: Message, index: number): boolean {
  return m.type === "append" && m.entries.some((e) => e.index === index);
}

async function becomeLeader(sim: Simulation, id: number, within = 8000): Promise<void> {
  sim.node(id).current?.node.campaign("preVote");
  await sim.waitFor(
    `n${id} to lead`,
    within,
    () => sim.node(id).current?.node.status().role === "leader",
  );
}

it("Figure 8: an earlier-term entry on a majority is not committed until an entry of the leader's term is", async () => {
  // One entry per AppendEntries so the old entry and the new leader's no-op travel apart.
  const sim = quietCluster(5, 8, { maxMsgBytes: 1 });
  // (a) S1 leads and everything so far is committed everywhere.
  sim.network.onlyLinks(ALL, [
    [1, 2],
    [1, 3],
    [1, 4],
    [1, 5],
  ]);
  await becomeLeader(sim, 1);
  assert.equal(await putAt(sim, 1, "base", "b"), "ok");
  await sim.runUntil(sim.queue.now + 500);
  const i = (sim.node(1).current?.node.status().lastIndex ?? 0) + 1;

  // (b) S1 appends X at index i (term t), replicated only to S2; then S1 crashes.
  sim.network.onlyLinks(ALL, [[1, 2]]);
  startPut(sim, 1, "x", "X");
  await sim.waitFor("X on S2", 2000, () => sim.node(2).current?.node.status().lastIndex === i);
  sim.crashNow(1);

  // (c) S5 wins with S3 and S4, appends its no-op at index i (term t+1) locally only, crashes.
  sim.network.onlyLinks(ALL, [
    [5, 3],
    [5, 4],
  ]);
  sim.network.filter = (m) => !(m.from === 5 && m.type === "append");
  await becomeLeader(sim, 5);
  await sim.waitFor("S5's no-op durable", 1000, () => sim.node(5).disk.entries.length === i);
  sim.crashNow(5);
  sim.network.filter = null;

  // (d) S1 restarts and wins with S2, S3, S4 (term t+2); X reaches S3 (so S1, S2, S3 hold
  // it: a majority) but S1's own no-op at i+1 reaches only S2 (not a majority).
  sim.restartNow(1);
  sim.network.onlyLinks(ALL, [
    [1, 2],
    [1, 3],
    [1, 4],
  ]);
  const termOfX = sim.node(2).current?.node.termAt(i);
  const hasX = (id: number): boolean => sim.node(id).current?.node.termAt(i) === termOfX;
  // The no-op may travel only as a probe that S3/S4 reject (they lack X); once they hold X it is dropped.
  sim.network.filter = (m) =>
    !(m.from === 1 && (m.to === 3 || m.to === 4) && appendCarries(m, i + 1) && hasX(m.to));
  await becomeLeader(sim, 1);
  await sim.waitFor("X on S3", 3000, () => hasX(3));
  await sim.runUntil(sim.queue.now + 300);
  const leaderCommit = sim.node(1).current?.node.status().commit ?? 0;
  assert.ok(
    leaderCommit < i,
    `S1 must not commit X (index ${i}) by counting replicas; commit is ${leaderCommit}`,
  );

  // (e) S1 crashes; S5 (last term t+1) wins with S2, S3, S4 and overwrites index i.
  sim.crashNow(1);
  sim.network.filter = null;
  sim.restartNow(5);
  sim.network.onlyLinks(ALL, [
    [5, 2],
    [5, 3],
    [5, 4],
  ]);
  await becomeLeader(sim, 5, 10_000);
  assert.equal(await putAt(sim, 5, "after", "a"), "ok");
  sim.network.healLinks();
  sim.restartNow(1);
  await leaderWithin(sim, 10_000);
  await sim.waitFor("convergence", 10_000, () => sim.converged());
  sim.checker.checkExpensive();
  assert.ok(termOf(sim, 5) > 0);
});
