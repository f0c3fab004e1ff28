/**
 * The session table's rules on their own (src/fsm/sessions.ts), each at its boundary:
 * which retry is a duplicate, new or expired; which results a client's firstIncomplete
 * and the two bounds forget; the periodic sweep of idle clients; the change feed an
 * on-disk store persists; and a snapshot image's round trip. The store tests reach the
 * table only through whole writes, far from these edges (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ApplyResult } from "../../../src/fsm/index.ts";
import {
  type ClientImage,
  EVICT_TO,
  MAX_SESSION_RESULT_BYTES,
  MAX_SESSION_RESULTS,
  resultBytes,
  SESSION_EXPIRY_MS,
  SessionTable,
} from "../../../src/fsm/sessions.ts";

const ok = (index: number): ApplyResult => ({ kind: "put", version: 1, index });
const s = (clientId: string, sequence: number, firstIncomplete: number) => ({
  clientId,
  sequence,
  firstIncomplete,
});
/** A result whose estimated size is exactly `bytes` (a refusal quoting that much text). */
const sized = (bytes: number): ApplyResult => ({ kind: "invalid", reason: "x".repeat(bytes - 64) });

function client(table: SessionTable, id: string): ClientImage | undefined {
  return table.toImage().clients.find((c) => c.id === id);
}
const seqsOf = (table: SessionTable, id: string) =>
  client(table, id)?.results.map(([seq]) => seq) ?? [];

describe("session bounds", () => {
  it("an hour of idleness expires a client; 1024 results or 256 KiB bound one, evicted to 3/4", () => {
    assert.equal(SESSION_EXPIRY_MS, 3_600_000);
    assert.equal(MAX_SESSION_RESULTS, 1024);
    assert.equal(MAX_SESSION_RESULT_BYTES, 262_144);
    assert.equal(EVICT_TO, 0.75);
  });
});

describe("SessionTable.check", () => {
  it("an unknown client is new; a remembered sequence is a duplicate with its result", () => {
    const t = new SessionTable();
    assert.deepEqual(t.check(s("c", 5, 5)), { kind: "new" });
    t.record(s("c", 5, 5), ok(7), 0);
    assert.deepEqual(t.check(s("c", 5, 5)), { kind: "duplicate", result: ok(7) });
  });

  it("below firstIncomplete is expired; at or above it, not remembered, is new", () => {
    const t = new SessionTable();
    t.record(s("c", 5, 5), ok(1), 0);
    assert.deepEqual(t.check(s("c", 4, 5)), { kind: "expired" });
    t.record(s("c", 7, 5), ok(2), 0);
    assert.deepEqual(t.check(s("c", 6, 5)), { kind: "new" }, "5 <= 6, not remembered");
    // firstIncomplete 0 (a fresh client) expires nothing
    t.record(s("d", 3, 0), ok(3), 0);
    assert.deepEqual(t.check(s("d", 0, 0)), { kind: "new" });
  });
});

describe("SessionTable.record and acknowledge", () => {
  it("a raised firstIncomplete forgets results below it and keeps the one at it", () => {
    const t = new SessionTable();
    for (const seq of [1, 2, 3, 4]) t.record(s("c", seq, 1), ok(seq), 0);
    t.acknowledge(s("c", 3, 3), 0);
    assert.deepEqual(seqsOf(t, "c"), [3, 4]);
    assert.equal(client(t, "c")?.firstIncomplete, 3);
    assert.deepEqual(t.check(s("c", 2, 3)), { kind: "expired" });
    // a lower firstIncomplete (a reordered older write) never lowers it
    t.record(s("c", 5, 2), ok(5), 0);
    assert.equal(client(t, "c")?.firstIncomplete, 3);
    assert.deepEqual(seqsOf(t, "c"), [3, 4, 5]);
  });

  it("a client's last activity is the latest clock seen, never an earlier one", () => {
    const t = new SessionTable();
    t.record(s("c", 1, 1), ok(1), 500);
    assert.equal(client(t, "c")?.lastActiveMs, 500);
    t.record(s("c", 2, 1), ok(2), 300);
    assert.equal(client(t, "c")?.lastActiveMs, 500);
    t.acknowledge(s("c", 2, 1), 900);
    assert.equal(client(t, "c")?.lastActiveMs, 900);
    t.acknowledge(s("c", 2, 1), 100);
    assert.equal(client(t, "c")?.lastActiveMs, 900);
  });

  it("acknowledging an unknown client creates nothing and changes nothing", () => {
    const t = new SessionTable();
    t.acknowledge(s("ghost", 1, 1), 0);
    assert.equal(t.size(), 0);
    assert.deepEqual(t.takeChanges(), []);
    assert.equal(t.writeCount, 0, "an acknowledgement is not a write");
  });

  it("each record counts one write", () => {
    const t = new SessionTable();
    t.record(s("a", 1, 1), ok(1), 0);
    t.record(s("b", 1, 1), ok(2), 0);
    t.record(s("a", 1, 1), ok(3), 0);
    assert.equal(t.writeCount, 3);
    assert.equal(t.size(), 2);
  });
});

