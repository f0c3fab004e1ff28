/**
 * The checker's contract at its edges: malformed histories are thrown, not judged; time
 * ties are concurrency; a timed-out op recorded with a finite time is still open-ended;
 * input order does not matter; verdicts combine as violation > unknown > ok; any model
 * works, with or without hash/equal; long counter-examples stay readable.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkLinearizable,
  InvalidHistoryError,
  type KvOperation,
  kvModel,
  type Model,
} from "../../../src/verify/index.ts";
import { HistoryBuilder, pathologicalKey } from "./builder.ts";

describe("malformed histories", () => {
  const good: KvOperation = {
    id: 1,
    client: 1,
    key: "k",
    call: 0,
    ret: 5,
    input: { op: "get" },
    output: { found: false },
  };
  const cases: [string, KvOperation[]][] = [
    ["duplicate ids", [good, { ...good }]],
    ["ret before call", [{ ...good, ret: -1 }]],
    ["non-finite call", [{ ...good, call: Number.NaN }]],
    ["an outcome without a return time", [{ ...good, ret: Number.POSITIVE_INFINITY }]],
  ];
  for (const [name, history] of cases) {
    test(`${name} is an InvalidHistoryError`, () => {
      assert.throws(() => checkLinearizable(kvModel, history), InvalidHistoryError);
    });
  }
});

describe("time and indeterminacy", () => {
  test("equal timestamps are concurrent in both directions", () => {
    // The get returns at 10 and the put is called at 10: the put may come first.
    const b = new HistoryBuilder().get(1, [0, 10], "v1", 1).put(2, [10, 20], "v1", 1);
    assert.deepEqual(checkLinearizable(kvModel, b.ops), { verdict: "ok" });
  });

  test("an op with a zero-length interval is ordered strictly by others' times", () => {
    const b = new HistoryBuilder().put(1, [5, 5], "v1", 1).get(2, [6, 6], null);
    assert.equal(checkLinearizable(kvModel, b.ops).verdict, "violation");
  });

  test("a timed-out op recorded with the time the client gave up may take effect later", () => {
    const b = new HistoryBuilder().get(1, [20, 30], null).get(1, [40, 50], "late", 1);
    b.ops.push({
      id: 99,
      client: 2,
      key: "k",
      call: 0,
      ret: 10, // the client gave up at 10; the write landed after 30
      input: { op: "put", value: "late" },
      output: undefined,
    });
    assert.deepEqual(checkLinearizable(kvModel, b.ops), { verdict: "ok" });
  });

  test("many identical timed-out writes, none of which happened", () => {
    const b = new HistoryBuilder().put(1, [0, 1], "base", 1);
    for (let i = 0; i < 30; i++) b.put(10 + i, [2 + i, 3 + i], "lost");
    for (let i = 0; i < 30; i++) b.del(40 + i, [2 + i, 3 + i]);
    b.get(1, [100, 101], "base", 1);
    assert.deepEqual(checkLinearizable(kvModel, b.ops, { maxStates: 10_000 }), { verdict: "ok" });
  });

  test("the order operations are passed in does not matter", () => {
    const b = new HistoryBuilder()
      .put(1, [0, 10], "v1", 1)
      .put(2, [5, 30], "v2", 2)
      .get(3, [12, 20], "v1", 1)
      .get(3, [31, 40], "v2", 2);
    const reversed = [...b.ops].reverse();
    assert.deepEqual(checkLinearizable(kvModel, reversed), { verdict: "ok" });
    b.get(1, [41, 50], "v1", 1);
    assert.equal(checkLinearizable(kvModel, [...b.ops].reverse()).verdict, "violation");
  });
});

describe("verdicts across keys", () => {
  test("unknown beats ok, and says which key and why", () => {
    const b = new HistoryBuilder("fine").put(1, [0, 10], "x", 1);
    pathologicalKey(b.on("heavy"), 8);
    const result = checkLinearizable(kvModel, b.ops, { maxStates: 100 });
    assert.equal(result.verdict, "unknown");
    if (result.verdict !== "unknown") return;
    assert.equal(result.key, "heavy");
    assert.match(result.reason, /budget exhausted/);
  });

  test("violation beats unknown", () => {
    const b = new HistoryBuilder("broken").put(1, [0, 10], "x", 1).get(2, [20, 30], null);
    pathologicalKey(b.on("heavy"), 8);
    const result = checkLinearizable(kvModel, b.ops, { maxStates: 100 });
    assert.equal(result.verdict, "violation");
    assert.equal(result.verdict === "violation" && result.key, "broken");
  });
});

describe("models", () => {
  /** A counter with increments that return the new value: no hash, no equal, no describe. */
  const counter: Model<{ n: number }, "inc" | "read", number> = {
    init: () => ({ n: 0 }),
    step: (s, input, output) => {
      const next = input === "inc" ? { n: s.n + 1 } : s;
      return { ok: output === undefined || output === next.n, next };
    },
  };
  const op = (id: number, call: number, ret: number, input: "inc" | "read", output?: number) => ({
    id,
    client: id,
    key: "c",
    call,
    ret: output === undefined ? Number.POSITIVE_INFINITY : ret,
    input,
    output,
  });

  test("a bare model is checked with deep equality and default descriptions", () => {
    const history = [op(0, 0, 10, "inc", 1), op(1, 5, 15, "inc", 2), op(2, 20, 30, "read", 2)];
    assert.deepEqual(checkLinearizable(counter, history), { verdict: "ok" });
    const bad = [...history, op(3, 40, 50, "read", 1)];
    const result = checkLinearizable(counter, bad);
    assert.equal(result.verdict, "violation");
    if (result.verdict !== "violation") return;
    assert.match(result.explanation, /#3 client 3 \[40, 50\] "read" → 1 is the first operation/);
    assert.match(result.explanation, /impossible when the key holds \{"n":2\}/);
  });

  test("a timed-out increment may or may not have happened", () => {
    const history = [op(0, 0, 10, "inc", 1), op(1, 5, 0, "inc"), op(2, 20, 30, "read", 1)];
    assert.deepEqual(checkLinearizable(counter, history), { verdict: "ok" });
    const happened = [op(0, 0, 10, "inc", 1), op(1, 5, 0, "inc"), op(2, 20, 30, "read", 2)];
    assert.deepEqual(checkLinearizable(counter, happened), { verdict: "ok" });
  });
});

describe("counter-examples", () => {
  test("a long history is cut down to the operations around the problem", () => {
    const b = new HistoryBuilder("long");
    for (let i = 1; i <= 300; i++) b.put(1, [i * 10, i * 10 + 5], `v${i}`, i);
    b.get(2, [3100, 3110], "v299", 299);
    const result = checkLinearizable(kvModel, b.ops);
    assert.equal(result.verdict, "violation");
    if (result.verdict !== "violation") return;
    const lines = result.explanation.split("\n");
    assert.ok(lines.length < 30, `short enough to read:\n${result.explanation}`);
    assert.match(result.explanation, /Key "long" is not linearizable \(301 operations\)/);
    assert.match(result.explanation, /… 292 earlier;/);
    assert.match(result.explanation, /impossible when the key holds "v300" \(version 300\)/);
    assert.match(result.explanation, /operations further from the problem not shown/);
    assert.deepEqual(
      result.involved.map((o) => o.id),
      [298, 299, 300],
      "the write of v299, the write that replaced it, the stale read",
    );
  });
});
