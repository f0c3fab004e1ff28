/**
 * Dead blobs drive snapshots and compaction (src/server/loop/snapshot-policy.ts,
 * docs/architecture.md#the-blob-store): a due death index makes a snapshot even before
 * the entry count is reached, compaction reaches it whatever the keep rule would keep
 * (never past the WAL's durable entries nor a snapshot stream's pin), the reaper gets
 * the WAL's compacted index, and a blocked attempt is not retried within a second.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DiskFullGuard } from "../../../src/server/loop/disk-full-guard.ts";
import type { SnapshotPolicy } from "../../../src/server/loop/ports.ts";
import { Snapshotter } from "../../../src/server/loop/snapshot-policy.ts";

function harness(opts: { stable: number; pinned?: number }) {
  const log = { compacted: 0, walCompacted: 0, snapshots: [] as number[], reaped: [] as number[] };
  let due = 0;
  let now = 0;
  const applied = 100;
  const policy: SnapshotPolicy = {
    store: { capture: async (m) => void log.snapshots.push(m.index), install: async () => {} },
    everyEntries: 10_000,
    keepEntries: 5_000,
    pinnedIndex: () => opts.pinned ?? Number.POSITIVE_INFINITY,
    blobsDue: () => due,
    reapBlobs: async (index) => void log.reaped.push(index),
  };
  const snapshotter = new Snapshotter({
    node: {
      status: () =>
        ({ compacted: { index: log.compacted }, stableIndex: opts.stable }) as ReturnType<
          ConstructorParameters<typeof Snapshotter>[0]["node"]["status"]
        >,
      termAt: () => 1,
      entryAt: () => undefined,
      snapshotTaken: () => {},
      compact: (to: number) => {
        log.compacted = to;
      },
    },
    wal: {
      save: async () => {},
      compact: async (to: number) => {
        log.walCompacted = to;
      },
    } as unknown as ConstructorParameters<typeof Snapshotter>[0]["wal"],
    fsm: { appliedIndex: applied },
    guard: {
      retry: async (f: () => Promise<unknown>) => f(),
      postponable: async () => false,
    } as unknown as DiskFullGuard,
    policy,
    now: () => now,
  });
  return {
    log,
    snapshotter,
    setDue: (i: number) => {
      due = i;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

test("a due dead blob makes a snapshot and compacts to its death index past the keep rule", async () => {
  const h = harness({ stable: 100 });
  await h.snapshotter.maybeSnapshot();
  assert.deepEqual(h.log.snapshots, [], "nothing due: no snapshot");
  assert.deepEqual(h.log.reaped, [0], "the reaper is still asked (pins end at any time)");
  h.setDue(60);
  await h.snapshotter.maybeSnapshot();
  assert.deepEqual(h.log.snapshots, [100]);
  assert.equal(h.log.compacted, 60, "keepEntries 5000 would keep everything");
  assert.equal(h.log.walCompacted, 60);
  assert.equal(h.log.reaped.at(-1), 60, "reaped with the WAL's compacted index");
  await h.snapshotter.maybeSnapshot();
  assert.equal(h.log.snapshots.length, 1, "done: the log is compacted past it");
});

test("never past the WAL's durable entries nor a stream's pin; retried after a second", async () => {
  const h = harness({ stable: 40, pinned: 30 });
  h.setDue(60);
  await h.snapshotter.maybeSnapshot();
  assert.equal(h.log.compacted, 29, "stops short of the pinned index");
  await h.snapshotter.maybeSnapshot();
  assert.equal(h.log.snapshots.length, 1, "not retried at once");
  h.advance(1_000);
  await h.snapshotter.maybeSnapshot();
  assert.equal(h.log.snapshots.length, 2, "retried after a second");
});
