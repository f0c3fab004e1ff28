/**
 * The dfs key model on its own: exact outcomes (versions included), what indeterminate
 * steps do, and the canonicalization that lets the search treat unread values alike.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type KvInput, type KvOutput, type KvState, kvModel } from "../../../src/verify/index.ts";

const absent: KvState = { value: null, version: 0 };
const v1: KvState = { value: "a", version: 1 };

function step(state: KvState, input: KvInput, output?: KvOutput) {
  return kvModel.step(state, input, output);
}

describe("kv model", () => {
  test("put creates the next version, or version 1 on an absent key", () => {
    assert.deepEqual(step(absent, { op: "put", value: "a" }, { ok: true, version: 1 }), {
      ok: true,
      next: v1,
    });
    assert.equal(step(v1, { op: "put", value: "b" }, { ok: true, version: 2 }).ok, true);
    assert.equal(step(v1, { op: "put", value: "b" }, { ok: true, version: 1 }).ok, false);
    assert.equal(step(v1, { op: "put", value: "b" }, { ok: true, version: 3 }).ok, false);
  });

  test("get must match value and version exactly, or report absence", () => {
    assert.equal(step(v1, { op: "get" }, { found: true, value: "a", version: 1 }).ok, true);
    assert.equal(step(v1, { op: "get" }, { found: true, value: "a", version: 2 }).ok, false);
    assert.equal(step(v1, { op: "get" }, { found: true, value: "b", version: 1 }).ok, false);
    assert.equal(step(v1, { op: "get" }, { found: false }).ok, false);
    assert.equal(step(absent, { op: "get" }, { found: false }).ok, true);
    assert.equal(step(v1, { op: "get" }).next, v1, "a get changes nothing");
  });

  test("delete resets to absent (version 0) and reports whether the key existed", () => {
    assert.deepEqual(step(v1, { op: "delete" }, { existed: true }), { ok: true, next: absent });
    assert.equal(step(v1, { op: "delete" }, { existed: false }).ok, false);
    assert.equal(step(absent, { op: "delete" }, { existed: false }).ok, true);
    assert.equal(step(absent, { op: "delete" }, { existed: true }).ok, false);
  });

  test("cas applies only when the expected version matches (0 = absent)", () => {
    const create = { op: "cas", expectedVersion: 0, value: "a" } as const;
    assert.deepEqual(step(absent, create, { ok: true, version: 1 }), { ok: true, next: v1 });
    assert.equal(step(absent, create, { ok: false }).ok, false, "precondition held");
    assert.deepEqual(step(v1, create, { ok: false }), { ok: true, next: v1 });
    assert.equal(step(v1, create, { ok: true, version: 2 }).ok, false, "precondition failed");
    const bump = { op: "cas", expectedVersion: 1, value: "b" } as const;
    assert.equal(step(v1, bump, { ok: true, version: 2 }).ok, true);
  });

  test("outcomes of the wrong shape are rejected", () => {
    assert.equal(step(v1, { op: "put", value: "b" }, { existed: true }).ok, false);
    assert.equal(step(v1, { op: "get" }, { ok: true, version: 1 }).ok, false);
    assert.equal(step(v1, { op: "delete" }, { found: false }).ok, false);
  });

  test("indeterminate steps accept and apply the effect the op would have", () => {
    assert.deepEqual(step(v1, { op: "put", value: "b" }), {
      ok: true,
      next: { value: "b", version: 2 },
    });
    assert.deepEqual(step(v1, { op: "delete" }), { ok: true, next: absent });
    assert.deepEqual(step(v1, { op: "cas", expectedVersion: 0, value: "x" }), {
      ok: true,
      next: v1,
    });
    assert.deepEqual(step(v1, { op: "cas", expectedVersion: 1, value: "x" }), {
      ok: true,
      next: { value: "x", version: 2 },
    });
    assert.equal(kvModel.readOnly?.({ op: "get" }), true);
    assert.equal(kvModel.readOnly?.({ op: "delete" }), false);
  });

  test("the hash is canonical and agrees with equal", () => {
    const states: KvState[] = [
      absent,
      v1,
      { value: "a", version: 2 },
      { value: "1:a", version: 1 },
    ];
    for (const a of states) {
      for (const b of states) {
        assert.equal(kvModel.hash?.(a) === kvModel.hash?.(b), kvModel.equal?.(a, b));
      }
    }
  });

  test("values no read returned are replaced by one placeholder that no read returned", () => {
    const inputs = kvModel.canonicalInputs?.([
      { input: { op: "put", value: "seen" }, output: { ok: true, version: 1 } },
      { input: { op: "put", value: "unseen" }, output: undefined },
      { input: { op: "cas", expectedVersion: 1, value: "also-unseen" }, output: { ok: false } },
      { input: { op: "get" }, output: { found: true, value: "seen", version: 1 } },
      {
        input: { op: "get" },
        output: { found: true, value: "(a value no read returned)", version: 9 },
      },
    ]);
    assert.ok(inputs !== undefined);
    const [seen, unseen, cas] = inputs;
    assert.deepEqual(seen, { op: "put", value: "seen" });
    assert.ok(unseen?.op === "put" && cas?.op === "cas");
    assert.equal(unseen.value, cas.value, "unread values collapse to one");
    assert.notEqual(unseen.value, "(a value no read returned)", "a value some read returned");
  });

  test("descriptions read like the CLI", () => {
    const d = kvModel.describe;
    assert.ok(d !== undefined);
    assert.equal(d({ op: "put", value: "v" }, { ok: true, version: 3 }), 'put "v" → ok, version 3');
    assert.equal(d({ op: "get" }, { found: false }), "get → absent");
    assert.equal(d({ op: "delete" }, undefined), "delete → ? (indeterminate)");
    assert.equal(
      d({ op: "cas", expectedVersion: 2, value: "w" }, { ok: false }),
      'cas(if version 2) "w" → failed (version mismatch)',
    );
    assert.equal(kvModel.describeState?.(v1), '"a" (version 1)');
  });
});
