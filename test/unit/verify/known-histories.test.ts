/**
 * Hand-written dfs histories with a known answer: the anomalies a broken Raft store
 * produces (stale reads, lost writes, lost updates, ...) must be violations with an
 * explanation naming the key; the legal interleavings must pass.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type CheckResult, checkLinearizable, kvModel } from "../../../src/verify/index.ts";
import { HistoryBuilder } from "./builder.ts";

function check(b: HistoryBuilder): CheckResult {
  return checkLinearizable(kvModel, b.ops);
}

/**
 * Asserts a violation on `key` (with exactly the `involved` operation ids, when given)
 * and returns its explanation for further checks.
 */
function assertViolation(b: HistoryBuilder, key = "k", involved?: number[]): string {
  const result = check(b);
  assert.equal(result.verdict, "violation", JSON.stringify(result));
  if (result.verdict !== "violation") return "";
  assert.equal(result.key, key);
  assert.match(result.explanation, new RegExp(`"${key}"`), "the explanation names the key");
  assert.ok(result.involved.length > 0);
  if (involved !== undefined) {
    assert.deepEqual(
      result.involved.map((op) => op.id),
      involved,
      result.explanation,
    );
  }
  return result.explanation;
}

describe("known-good histories", () => {
  test("a sequential history", () => {
    const b = new HistoryBuilder()
      .get(1, [0, 1], null)
      .put(1, [2, 3], "v1", 1)
      .get(2, [4, 5], "v1", 1)
      .cas(1, [6, 7], 1, "v2", 2)
      .del(2, [8, 9], true)
      .get(1, [10, 11], null)
      .put(2, [12, 13], "v3", 1);
    assert.deepEqual(check(b), { verdict: "ok" });
  });

  test("a get concurrent with a put may see either value", () => {
    for (const seen of ["v1", "v2"]) {
      const b = new HistoryBuilder()
        .put(1, [0, 10], "v1", 1)
        .put(1, [20, 40], "v2", 2)
        .get(2, [25, 30], seen, seen === "v1" ? 1 : 2);
      assert.deepEqual(check(b), { verdict: "ok" }, `get saw ${seen}`);
    }
  });

  test("an indeterminate put that a later read observes took effect", () => {
    const b = new HistoryBuilder()
      .put(1, [0, 10], "v1", 1)
      .put(2, [20, 30], "v2") // timed out
      .get(3, [100, 110], "v2", 2)
      .put(3, [120, 130], "v3", 3);
    assert.deepEqual(check(b), { verdict: "ok" });
  });

  test("an indeterminate put may take effect long after its client gave up", () => {
    const b = new HistoryBuilder()
      .put(2, [0, 5], "late") // recorded as timed out
      .get(1, [50, 60], null)
      .get(1, [70, 80], "late", 1);
    assert.deepEqual(check(b), { verdict: "ok" });
  });

  test("an indeterminate put that is never observed may never have happened", () => {
    const b = new HistoryBuilder()
      .put(1, [0, 10], "v1", 1)
      .put(2, [20, 30], "lost") // timed out, never seen
      .get(3, [100, 110], "v1", 1)
      .put(3, [120, 130], "v3", 2)
      .get(1, [140, 150], "v3", 2);
    assert.deepEqual(check(b), { verdict: "ok" });
  });

  test("cas chains, a failed cas, and cas on an absent key", () => {
    const b = new HistoryBuilder()
      .cas(1, [0, 10], 0, "a", 1)
      .cas(2, [5, 15], 0, "x", false) // lost the race to client 1
      .cas(1, [20, 30], 1, "b", 2)
      .cas(2, [25, 35], 2, "c", 3)
      .cas(3, [26, 36], 2, "d", false)
      .get(3, [40, 50], "c", 3)
      .cas(1, [60, 70], 3, "e") // indeterminate
      .get(2, [80, 90], "e", 4);
    assert.deepEqual(check(b), { verdict: "ok" });
  });

  test("intervals that merely touch are concurrent", () => {
    // put returns at 10 and the get is called at 10: either order is possible.
    const b = new HistoryBuilder().put(1, [0, 10], "v1", 1).get(2, [10, 20], null);
    assert.deepEqual(check(b), { verdict: "ok" });
  });

  test("keys are independent", () => {
    const b = new HistoryBuilder("a").put(1, [0, 10], "x", 1);
    b.on("b").get(2, [20, 30], null);
    b.on("a").get(2, [20, 30], "x", 1);
    assert.deepEqual(check(b), { verdict: "ok" });
  });

  test("an empty history", () => {
    assert.deepEqual(checkLinearizable(kvModel, []), { verdict: "ok" });
  });
});

