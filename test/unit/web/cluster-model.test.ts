/**
 * The live view's rules without a cluster: which leader the console shows (the highest
 * term's), how lag, health and ops/s are derived, and when a leader change is recorded.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StatusResponse } from "../../../src/client/index.ts";
import {
  HEALTHY_LAG_ENTRIES,
  leaderChange,
  type Probe,
  toTick,
} from "../../../src/web/cluster-model.ts";

function status(over: Partial<StatusResponse>): StatusResponse {
  return {
    id: 1,
    address: "",
    role: "follower",
    term: 3,
    leaderId: 1,
    leaderAddress: "",
    commitIndex: 100,
    appliedIndex: 100,
    lastIndex: 100,
    clusterId: "c",
    members: [],
    firstIndex: 1,
    droppedPeerMessages: [],
    version: "0.1.0",
    authEnabled: false,
    health: "ok",
    ...over,
  };
}

const up = (id: number, over: Partial<StatusResponse>): Probe => ({
  id,
  address: `h:${id}`,
  status: status({ id, ...over }),
  probeMs: 2,
});
const down = (id: number): Probe => ({ id, address: `h:${id}`, error: "connection refused" });

describe("cluster model", () => {
  it("shows the leader of the highest term, not a deposed one that still thinks it leads", () => {
    const tick = toTick(
      1000,
      [
        up(1, { role: "leader", term: 3, leaderId: 1 }),
        up(2, { role: "leader", term: 4, leaderId: 2 }),
        up(3, { term: 4, leaderId: 2 }),
      ],
      undefined,
    );
    assert.equal(tick.leaderId, 2);
    assert.equal(tick.term, 4);
  });

  it("counts lag against the leader's commit and calls a far-behind node lagging", () => {
    const tick = toTick(
      1000,
      [
        up(1, { role: "leader", commitIndex: 5000, appliedIndex: 5000 }),
        up(2, { appliedIndex: 4990 }),
        up(3, { appliedIndex: 5000 - HEALTHY_LAG_ENTRIES - 1 }),
      ],
      undefined,
    );
    assert.deepEqual(
      tick.nodes.map((n) => [n.id, n.lag, n.health]),
      [
        [1, 0, "ok"],
        [2, 10, "ok"],
        [3, HEALTHY_LAG_ENTRIES + 1, "lagging"],
      ],
    );
  });

  it("marks unreachable nodes and nodes that know no leader", () => {
    const old = { leaderId: 0, health: "" }; // nodes that predate the health field
    const tick = toTick(1000, [down(1), up(2, old), up(3, old)], undefined);
    assert.equal(tick.leaderId, 0);
    assert.deepEqual(
      tick.nodes.map((n) => [n.id, n.reachable, n.health]),
      [
        [1, false, "unreachable"],
        [2, true, "no_leader"],
        [3, true, "no_leader"],
      ],
    );
    assert.equal(tick.nodes[0]?.error, "connection refused");
  });

  it("derives ops/s from applied indexes between polls, never from an unreachable one", () => {
    const first = toTick(1000, [up(1, { role: "leader", appliedIndex: 100 }), down(2)], undefined);
    const second = toTick(
      3000,
      [up(1, { role: "leader", appliedIndex: 300 }), up(2, { appliedIndex: 250 })],
      first,
    );
    assert.equal(second.nodes[0]?.opsPerSecond, 100);
    assert.equal(second.nodes[1]?.opsPerSecond, 0, "no rate across a gap");
  });

  it("records a leader change only when the leader or its term changes", () => {
    const a = toTick(1000, [up(1, { role: "leader" })], undefined);
    const first = leaderChange(a, undefined);
    assert.deepEqual(first, { t: 1000, term: 3, leaderId: 1 });
    assert.equal(
      leaderChange(toTick(2000, [up(1, { role: "leader" })], a), first ?? undefined),
      null,
    );
    const none = toTick(3000, [down(1)], a);
    const lost = leaderChange(none, first ?? undefined);
    assert.equal(lost?.leaderId, 0);
    assert.equal(leaderChange(toTick(4000, [down(1)], none), lost ?? undefined), null);
    const next = toTick(5000, [up(2, { role: "leader", term: 4, leaderId: 2 })], none);
    assert.deepEqual(leaderChange(next, lost ?? undefined), { t: 5000, term: 4, leaderId: 2 });
  });

  it("takes a node's own failed /health verdict first, with its reason", () => {
    const tick = toTick(
      1000,
      [up(1, { role: "leader" }), up(2, { health: "disk full" }), up(3, { health: "" })],
      undefined,
    );
    assert.deepEqual(
      tick.nodes.map((n) => [n.id, n.health, n.error]),
      [
        [1, "ok", ""],
        [2, "unhealthy", "disk full"],
        [3, "ok", ""],
      ],
    );
  });

  it("says auth is on when any reachable node says so", () => {
    assert.equal(toTick(1, [up(1, { authEnabled: true }), down(2)], undefined).authEnabled, true);
    assert.equal(toTick(1, [up(1, {}), down(2)], undefined).authEnabled, false);
  });
});
