/**
 * Revocation is linearizable with data (docs/auth.md): a user `alice` writes continuously
 * (puts and chunked uploads, several in flight, retried across leaders with her session)
 * while an admin revokes her write permission at a seeded random moment, under the swarm's
 * faults (partitions, crashes with torn writes, pauses, leader traps, membership changes).
 * Alice proposes straight into the nodes' loops, so only the state machine's check at
 * apply stands between her in-flight writes and the store. On every node afterwards, no
 * key of hers was written at an index after the revoke's, and she did write before it.
 * Each seed prints its replay command.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { DfsError } from "../../src/api/errors.ts";
import {
  type ApplyResult,
  type AuthOp,
  type CommandCaller,
  encodeCommand,
  type FsmCommand,
} from "../../src/fsm/index.ts";
import { Rng } from "../support/rng.ts";
import { MEMBERSHIP_KIND, membershipWeight, nextSwarmFault, swarmProfile } from "./nemesis.ts";
import { type Simulation as Sim, Simulation } from "./simulation.ts";

/** Simulated ms of faults per seed. */
const FAULT_MS = 10_000;
/** Alice's writers running at once. */
const WRITERS = 3;
/** The ways the admin takes alice's write away. */
const REVOKES = ["permission", "role", "password", "delete-user"] as const;
type Revoke = (typeof REVOKES)[number];

/** What a seed's run saw. */
interface Outcome {
  readonly revoke: Revoke;
  readonly revokeIndex: number;
  readonly revokeAtMs: number;
  /** Alice's writes with a definite answer: where they applied, and what they got. */
  readonly answers: readonly { index: number; kind: ApplyResult["kind"] }[];
  readonly keysBefore: number;
}

describe("revoking alice's write permission under faults", () => {
  const fresh = Math.floor(Math.random() * 2 ** 31);
  const only = process.env.AUTH_SIM_SEED;
  const store = process.env.AUTH_SIM_STORE === "lmdb" ? "lmdb" : undefined;
  type Run = { seed: number; store?: "lmdb" };
  const memory: Run[] = [1, 2, 3, 4, 5, 6, fresh].map((seed) => ({ seed }));
  const runs: Run[] =
    only !== undefined
      ? [{ seed: Number(only), ...(store ? { store } : {}) }]
      : [...memory, { seed: 7, store: "lmdb" }];
  for (const run of runs) {
    const nodes = run.seed % 2 === 0 ? 3 : 5;
    const replay = `AUTH_SIM_SEED=${run.seed}${run.store ? " AUTH_SIM_STORE=lmdb" : ""} SIM_VERBOSE=1 node --import tsx --test test/sim/auth-revoke.test.ts`;
    it(`seed ${run.seed} (${nodes} nodes${run.store ? ", lmdb" : ""})`, async () => {
      const sim = new Simulation({
        seed: run.seed,
        nodes,
        faultMs: FAULT_MS,
        clients: 0,
        verbose: process.env.SIM_VERBOSE === "1",
        ...(run.store ? { store: run.store } : {}),
      });
      try {
        const o = await revokeUnderFaults(sim, run.seed, run.store === "lmdb");
        checkEveryNode(sim, o);
        const refused = o.answers.filter((a) => a.index > o.revokeIndex).length;
        const report = sim.summary();
        const members = report.membership ? ` members: ${report.membership}` : "";
        console.log(
          `# seed ${run.seed}: ok revoke=${o.revoke}@${o.revokeIndex} (${o.revokeAtMs.toFixed(0)} ms into the faults) alice keys=${o.keysBefore} answers=${o.answers.length} refused after=${refused} faults=${report.faults}${members} | replay: ${replay}`,
        );
      } catch (error) {
        console.log(
          sim
            .summary()
            .trace.slice(-60)
            .map((l) => `# ${l}`)
            .join("\n"),
        );
        throw new Error(`${(error as Error).message}\nreplay: ${replay}`, { cause: error });
      } finally {
        await sim.dispose();
      }
    });
  }
});

