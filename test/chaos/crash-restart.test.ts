/**
 * Crash durability on real processes (docs/testing.md#chaos): SIGKILL the leader or
 * a follower while a client writes, restart it on the same data dir, again and again.
 * Every restart must succeed (a SIGKILL loses no completed write(), so the WAL must never
 * look corrupt) and every acknowledged write must be readable at the end.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DfsClient } from "../../src/client/index.ts";
import { waitFor } from "../../src/cluster/index.ts";
import { ChaosCluster } from "./proxied-cluster.ts";

const ROUNDS = 8;

let cluster: ChaosCluster;
before(async () => {
  cluster = await ChaosCluster.start(3);
});
after(async () => {
  await cluster?.destroy();
});

test(`${ROUNDS} rounds of SIGKILL + restart under writes: restarts succeed, no acknowledged write lost`, async () => {
  const acked = new Map<string, string>();
  const client = new DfsClient({ endpoints: cluster.endpoints(), timeoutMs: 5000 });
  let running = true;
  const writer = (async () => {
    for (let i = 0; running; i++) {
      const key = `crash/${i}`;
      const value = `v${i}`;
      await client.put(key, Buffer.from(value)).then(
        () => acked.set(key, value),
        () => undefined, // unacknowledged: may or may not have happened
      );
    }
  })();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const leader = await cluster.processes.waitForLeader();
      const target = round % 2 === 0 ? leader : (cluster.ids().find((id) => id !== leader) ?? 1);
      const before = acked.size;
      await waitForWrites(acked, before + 20);
      await cluster.processes.kill(target);
      await cluster.processes.restart(target); // throws with the node's last words if it refuses to start
    }
  } finally {
    running = false;
    await writer;
  }
  assert.deepEqual(cluster.crashes, []);
  for (const [key, value] of acked) {
    const got = await client.get(key);
    assert.equal(Buffer.from(got.value).toString(), value, `acknowledged write to ${key} lost`);
  }
  client.close();
});

/** Polls until the writer has `count` acknowledged writes (with a deadline). */
async function waitForWrites(acked: Map<string, string>, count: number): Promise<void> {
  await waitFor(
    `${count} acknowledged writes`,
    () => (acked.size >= count ? true : undefined),
    20_000,
    20,
  );
}