describe("resultBytes", () => {
  it("is 64 plus the length of the text a result carries", () => {
    assert.equal(resultBytes(ok(1)), 64);
    assert.equal(resultBytes({ kind: "noop" }), 64);
    assert.equal(resultBytes({ kind: "invalid", reason: "abc" }), 67);
    assert.equal(resultBytes({ kind: "permission_denied", reason: "" }), 64);
  });
});

describe("SessionTable bounds", () => {
  it("exactly MAX_SESSION_RESULTS results are all kept; one more evicts down to EVICT_TO", () => {
    const t = new SessionTable();
    for (let seq = 1; seq <= MAX_SESSION_RESULTS; seq++) t.record(s("c", seq, 1), ok(seq), 0);
    assert.equal(seqsOf(t, "c").length, MAX_SESSION_RESULTS);
    assert.equal(client(t, "c")?.firstIncomplete, 1);
    t.record(s("c", MAX_SESSION_RESULTS + 1, 1), ok(0), 0);
    const keep = MAX_SESSION_RESULTS * EVICT_TO; // 768
    const seqs = seqsOf(t, "c");
    assert.equal(seqs.length, keep);
    const first = MAX_SESSION_RESULTS + 2 - keep;
    assert.equal(Math.min(...seqs), first, "the lowest sequences went");
    assert.equal(client(t, "c")?.firstIncomplete, first);
    assert.deepEqual(t.check(s("c", first - 1, 1)), { kind: "expired" });
    assert.equal(t.check(s("c", first, 1)).kind, "duplicate");
  });

  it("exactly MAX_SESSION_RESULT_BYTES is kept; past it, evicts until at most EVICT_TO of it", () => {
    const quarter = MAX_SESSION_RESULT_BYTES / 4;
    const t = new SessionTable();
    for (const seq of [1, 2, 3, 4]) t.record(s("c", seq, 1), sized(quarter), 0);
    assert.deepEqual(seqsOf(t, "c"), [1, 2, 3, 4], "exactly the bound: nothing forgotten");
    t.record(s("c", 5, 1), sized(quarter), 0);
    // 5/4 of the bound: drop 1 (4/4, still above 3/4), drop 2 (3/4): stop
    assert.deepEqual(seqsOf(t, "c"), [3, 4, 5]);
    assert.deepEqual(t.check(s("c", 2, 1)), { kind: "expired" });
  });

  it("results forgotten by firstIncomplete no longer count against the byte bound", () => {
    const quarter = MAX_SESSION_RESULT_BYTES / 4;
    const t = new SessionTable();
    for (const seq of [1, 2, 3, 4]) t.record(s("c", seq, 1), sized(quarter), 0);
    t.acknowledge(s("c", 5, 5), 0);
    assert.deepEqual(seqsOf(t, "c"), []);
    for (const seq of [5, 6, 7, 8]) t.record(s("c", seq, 5), sized(quarter), 0);
    assert.deepEqual(seqsOf(t, "c"), [5, 6, 7, 8], "a full bound again, nothing evicted");
  });

  it("a single result larger than the bound is kept: the highest is never evicted", () => {
    const t = new SessionTable();
    t.record(s("c", 1, 1), ok(1), 0);
    t.record(s("c", 2, 1), sized(MAX_SESSION_RESULT_BYTES + 1000), 0);
    assert.deepEqual(seqsOf(t, "c"), [2]);
    assert.equal(t.check(s("c", 2, 1)).kind, "duplicate");
    assert.equal(client(t, "c")?.firstIncomplete, 2);
    t.record(s("d", 9, 1), sized(MAX_SESSION_RESULT_BYTES + 1), 0);
    assert.deepEqual(seqsOf(t, "d"), [9]);
    assert.equal(client(t, "d")?.firstIncomplete, 1, "nothing dropped, nothing raised");
  });

  it("the byte count of a loaded image is recomputed, so the bound holds after a restore", () => {
    const quarter = MAX_SESSION_RESULT_BYTES / 4;
    const a = new SessionTable();
    for (const seq of [1, 2, 3, 4]) a.record(s("c", seq, 1), sized(quarter), 0);
    const b = new SessionTable();
    b.loadImage(a.toImage());
    b.record(s("c", 5, 1), sized(quarter), 0);
    assert.deepEqual(seqsOf(b, "c"), [3, 4, 5]);
    const c = new SessionTable();
    c.load(a.writeCount, a.toImage().clients);
    c.record(s("c", 5, 1), sized(quarter), 0);
    assert.deepEqual(seqsOf(c, "c"), [3, 4, 5]);
  });
});

