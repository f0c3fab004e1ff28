/**
 * Writes whose acknowledgements tests hold the cluster to: many concurrent puts over a
 * few keys, remembering per key the acknowledged write with the highest log index (what
 * every later read must see), and checks that one node caught up and holds them all.
 */
import assert from "node:assert/strict";
import { type LocalCluster, waitFor } from "../../src/cluster/index.ts";

/** Per key: the acknowledged write with the highest log index. */
export type Acked = Map<string, { index: number; value: string }>;

/** Puts `count` values `tag-i` over `keys` keys under `prefix/`, 16 in flight. */
export async function writeAcked(
  cluster: LocalCluster,
  acked: Acked,
  tag: string,
  count: number,
  { prefix = "acked", keys = 100 } = {},
): Promise<void> {
  const client = cluster.client();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) {
        const key = `${prefix}/${i % keys}`;
        const value = `${tag}-${i}`;
        const { index } = await client.put(key, Buffer.from(value));
        if (index > (acked.get(key)?.index ?? 0)) acked.set(key, { index, value });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  } finally {
    client.close();
  }
}

/** Waits until node `id` has applied at least what the leader has committed now. */
export async function caughtUp(cluster: LocalCluster, id: number): Promise<void> {
  const leader = cluster.node(await cluster.waitForLeader());
  const target = (await cluster.status(leader))?.commitIndex ?? 0;
  await waitFor(
    `node ${id} to apply ${target}`,
    async () =>
      ((await cluster.status(cluster.node(id)))?.appliedIndex ?? 0) >= target || undefined,
    60_000,
  );
}

/** Reads every key from ONE node's own applied state and compares with what was acknowledged. */
export async function assertNodeHolds(
  cluster: LocalCluster,
  id: number,
  acked: Acked,
): Promise<void> {
  const client = cluster.client([cluster.node(id).address]);
  try {
    for (const [key, { value }] of acked) {
      const got = await client.get(key, { serializable: true });
      assert.equal(Buffer.from(got.value).toString(), value, `node ${id}: ${key}`);
    }
  } finally {
    client.close();
  }
}

/** Writes `count` keys `prefix/i` one by one and returns them (all acknowledged). */
export async function ackedWrites(
  cluster: LocalCluster,
  prefix: string,
  count: number,
): Promise<string[]> {
  const client = cluster.client();
  try {
    const keys = Array.from({ length: count }, (_, i) => `${prefix}/${i}`);
    for (const key of keys) await client.put(key, Buffer.from(`value of ${key}`));
    return keys;
  } finally {
    client.close();
  }
}

/** Every key from {@link ackedWrites} reads back, and a new write is acknowledged. */
export async function assertServingWith(
  cluster: LocalCluster,
  keys: readonly string[],
): Promise<void> {
  const client = cluster.client();
  try {
    for (const key of keys) {
      assert.equal(Buffer.from((await client.get(key)).value).toString(), `value of ${key}`);
    }
    assert.ok((await client.put("still-serving", Buffer.from("yes"))).index > 0);
  } finally {
    client.close();
  }
}
