/**
 * How the aimed kinds join the swarm (test/sim/nemesis.ts AIMED_KINDS): each seed turns
 * each on from a stream of its own, so seeds that leave them off draw exactly the faults
 * they drew before the kinds existed, and swarmProfile never draws them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AIMED_KINDS,
  aimedWeights,
  nextSwarmFault,
  type SwarmProfile,
  swarmProfile,
} from "../../sim/nemesis.ts";
import { Rng } from "../../support/rng.ts";

describe("aimed kinds in the swarm", () => {
  it("each is on for some seeds and off for others", () => {
    for (const kind of AIMED_KINDS) {
      let on = 0;
      for (let seed = 1; seed <= 500; seed++) {
        const w = aimedWeights(new Rng(seed))[kind];
        if (w === undefined) continue;
        on++;
        assert.ok(w >= 3 && w <= 12, `${kind} weight ${w}`);
      }
      assert.ok(on > 150 && on < 250, `${kind} on for ${on} of 500 seeds`);
    }
  });

  it("swarmProfile never draws them, so seeds without them replay as before", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const profile = swarmProfile(new Rng(seed));
      for (const kind of AIMED_KINDS) assert.equal(profile.weights[kind], undefined);
    }
  });

  it("enabled alone, each is what nextSwarmFault draws, with its cut length in range", () => {
    for (const kind of AIMED_KINDS) {
      const only: SwarmProfile = { ...swarmProfile(new Rng(3)), weights: { [kind]: 1 } };
      const rng = new Rng(11);
      for (let i = 0; i < 50; i++) {
        const f = nextSwarmFault(rng, only);
        assert.equal(f.kind, kind);
        if (f.kind === "cut-after-commit" || f.kind === "stale-tail-snapshot") {
          assert.ok(f.isolateMs >= 800 && f.isolateMs <= 6000, `${f.isolateMs} ms`);
        }
      }
    }
  });
});
