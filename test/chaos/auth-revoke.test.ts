/**
 * Auth under chaos (docs/auth.md): three real nodes behind fault proxies with auth on,
 * user alice writing and reading her own keys from several workers while the nemesis
 * kills, pauses, partitions, delays and drops, and root revokes alice's permission at a
 * seeded moment in the middle of it. Passes only if no write of alice was acknowledged at
 * a log index after the revocation's, no call of alice started after the revocation was
 * acknowledged succeeded, and both sides of the revocation saw real work. Prints its seed
 * and the command that replays it. A burst of 64 writers around the revocation makes
 * writes that passed the node's check before the revocation applied land after it in the
 * log: with the state machine's check at apply switched off, this test fails (tried:
 * acknowledged writes at the revocation's index + 1, + 2, ...).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsClient, DfsError } from "../../src/client/index.ts";
import { Rng } from "../support/rng.ts";
import { runNemesis } from "./nemesis.ts";
import { ChaosCluster } from "./proxied-cluster.ts";

const SEED = Number(process.env.CHAOS_SEED ?? 20_261_207);
const FAULT_MS = Number(process.env.CHAOS_FAULT_MS ?? 30_000);
const WORKERS = 4;
/** Writers added for a moment around the revocation. */
const BURST = 64;
const ALICE = { user: "alice", password: "alice-pw" };
const ROOT = { user: "root", password: "root-pw" };
const GRANT = { key: "alice/", prefix: true };

/** One call of alice: when it ran (ms on the test's clock) and how it ended. */
interface AliceOp {
  readonly kind: "put" | "get";
  readonly key: string;
  readonly start: number;
  readonly end: number;
  /** The put's log index when acknowledged. */
  readonly index?: number;
  /** The error code when it failed. */
  readonly code?: string;
}

/** Where the revocation applied: exactly, or an upper bound when a retry made it ambiguous. */
interface Revocation {
  readonly index: number;
  readonly exact: boolean;
  /** When the revoke call returned (test clock). */
  readonly acknowledged: number;
}

/** What alice may see fail: the revocation, or a node that cannot answer now. */
const EXPECTED_CODES = new Set(["permission_denied", "unavailable"]);

