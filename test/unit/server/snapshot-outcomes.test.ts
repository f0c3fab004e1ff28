/** The mailbox between the snapshot sender and the loop: nothing reported is lost. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SnapshotOutcomes } from "../../../src/server/loop/snapshot-outcomes.ts";

test("reports made before the loop listens are delivered, in order, when it does", () => {
  const outcomes = new SnapshotOutcomes();
  outcomes.report(2, true);
  outcomes.report(3, false);
  const seen: string[] = [];
  outcomes.listen((peer, ok) => seen.push(`${peer}:${ok}`));
  outcomes.report(2, false);
  assert.deepEqual(seen, ["2:true", "3:false", "2:false"]);
});

test("a second listener is a wiring bug and throws", () => {
  const outcomes = new SnapshotOutcomes();
  outcomes.listen(() => {});
  assert.throws(() => outcomes.listen(() => {}), /already have a listener/);
});
