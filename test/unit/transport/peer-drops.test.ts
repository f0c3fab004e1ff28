/**
 * Refused peer messages are counted per reason and logged at most once a minute per
 * sender, so a hostile peer sending hundreds a second cannot flood the log.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DROP_LOG_INTERVAL_MS, PeerDrops } from "../../../src/transport/peer-drops.ts";

test("counts every refusal but logs each sender at most once per interval", () => {
  let now = 1_000;
  const lines: { sender: number; dropped: number }[] = [];
  const drops = new PeerDrops(
    (fields) => lines.push({ sender: fields.sender, dropped: fields.dropped }),
    () => now,
  );
  for (let i = 0; i < 500; i++) drops.record(99, "not_member", "node 99 is not a member");
  drops.record(2, "term_range", "heartbeat of term 2^53-1");
  drops.record(2, "entry_kind", "unknown kind 77");
  assert.deepEqual(
    drops.snapshot(),
    new Map([
      ["not_member", 500],
      ["term_range", 1],
      ["entry_kind", 1],
    ]),
  );
  assert.deepEqual(lines, [
    { sender: 99, dropped: 1 },
    { sender: 2, dropped: 1 },
  ]);
  now += DROP_LOG_INTERVAL_MS - 1;
  drops.record(99, "not_member", "again");
  assert.equal(lines.length, 2, "still within the minute");
  now += 1;
  drops.record(99, "not_member", "again");
  assert.deepEqual(
    lines[2],
    { sender: 99, dropped: 501 },
    "the next line says how many since the last",
  );
});

test("the per-sender table stays bounded when every refusal claims a new sender id", () => {
  let logged = 0;
  const drops = new PeerDrops(
    () => logged++,
    () => 0,
  );
  for (let id = 100; id < 5_100; id++) drops.record(id, "not_member", "forged id");
  assert.equal(logged, 5_000);
  assert.equal(drops.snapshot().get("not_member"), 5_000);
  const table = (drops as unknown as { senders: Map<number, unknown> }).senders;
  assert.ok(table.size <= 1024, `table holds ${table.size} senders`);
});
