/**
 * How the membership nemesis joins the swarm (test/sim/nemesis.ts): each seed decides from
 * a stream of its own, so seeds that leave it off draw exactly what they drew before it
 * existed (recorded plant measurements and regression seeds stay valid), and `--membership
 * on|off` forces it.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  MEMBERSHIP_KIND,
  membershipWeight,
  nextSwarmFault,
  type SwarmProfile,
  swarmProfile,
} from "../../sim/nemesis.ts";
import { Rng } from "../../support/rng.ts";

describe("membership nemesis in the swarm", () => {
  it("swarm mode enables it for some seeds, on and off force it", () => {
    let enabled = 0;
    for (let seed = 1; seed <= 200; seed++) {
      if (membershipWeight(new Rng(seed), "swarm") > 0) enabled++;
      assert.ok(membershipWeight(new Rng(seed), "on") > 0);
      assert.equal(membershipWeight(new Rng(seed), "off"), 0);
    }
    assert.ok(enabled > 80 && enabled < 160, `enabled for ${enabled} of 200 seeds`);
  });

  it("a profile without it draws exactly the faults it drew before membership existed", () => {
    // The digest of 30 seeds' profiles and first 20 faults each, computed with nemesis.ts
    // as of 83cb657 (before the membership nemesis) and equal with this one.
    const out: unknown[] = [];
    for (let seed = 1; seed <= 30; seed++) {
      const profile = swarmProfile(new Rng(seed));
      assert.equal(profile.weights[MEMBERSHIP_KIND], undefined, "never drawn by swarmProfile");
      const rng = new Rng(seed * 7);
      out.push(profile);
      for (let i = 0; i < 20; i++) out.push(nextSwarmFault(rng, profile));
    }
    assert.equal(
      createHash("sha256").update(JSON.stringify(out)).digest("hex"),
      "bfcaacfb2cc3c301be60b26ea467cb214703f5fdfd6a0b7488d3a2a6bb913f4f",
    );
  });

  it("with it enabled, every membership action is drawn", () => {
    const only: SwarmProfile = { ...swarmProfile(new Rng(3)), weights: { [MEMBERSHIP_KIND]: 1 } };
    const rng = new Rng(9);
    const actions = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const f = nextSwarmFault(rng, only);
      assert.equal(f.kind, "membership");
      if (f.kind === "membership") actions.add(f.action);
    }
    assert.deepEqual([...actions].sort(), [
      "add-learner",
      "promote",
      "remove",
      "replace",
      "split-nonvoters",
      "transfer",
    ]);
  });
});