describe("SessionTable expiry sweep", () => {
  /** Writes of a busy client "b" at `nowMs`, advancing its firstIncomplete each time. */
  function busy(t: SessionTable, from: number, count: number, nowMs: number): void {
    for (let seq = from; seq < from + count; seq++) t.record(s("b", seq, seq), ok(seq), nowMs);
  }

  it("every 1024th write forgets clients idle for longer than SESSION_EXPIRY_MS", () => {
    const t = new SessionTable();
    t.record(s("idle", 1, 1), ok(1), 0);
    t.record(s("edge", 1, 1), ok(1), 1);
    const now = SESSION_EXPIRY_MS + 1; // idle: one past the expiry; edge: exactly at it
    busy(t, 1, 1021, now);
    assert.equal(t.writeCount, 1023);
    assert.ok(client(t, "idle"), "no sweep before the 1024th write");
    t.takeChanges();
    busy(t, 1022, 1, now);
    assert.equal(client(t, "idle"), undefined, "swept");
    assert.ok(client(t, "edge"), "idle exactly SESSION_EXPIRY_MS: kept");
    assert.deepEqual(t.check(s("idle", 1, 1)), { kind: "new" });
    const changes = t.takeChanges();
    assert.deepEqual(
      changes.find((c) => c.id === "idle"),
      { id: "idle", image: null },
      "a forgotten client is a change (the disk store deletes it)",
    );
    assert.equal(
      changes.some((c) => c.id === "edge"),
      false,
    );
    busy(t, 1023, 1024, now + 1);
    assert.equal(client(t, "edge"), undefined, "the next sweep, 1024 writes later");
  });
});

describe("SessionTable change feed and images", () => {
  it("takeChanges lists each changed client once, with its image, then nothing", () => {
    const t = new SessionTable();
    t.record(s("a", 1, 1), ok(1), 10);
    t.record(s("a", 2, 1), ok(2), 20);
    t.record(s("b", 1, 1), ok(3), 30);
    const changes = t.takeChanges();
    assert.deepEqual(changes, [
      {
        id: "a",
        image: {
          id: "a",
          firstIncomplete: 1,
          lastActiveMs: 20,
          results: [
            [1, ok(1)],
            [2, ok(2)],
          ],
        },
      },
      { id: "b", image: { id: "b", firstIncomplete: 1, lastActiveMs: 30, results: [[1, ok(3)]] } },
    ]);
    assert.deepEqual(t.takeChanges(), []);
    t.acknowledge(s("b", 1, 2), 40);
    assert.deepEqual(
      t.takeChanges().map((c) => c.id),
      ["b"],
      "a duplicate's acknowledgement is a change too",
    );
  });

  it("requeued changes are taken again, with the current image", () => {
    const t = new SessionTable();
    t.record(s("a", 1, 1), ok(1), 10);
    const taken = t.takeChanges();
    t.requeueChanges(taken);
    t.record(s("a", 2, 1), ok(2), 20);
    const again = t.takeChanges();
    assert.deepEqual(
      again.map((c) => c.id),
      ["a"],
    );
    assert.equal(again[0]?.image?.results.length, 2);
  });

  it("an image loads back as the same table, replacing what was there and its changes", () => {
    const a = new SessionTable();
    a.record(s("x", 3, 2), ok(1), 100);
    a.record(s("y", 1, 1), ok(2), 200);
    const image = a.toImage();
    assert.equal(image.writes, 2);
    const b = new SessionTable();
    b.record(s("old", 1, 1), ok(9), 0);
    b.loadImage(image);
    assert.deepEqual(b.toImage(), image);
    assert.equal(b.writeCount, 2);
    assert.equal(b.size(), 2);
    assert.equal(client(b, "old"), undefined);
    assert.deepEqual(b.takeChanges(), [], "a loaded table has nothing unsaved");
    assert.deepEqual(b.check(s("x", 3, 2)), { kind: "duplicate", result: ok(1) });
    assert.deepEqual(b.check(s("x", 1, 2)), { kind: "expired" });
    const c = new SessionTable();
    c.load(7, image.clients);
    assert.equal(c.writeCount, 7);
    assert.deepEqual(c.toImage().clients, image.clients);
  });
});
