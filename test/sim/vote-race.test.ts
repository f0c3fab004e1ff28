/**
 * The vote-race aim (vote-race.ts) sets up what `vote-before-persist` needs: a voter
 * crashed while saving a vote it may already have sent, then asked by a second candidate
 * of the same term. Without the plant the seed passes; with it, the same seed elects two
 * leaders of one term:
 * `npm run sim -- --plant vote-before-persist --seed 6 --nodes 3 --fault-ms 20000 --clients 8 --verbose`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Rng } from "../support/rng.ts";
import { Simulation } from "./simulation.ts";
import { drawVoteRaceAim, planRace, type RaceNode } from "./vote-race.ts";

const SEED = 6;
const FAULT_MS = 20_000;
const ARGS = ["--seed", `${SEED}`, "--nodes", "3", "--fault-ms", `${FAULT_MS}`, "--clients", "8"];
const REPLAY = `npm run sim -- ${ARGS.join(" ")} --verbose`;

const node = (id: number, lastIndex: number, lastTerm = 1): RaceNode => ({
  id,
  lastIndex,
  lastTerm,
});

describe("vote race: planning", () => {
  it("the voter is the node with the shortest log, by term first", () => {
    const plan = planRace([node(1, 9, 2), node(2, 12, 1), node(3, 5, 2)], 3, new Rng(1));
    assert.equal(plan?.voter, 2);
    assert.deepEqual(
      [...(plan?.sides ?? [])].map((s) => s.length),
      [1, 1],
    );
  });

  it("each side wins with the voter and only with it (5 nodes: two and two)", () => {
    const up = [1, 2, 3, 4, 5].map((id) => node(id, 10));
    for (let seed = 1; seed <= 20; seed++) {
      const plan = planRace(up, 5, new Rng(seed));
      assert.ok(plan !== null);
      const [a, b] = plan.sides;
      assert.deepEqual([a.length, b.length], [2, 2]);
      const all = [plan.voter, ...a, ...b].sort();
      assert.deepEqual(all, [1, 2, 3, 4, 5]);
    }
  });

  it("no race when the running members cannot make that shape", () => {
    assert.equal(planRace([node(1, 1), node(2, 1)], 3, new Rng(1)), null);
    // 4 of 5 up: one side of 2 and one of 1, which cannot win even with the voter.
    assert.equal(
      planRace(
        [1, 2, 3, 4].map((id) => node(id, 1)),
        5,
        new Rng(1),
      ),
      null,
    );
  });

  it("the aim is drawn per seed from its own stream, on for some seeds and off for others", () => {
    const on = Array.from({ length: 100 }, (_, i) => drawVoteRaceAim(i + 1) !== null);
    assert.ok(on.filter(Boolean).length > 30 && on.filter(Boolean).length < 90);
    assert.equal(drawVoteRaceAim(SEED) !== null, true);
  });
});

describe("vote race: a fixed seed", () => {
  it("crashes the voter while it saves a vote, and stays safe", { timeout: 300_000 }, async () => {
    const sim = new Simulation({ seed: SEED, nodes: 3, faultMs: FAULT_MS, clients: 8 });
    const report = await sim.run();
    const stats = sim.voteRaceStats();
    console.log(
      `# seed ${SEED}: ${report.ok ? "ok" : "FAIL"} ${JSON.stringify(stats)} | replay: ${REPLAY}`,
    );
    assert.ok(report.ok, `${report.failure}\nreplay: ${REPLAY}`);
    assert.ok(stats.races >= 2, `too few vote races\nreplay: ${REPLAY}`);
    assert.ok(stats.crashes >= 1, `no voter crashed saving a vote\nreplay: ${REPLAY}`);
  });

  it("with vote-before-persist planted, the same seed elects two leaders of one term", {
    timeout: 300_000,
  }, () => {
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(new URL("./run.ts", import.meta.url)),
        "--plant",
        "vote-before-persist",
        ...ARGS,
      ],
      { encoding: "utf8" },
    );
    const out = `${run.stdout}${run.stderr}`;
    assert.notEqual(run.status, 0, `the planted run passed:\n${out.slice(-2000)}`);
    assert.match(out, /election safety: nodes \d and \d both lead term \d+/);
  });
});
