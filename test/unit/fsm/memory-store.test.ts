/**
 * The state machine's own guarantees: versions, compare-and-set, and exactly-once client
 * sessions (a retried write is applied once and answered with the original result).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeCommand, type FsmCommand, MemoryStore } from "../../../src/fsm/index.ts";
import { SESSION_EXPIRY_MS } from "../../../src/fsm/sessions.ts";

function applier() {
  const store = new MemoryStore();
  let index = 0;
  return { store, apply: (c: FsmCommand) => store.apply(++index, encodeCommand(c)) };
}

const put = (key: string, value: string, extra: Partial<FsmCommand> = {}): FsmCommand =>
  ({ op: "put", key, value: Buffer.from(value), ...extra }) as FsmCommand;

describe("MemoryStore", () => {
  it("versions start at 1, grow by one per put, restart after a delete", () => {
    const { store, apply } = applier();
    assert.deepEqual(apply(put("k", "a")), { kind: "put", version: 1, index: 1 });
    assert.deepEqual(apply(put("k", "b")), { kind: "put", version: 2, index: 2 });
    assert.deepEqual(apply({ op: "delete", key: "k" }), {
      kind: "delete",
      existed: true,
      index: 3,
    });
    assert.deepEqual(apply({ op: "delete", key: "k" }), {
      kind: "delete",
      existed: false,
      index: 4,
    });
    assert.deepEqual(apply(put("k", "c")), { kind: "put", version: 1, index: 5 });
    assert.equal(Buffer.from(store.get("k")?.value ?? []).toString(), "c");
  });

  it("compare-and-set applies only at the expected version (0 = absent)", () => {
    const { store, apply } = applier();
    assert.deepEqual(apply(put("k", "a", { ifVersion: 1 })), {
      kind: "precondition_failed",
      currentVersion: 0,
    });
    assert.equal(store.get("k"), undefined);
    assert.equal(apply(put("k", "a", { ifVersion: 0 })).kind, "put");
    assert.deepEqual(apply(put("k", "b", { ifVersion: 0 })), {
      kind: "precondition_failed",
      currentVersion: 1,
    });
    assert.deepEqual(apply(put("k", "b", { ifVersion: 1 })), { kind: "put", version: 2, index: 4 });
    assert.equal(Buffer.from(store.get("k")?.value ?? []).toString(), "b");
  });

  it("a retried session write is applied once and answered with the original result", () => {
    const { store, apply } = applier();
    const session = { clientId: "c1", sequence: 1, firstIncomplete: 1 };
    const first = apply(put("k", "a", { session }));
    const retry = apply(put("k", "a", { session }));
    assert.deepEqual(retry, first, "same answer, including the original index");
    assert.equal(store.get("k")?.version, 1, "applied once");
    // Without a session the same command applies twice.
    apply(put("k", "a"));
    assert.equal(store.get("k")?.version, 2);
  });

  it("a retried compare-and-set that succeeded does not turn into a failure", () => {
    const { apply } = applier();
    const session = { clientId: "c1", sequence: 1, firstIncomplete: 1 };
    assert.equal(apply(put("k", "a", { ifVersion: 0, session })).kind, "put");
    assert.equal(
      apply(put("k", "a", { ifVersion: 0, session })).kind,
      "put",
      "not precondition_failed",
    );
  });

  it("concurrent writes of one client may apply out of order; results below firstIncomplete are forgotten", () => {
    const { store, apply } = applier();
    const s = (sequence: number, firstIncomplete: number) => ({
      clientId: "c",
      sequence,
      firstIncomplete,
    });
    apply(put("a", "2", { session: s(2, 1) }));
    apply(put("b", "1", { session: s(1, 1) }));
    assert.equal(store.get("a")?.version, 1);
    assert.equal(store.get("b")?.version, 1);
    apply(put("a", "2", { session: s(2, 1) }));
    assert.equal(store.get("a")?.version, 1, "retry of 2 is still recognised");
    apply(put("c", "3", { session: s(3, 3) }));
    assert.deepEqual(
      apply(put("a", "2", { session: s(2, 3) })),
      { kind: "session_expired" },
      "forgotten, never re-applied",
    );
    assert.equal(store.get("a")?.version, 1);
  });

  it("sessions idle past the expiry (by the leaders' clocks in the log) are forgotten deterministically", () => {
    const { store, apply } = applier();
    apply(
      put("k", "a", {
        session: { clientId: "old", sequence: 1, firstIncomplete: 1 },
        timeMs: 1000,
      }),
    );
    for (let i = 0; i < 1100; i++) {
      apply(
        put(`f/${i}`, "x", {
          session: { clientId: `c${i}`, sequence: 1, firstIncomplete: 1 },
          timeMs: 1000 + SESSION_EXPIRY_MS + 1,
        }),
      );
    }
    const digestA = store.digest();
    // The old client's retry is now treated as new (its session expired long ago).
    apply(
      put("k", "a", {
        session: { clientId: "old", sequence: 1, firstIncomplete: 1 },
        timeMs: 2000 + SESSION_EXPIRY_MS,
      }),
    );
    assert.equal(store.get("k")?.version, 2);
    const replay = applier();
    replay.apply(
      put("k", "a", {
        session: { clientId: "old", sequence: 1, firstIncomplete: 1 },
        timeMs: 1000,
      }),
    );
    for (let i = 0; i < 1100; i++) {
      replay.apply(
        put(`f/${i}`, "x", {
          session: { clientId: `c${i}`, sequence: 1, firstIncomplete: 1 },
          timeMs: 1000 + SESSION_EXPIRY_MS + 1,
        }),
      );
    }
    assert.equal(replay.store.digest(), digestA, "same log, same state (sessions included)");
  });
});