/** Sets auth up on a quiet cluster, then runs alice, the admin and the faults. */
async function revokeUnderFaults(sim: Sim, seed: number, lmdb: boolean): Promise<Outcome> {
  const rng = new Rng(seed ^ 0x61757468);
  await sim.ready();
  sim.startAll();
  await sim.waitFor("a leader", 3000, () => sim.stableLeader() !== undefined);
  const admin = new Proposer(sim, rng.fork(), "admin");
  const setup = async (op: AuthOp, caller?: CommandCaller) => {
    const out = await admin.propose({ op: "auth", auth: op, ...(caller ? { caller } : {}) }, 5000);
    assert.equal(out?.result.kind, "auth", `setup ${JSON.stringify(op)}: ${JSON.stringify(out)}`);
    return out?.index as number;
  };
  const steps = (async () => {
    const rootGen = await setup({ userAdd: { name: "root", passwordHash: "scrypt$root" } });
    await setup({ roleAdd: { name: "writer" } });
    const perm = { key: "alice/", prefix: true, read: true, write: true, list: true };
    await setup({ roleGrant: { role: "writer", permission: perm, admin: false } });
    const aliceGen = await setup({ userAdd: { name: "alice", passwordHash: "scrypt$alice" } });
    await setup({ userGrantRole: { name: "alice", role: "writer" } });
    await setup({ enable: { tokenKey: Buffer.alloc(32, seed % 251) } });
    return { rootGen, aliceGen };
  })();
  const { rootGen, aliceGen } = await drive(sim, "auth set up", 20_000, steps);

  // Alice writes from now on; the admin revokes at a random moment of the fault phase.
  const alice = { user: "alice", generation: aliceGen };
  const writers = Array.from({ length: WRITERS }, (_, w) => new Writer(sim, rng.fork(), w, alice));
  const writing = writers.map((w) => w.run());
  const revoke = rng.pick(REVOKES);
  const start = sim.queue.now;
  const revokeAtMs = rng.between(0.15, 0.75) * FAULT_MS;
  const revoked = (async () => {
    await admin.sleep(revokeAtMs);
    // Not before alice had a write acknowledged, so "she wrote before it" always holds.
    while (!writers.some((w) => w.answers.some((a) => a.kind === "put"))) await admin.sleep(10);
    return admin.propose(
      { op: "auth", auth: revokeOp(revoke), caller: { user: "root", generation: rootGen } },
      60_000,
    );
  })();
  let revokeOutcome: Awaited<typeof revoked> | undefined;
  void revoked.then((o) => {
    revokeOutcome = o;
  });

  await faults(sim, seed, lmdb, start + FAULT_MS);
  sim.heal();
  await sim.waitFor("the revoke's answer", 20_000, () => revokeOutcome !== undefined);
  assert.equal(revokeOutcome?.result.kind, "auth", `revoke: ${JSON.stringify(revokeOutcome)}`);
  const revokeIndex = revokeOutcome?.index as number;
  // Alice goes on a while on the healed cluster, then stops; her last writes finish.
  await sim.runUntil(sim.queue.now + 1000);
  for (const w of writers) w.running = false;
  await drive(sim, "alice's last writes", 10_000, Promise.all(writing));
  await sim.finish();
  const answers = writers.flatMap((w) => w.answers);
  return {
    revoke,
    revokeIndex,
    revokeAtMs,
    answers,
    keysBefore: aliceKeys(sim, sim.stableLeader() as number).length,
  };
}

/**
 * The swarm's faults until `end`, drawn as Simulation.run draws them (membership included
 * in memory mode; the LMDB store's own step crashes are left to lmdb-swarm.test.ts).
 */
async function faults(sim: Sim, seed: number, lmdb: boolean, end: number): Promise<void> {
  let profile = swarmProfile(sim.rng.fork());
  const weight = lmdb ? 0 : membershipWeight(new Rng(seed ^ 0x6d656d62), "swarm");
  if (weight > 0) {
    profile = { ...profile, weights: { ...profile.weights, [MEMBERSHIP_KIND]: weight } };
    sim.enableMembership();
  }
  sim.trace(`auth-revoke profile ${JSON.stringify(profile)}`);
  sim.network.conditions = { ...profile.conditions };
  while (sim.queue.now < end) {
    const gap = sim.rng.between(0.2, 1.8) * profile.faultEveryMs;
    await sim.runUntil(Math.min(end, sim.queue.now + gap));
    if (sim.queue.now >= end) break;
    await sim.injectSwarm(nextSwarmFault(sim.rng, profile), profile, end);
  }
}