describe("known-bad histories", () => {
  test("stale read: a get returns the old value after a newer put completed", () => {
    const b = new HistoryBuilder()
      .put(1, [0, 10], "v1", 1)
      .put(1, [20, 30], "v2", 2)
      .get(2, [40, 50], "v1", 1);
    const text = assertViolation(b, "k", [0, 1, 2]);
    assert.match(text, /#2 client 2 \[40, 50\] get → "v1" \(version 1\) is the first operation/);
    assert.match(text, /impossible when the key holds "v2" \(version 2\)/);
    assert.match(text, /could have produced what #2 observed:\n {2}#0 client 1 \[0, 10\] put "v1"/);
  });

  test("lost write: an acknowledged put is not seen by later gets", () => {
    const b = new HistoryBuilder()
      .put(1, [0, 10], "v1", 1)
      .get(2, [20, 30], "v1", 1)
      .put(1, [40, 50], "v2", 2)
      .get(2, [60, 70], "v1", 1)
      .get(3, [80, 90], "v1", 1);
    assertViolation(b);
  });

  test("lost write: a put on an absent key, later reads see nothing", () => {
    const b = new HistoryBuilder().put(1, [0, 10], "v1", 1).get(2, [20, 30], null);
    const text = assertViolation(b);
    assert.match(text, /get → absent/);
  });

  test("lost update: two cas with the same expected version both succeed", () => {
    const b = new HistoryBuilder()
      .put(1, [0, 10], "base", 1)
      .cas(2, [20, 40], 1, "a", 2)
      .cas(3, [25, 45], 1, "b", 2);
    const text = assertViolation(b, "k", [1, 2]);
    assert.match(
      text,
      /cas\(if version 1\) "b" → ok, version 2.*impossible when the key holds "a" \(version 2\)/,
    );
  });

  test("reads in an impossible order: v2 then v1 although v1 was written first", () => {
    const b = new HistoryBuilder()
      .put(1, [0, 10], "v1", 1)
      .put(1, [20, 100], "v2", 2)
      .get(2, [30, 40], "v2", 2)
      .get(2, [50, 60], "v1", 1);
    const text = assertViolation(b, "k", [0, 1, 2, 3]);
    assert.match(text, /#3 client 2 \[50, 60\] get → "v1" \(version 1\) is the first operation/);
  });

  test("a read of a value that was never written", () => {
    const b = new HistoryBuilder().put(1, [0, 10], "v1", 1).get(2, [5, 15], "ghost", 1);
    const text = assertViolation(b, "k", [1]);
    assert.match(text, /could have produced what #1 observed: none\./);
  });

  test("a wrong version number", () => {
    const b = new HistoryBuilder().put(1, [0, 10], "v1", 1).put(1, [20, 30], "v2", 3);
    assertViolation(b);
    const get = new HistoryBuilder().put(1, [0, 10], "v1", 1).get(2, [20, 30], "v1", 2);
    assertViolation(get);
  });

  test("a delete reports existed=false while the key was definitely present", () => {
    const b = new HistoryBuilder().put(1, [0, 10], "v1", 1).del(2, [20, 30], false);
    const text = assertViolation(b);
    assert.match(text, /delete → did not exist: impossible when the key holds "v1" \(version 1\)/);
  });

  test("a violation on one key is found among healthy keys", () => {
    const b = new HistoryBuilder("fine").put(1, [0, 10], "x", 1);
    b.on("broken").put(1, [0, 10], "y", 1).get(2, [20, 30], null);
    b.on("fine").get(2, [20, 30], "x", 1);
    assertViolation(b, "broken");
  });

  test("an indeterminate write cannot explain a read that came before its call", () => {
    const b = new HistoryBuilder().get(1, [0, 10], "later", 1).put(2, [20, 30], "later");
    assertViolation(b);
  });

  test("touching intervals still order operations once there is a gap", () => {
    const b = new HistoryBuilder().put(1, [0, 10], "v1", 1).get(2, [11, 20], null);
    assertViolation(b);
  });
});