test(`a user revoked mid-run under faults never writes after the revocation (seed ${SEED})`, {
  timeout: 300_000,
}, async () => {
  process.stdout.write(
    `seed ${SEED}; replay: CHAOS_SEED=${SEED} node --import tsx --test test/chaos/auth-revoke.test.ts\n`,
  );
  const rng = new Rng(SEED);
  const cluster = await ChaosCluster.start(3, rng.fork().source());
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const log = (line: string) => process.stdout.write(`${(now() / 1000).toFixed(1)}s ${line}\n`);
  const clients: DfsClient[] = [];
  const client = (options: { user?: string; password?: string }, timeoutMs: number) => {
    const c = new DfsClient({ endpoints: cluster.endpoints(), timeoutMs, ...options });
    clients.push(c);
    return c;
  };
  let failed = true;
  try {
    await setUpAuth(client({}, 30_000));
    const alice = client(ALICE, 5_000);
    const root = client(ROOT, 60_000);
    const ops: AliceOp[] = [];
    let stop = false;
    const workers = Array.from({ length: WORKERS }, (_, w) =>
      (async () => {
        for (let n = 0; !stop; n++) {
          const key = `alice/${w}/${n % 50}`;
          ops.push(await timed("put", key, now, () => alice.put(key, Buffer.from(`${n}`))));
          ops.push(await timed("get", key, now, () => alice.get(key)));
        }
      })(),
    );
    const revokeAfter = Math.round(rng.between(0.3, 0.7) * FAULT_MS);
    log(`faults for ${FAULT_MS} ms; alice's permission revoked after ${revokeAfter} ms of them`);
    const nemesis = runNemesis({
      cluster,
      rng: rng.fork(),
      families: new Set(["kill", "pause", "partition", "delay", "drop"]),
      durationMs: FAULT_MS,
      now,
      log,
    });
    await new Promise((resolve) => setTimeout(resolve, revokeAfter)); // the schedule's moment
    // A burst of writes around the revocation: those a node checked before the revocation
    // applied but that landed in the log after it are what only the check at apply stops.
    let burst = true;
    const bursts = Array.from({ length: BURST }, (_, b) =>
      (async () => {
        for (let n = 0; burst; n++) {
          const key = `alice/burst${b}/${n % 10}`;
          ops.push(await timed("put", key, now, () => alice.put(key, Buffer.from(`${n}`))));
        }
      })(),
    );
    await new Promise((resolve) => setTimeout(resolve, 50)); // the burst under way
    const revocation = await revoke(root, cluster, now);
    await new Promise((resolve) => setTimeout(resolve, 100));
    burst = false;
    await Promise.all(bursts);
    log(`revoked at index ${revocation.index}${revocation.exact ? "" : " (upper bound)"}`);
    await nemesis;
    const healErrors = await cluster.healAll();
    assert.deepEqual(healErrors, [], "every fault healed");
    // Alice keeps trying on a healed cluster: every one of these must be refused.
    const until = now() + 3_000;
    while (now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    stop = true;
    await Promise.all(workers);
    judge(ops, revocation, log);
    assert.deepEqual(cluster.crashes, [], "no node exited on its own");
    failed = false;
  } finally {
    for (const c of clients) c.close();
    await cluster.destroy(failed);
    if (failed) process.stdout.write(`data kept in ${cluster.root}\n`);
  }
});

/** Root, alice with read-write on `alice/`, then auth on (all while auth is off). */
async function setUpAuth(open: DfsClient): Promise<void> {
  await open.authChange({ op: "user_add", name: ROOT.user, password: ROOT.password });
  await open.authChange({ op: "user_add", name: ALICE.user, password: ALICE.password });
  await open.authChange({ op: "role_add", name: "alice-rw" });
  await open.authChange({
    op: "role_grant",
    role: "alice-rw",
    permission: { ...GRANT, read: true, write: true, list: true },
  });
  await open.authChange({ op: "user_grant_role", name: ALICE.user, role: "alice-rw" });
  await open.authChange({ op: "enable" });
}

/**
 * Revokes alice's grant. A success names the exact index: had an earlier attempt of the
 * same call applied (a timeout under faults, then a retry), this one would have been
 * refused. A refusal saying the permission is gone means an earlier attempt applied at
 * an unknown index; then the leader's applied index right after bounds it from above.
 */
async function revoke(root: DfsClient, cluster: ChaosCluster, now: () => number) {
  try {
    const { index } = await root.authChange({
      op: "role_revoke",
      role: "alice-rw",
      permission: GRANT,
    });
    return { index, exact: true, acknowledged: now() } satisfies Revocation;
  } catch (error) {
    if (!(error instanceof DfsError) || !/has no permission/.test(error.message)) throw error;
    const acknowledged = now();
    const applied = await Promise.all(
      cluster.endpoints().map((e) =>
        root.status(e).then(
          (s) => s.appliedIndex,
          () => 0,
        ),
      ),
    );
    return { index: Math.max(...applied), exact: false, acknowledged } satisfies Revocation;
  }
}

async function timed(
  kind: AliceOp["kind"],
  key: string,
  now: () => number,
  call: () => Promise<object>,
): Promise<AliceOp> {
  const start = now();
  try {
    const r = await call();
    const index = "index" in r && typeof r.index === "number" ? { index: r.index } : {};
    return { kind, key, start, end: now(), ...index };
  } catch (error) {
    const code = error instanceof DfsError ? error.code : `thrown: ${String(error)}`;
    if (code === "permission_denied") await new Promise((resolve) => setTimeout(resolve, 20));
    return { kind, key, start, end: now(), code };
  }
}

/** The run's verdict; throws with the offending operations. */
function judge(ops: readonly AliceOp[], r: Revocation, log: (line: string) => void): void {
  const ok = ops.filter((o) => o.code === undefined);
  const writesAfter = ok.filter((o) => o.kind === "put" && (o.index ?? 0) >= r.index);
  const startedAfter = ok.filter((o) => o.start > r.acknowledged);
  const odd = ops.filter((o) => o.code !== undefined && !EXPECTED_CODES.has(o.code));
  const before = ok.filter((o) => o.end < r.acknowledged).length;
  const refused = ops.filter((o) => o.code === "permission_denied").length;
  log(
    `alice: ${ops.length} calls, ${ok.length} ok (${before} before the revocation), ` +
      `${refused} refused for permission, ${ops.length - ok.length - refused} unavailable`,
  );
  assert.deepEqual(writesAfter, [], `writes of alice acknowledged at or after index ${r.index}`);
  assert.deepEqual(startedAfter, [], "calls of alice that began after the revocation succeeded");
  assert.deepEqual(odd, [], "alice saw only permission_denied and unavailable");
  assert.ok(before >= 20, `only ${before} calls of alice succeeded before the revocation`);
  assert.ok(refused >= 10, `only ${refused} calls of alice were refused after it`);
}