function revokeOp(revoke: Revoke): AuthOp {
  switch (revoke) {
    case "permission": {
      const permission = { key: "alice/", prefix: true, read: false, write: false, list: false };
      return { roleRevoke: { role: "writer", permission, admin: false } };
    }
    case "role":
      return { userRevokeRole: { name: "alice", role: "writer" } };
    case "password":
      return { userPasswd: { name: "alice", passwordHash: "scrypt$changed" } };
    case "delete-user":
      return { userDelete: { name: "alice" } };
  }
}

/**
 * On every member node: alice wrote before the revoke, never after it (every key of hers
 * was last written at an index before the revoke's), and every answer she got agrees.
 */
function checkEveryNode(sim: Sim, o: Outcome): void {
  const members = sim.memberIds();
  assert.ok(members.length >= 1);
  for (const id of members) {
    const fsm = sim.node(id).current?.fsm;
    assert.ok(fsm !== undefined, `n${id} is up after the run`);
    assert.ok(fsm.appliedIndex > o.revokeIndex, `n${id} applied the revoke`);
    const keys = aliceKeys(sim, id);
    assert.ok(keys.length > 0, `n${id}: alice wrote before the revoke`);
    for (const { key, modIndex } of keys)
      assert.ok(
        modIndex < o.revokeIndex,
        `n${id}: alice's ${key} was written at ${modIndex}, after the revoke at ${o.revokeIndex}`,
      );
  }
  for (const a of o.answers) {
    if (a.index > o.revokeIndex)
      assert.ok(
        a.kind === "permission_denied" || a.kind === "unauthenticated",
        `alice's write at ${a.index}, after the revoke at ${o.revokeIndex}, got ${a.kind}`,
      );
  }
  assert.ok(
    o.answers.some((a) => a.index < o.revokeIndex && a.kind === "put"),
    "alice had a write acknowledged before the revoke",
  );
  assert.ok(
    o.answers.some((a) => a.index > o.revokeIndex),
    "alice kept writing after the revoke (and was refused)",
  );
}

function aliceKeys(sim: Sim, id: number): { key: string; modIndex: number }[] {
  const fsm = sim.node(id).current?.fsm;
  if (fsm === undefined) return [];
  const view = fsm.openView();
  try {
    return [...view.keys("alice/", "alice/")].map((key) => ({
      key,
      modIndex: view.get(key)?.modIndex ?? 0,
    }));
  } finally {
    view.close();
  }
}

/** Runs the simulation until `p` settles (or fails the run after `withinMs`). */
async function drive<T>(sim: Sim, what: string, withinMs: number, p: Promise<T>): Promise<T> {
  let settled = false;
  let value: T | undefined;
  let failure: unknown;
  p.then(
    (v) => {
      settled = true;
      value = v;
    },
    (e: unknown) => {
      settled = true;
      failure = e ?? new Error("rejected");
    },
  );
  await sim.waitFor(what, withinMs, () => settled);
  if (failure !== undefined) throw failure;
  return value as T;
}

/** A committed proposal: where it applied and what it got. */
interface Committed {
  readonly index: number;
  readonly result: ApplyResult;
}

/** Proposes commands through the nodes' loops, following leaders, exactly once per command. */
class Proposer {
  private sequence = 0;
  private guess: number;

  constructor(
    protected readonly sim: Sim,
    protected readonly rng: Rng,
    private readonly clientId: string,
  ) {
    this.guess = rng.pick(sim.nodes).id;
  }

  /**
   * Proposes `command` under the next session sequence until it gets a definite answer or
   * `withinMs` pass (null: unknown whether it applied). Retries reuse the sequence.
   */
  async propose(command: FsmCommand, withinMs: number): Promise<Committed | null> {
    // A chunk goes without a session, as the server proposes it (a repeated chunk is ignored).
    const seq = command.op === "upload_chunk" ? 0 : ++this.sequence;
    const session = { clientId: this.clientId, sequence: seq, firstIncomplete: seq };
    const data = encodeCommand(seq === 0 ? command : { ...command, session });
    const deadline = this.sim.queue.now + withinMs;
    while (this.sim.queue.now < deadline) {
      const answer = await this.attempt(data, Math.min(500, deadline - this.sim.queue.now));
      if (typeof answer === "object") return answer;
      this.guess = answer > 0 ? answer : this.rng.pick(this.sim.nodes).id;
      await this.sleep(this.rng.between(1, 10));
    }
    return null;
  }

  /** One attempt at the guessed node: the answer, or whom to try next (0: anyone). */
  private attempt(data: Uint8Array, ms: number): Promise<Committed | number> {
    const inc = this.sim.nodes.find((n) => n.id === this.guess)?.current;
    if (inc == null || !inc.alive) return Promise.resolve(0);
    return new Promise((resolve) => {
      let settled = false;
      const settle = (v: Committed | number) => {
        if (!settled) {
          settled = true;
          resolve(v);
        }
      };
      this.sim.queue.after(ms, () => settle(0));
      inc.run(() => {
        try {
          inc.loop.propose(data).then(settle, (e: unknown) => settle(hintOf(e, this.guess)));
        } catch (e) {
          settle(hintOf(e, this.guess));
        }
      });
    });
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sim.queue.after(ms, resolve));
  }
}

/** The leader a NOT_LEADER error names, if another than the node asked; else 0. */
function hintOf(error: unknown, asked: number): number {
  if (!(error instanceof DfsError) || error.code !== "not_leader" || !error.leaderHint) return 0;
  const hint = Number(error.leaderHint.slice(1));
  return hint > 0 && hint !== asked ? hint : 0;
}

/** One of alice's writers: puts and chunked uploads of fresh keys, one at a time. */
class Writer extends Proposer {
  running = true;
  readonly answers: { index: number; kind: ApplyResult["kind"] }[] = [];
  private n = 0;

  constructor(
    sim: Sim,
    rng: Rng,
    private readonly w: number,
    private readonly caller: CommandCaller,
  ) {
    super(sim, rng, `alice-${w}`);
  }

  async run(): Promise<void> {
    while (this.running) {
      const key = `alice/w${this.w}-${++this.n}`;
      const value = Buffer.from(`${key} by alice`);
      if (this.rng.chance(0.25)) await this.upload(key, value);
      else this.note(await this.propose({ op: "put", key, value, caller: this.caller }, 2000));
      await this.sleep(this.rng.between(0, 20));
    }
  }

  /** An upload of 1-2 chunks and its commit, all as alice; stops at the first refusal. */
  private async upload(key: string, value: Buffer): Promise<void> {
    // 32 hex characters, as the node's upload handler makes them: the write path puts only
    // such uploads' chunks in blob files.
    const uploadId = `a11ce${this.w.toString(16).padStart(3, "0")}${this.n.toString(16).padStart(24, "0")}`;
    const half = Math.ceil(value.length / 2);
    const pieces = this.rng.chance(0.5) ? [value] : [value.subarray(0, half), value.subarray(half)];
    for (const [seq, data] of pieces.entries()) {
      const chunk = await this.propose(
        { op: "upload_chunk", uploadId, seq, data, caller: this.caller },
        2000,
      );
      this.note(chunk);
      if (chunk?.result.kind !== "chunk") return;
    }
    const sha256 = createHash("sha256").update(value).digest();
    const commit = { op: "commit_upload", uploadId, key, size: value.length, sha256 } as const;
    this.note(await this.propose({ ...commit, chunks: pieces.length, caller: this.caller }, 2000));
  }

  /**
   * Records an answer at the index where the write applied: a retry answered from the
   * session names the original's index in its result, not the retry's entry.
   */
  private note(out: Committed | null): void {
    if (out === null) return;
    const index = "index" in out.result ? out.result.index : out.index;
    this.answers.push({ index, kind: out.result.kind });
  }
}
