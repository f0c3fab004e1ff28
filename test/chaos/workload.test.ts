/**
 * The checked workload (src/verify/workload.ts) against in-memory fakes, so its
 * recording and classification are tested without a cluster: a linearizable store
 * passes, a store that serves stale reads is caught, typed errors become the model's
 * outcomes, timeouts become indeterminate, and CAS can be switched off.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DfsError } from "../../src/api/errors.ts";
import type { KvOperation } from "../../src/verify/index.ts";
import { Workload, type WorkloadOptions } from "../../src/verify/workload.ts";
import { checkWorkload } from "../../src/verify/workload-check.ts";
import type { WorkloadClient } from "../../src/verify/workload-ops.ts";
import type { NodeReader, PinnedOutcome } from "../../src/verify/workload-pinned.ts";
import { Rng } from "../support/rng.ts";

interface Stored {
  readonly value: Uint8Array;
  readonly version: number;
}

/** One in-memory key-value store with the server's semantics, answering asynchronously. */
class FakeStore {
  readonly data = new Map<string, Stored>();
  /** A replica that lags: it catches up only every `lagEvery` writes (0 = never lags). */
  readonly replica = new Map<string, Stored>();
  private writes = 0;

  constructor(private readonly lagEvery = 0) {}

  write(key: string, value: Uint8Array | null): number {
    const version = value === null ? 0 : (this.data.get(key)?.version ?? 0) + 1;
    if (value === null) this.data.delete(key);
    else this.data.set(key, { value, version });
    if (this.lagEvery === 0 || ++this.writes % this.lagEvery === 0) this.catchUp();
    return version;
  }

  private catchUp(): void {
    this.replica.clear();
    for (const [k, v] of this.data) this.replica.set(k, v);
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A client of the fake store; `stale` reads come from the lagging replica. */
function fakeClient(store: FakeStore, stale = false): WorkloadClient {
  return {
    async put(key, value, options = {}) {
      await tick();
      const current = store.data.get(key)?.version ?? 0;
      if (options.ifVersion !== undefined && options.ifVersion !== current) {
        throw new DfsError("precondition_failed", "version mismatch");
      }
      return { version: store.write(key, value) };
    },
    async get(key) {
      await tick();
      const stored = (stale ? store.replica : store.data).get(key);
      if (stored === undefined) throw new DfsError("not_found", "absent");
      return stored;
    },
    async delete(key) {
      await tick();
      if (!store.data.has(key)) throw new DfsError("not_found", "absent");
      store.write(key, null);
      return {};
    },
    close() {},
  };
}

function fakeReader(store: FakeStore): NodeReader {
  return {
    async get(key): Promise<PinnedOutcome> {
      await tick();
      const stored = store.data.get(key);
      if (stored === undefined) return { kind: "definite", output: { found: false } };
      const value = Buffer.from(stored.value).toString();
      return { kind: "definite", output: { found: true, value, version: stored.version } };
    },
    close() {},
  };
}

async function run(options: Partial<WorkloadOptions>, ms = 300): Promise<Workload> {
  const rng = new Rng(7);
  const workload = new Workload({
    endpoints: ["a:1", "b:2"],
    epochMs: 100,
    keysPerEpoch: 3,
    random: rng.source(),
    ...options,
  });
  workload.start();
  await new Promise((resolve) => setTimeout(resolve, ms)); // the run's length
  await workload.stop();
  return workload;
}

function ops(history: readonly KvOperation[], op: string): KvOperation[] {
  return history.filter((o) => o.input.op === op);
}

describe("checked workload", () => {
  test("a linearizable store passes, with every op kind and outcome recorded", async () => {
    const store = new FakeStore();
    const workload = await run({
      clientFactory: () => fakeClient(store),
      readerFactory: () => fakeReader(store),
    });
    const readBack = await workload.readBack(5000);
    assert.equal(readBack.unread.length, 0);
    assert.ok(readBack.keys > 3, "keys rotate between epochs");
    const history = workload.recorder.history();
    for (const kind of ["put", "get", "delete", "cas"]) {
      assert.ok(ops(history, kind).length > 10, `too few ${kind} ops`);
    }
    const outputs = history.map((o) => JSON.stringify(o.output));
    assert.ok(
      outputs.some((o) => o.includes('"found":false')),
      "no absent get",
    );
    assert.ok(
      outputs.some((o) => o.includes('"ok":false')),
      "no failed cas",
    );
    assert.ok(
      outputs.some((o) => o.includes('"existed":false')),
      "no delete of an absent key",
    );
    assert.ok(history.every((o) => o.key.startsWith(`dfs-verify/${workload.runId}/`)));
    assert.equal(
      new Set(ops(history, "put").map((o) => JSON.stringify(o.input))).size,
      ops(history, "put").length,
    );
    assert.deepEqual(workload.unexpected, []);
    assert.equal(checkWorkload(history).verdict, "linearizable");
    assert.ok(workload.recorder.opsPerSecond(0, 300) > 0);
  });

  test("a store that serves stale reads is caught", async () => {
    const store = new FakeStore(5);
    const workload = await run({
      workers: 4,
      pinnedReaders: false,
      clientFactory: (() => {
        let n = 0;
        return () => fakeClient(store, n++ % 2 === 1); // every other worker reads a lagging replica
      })(),
    });
    const verdict = checkWorkload(workload.recorder.history());
    assert.equal(verdict.verdict, "violation");
    assert.match(verdict.verdict === "violation" ? verdict.explanation : "", /not linearizable/);
  });

  test("timeouts are indeterminate; unknown errors are reported; --no-cas sends no cas", async () => {
    const store = new FakeStore();
    let calls = 0;
    const flaky = (): WorkloadClient => {
      const inner = fakeClient(store);
      return {
        ...inner,
        async put(key, value, options) {
          calls++;
          if (calls % 5 === 0) throw new DfsError("unavailable", "deadline passed");
          if (calls % 7 === 0) throw new DfsError("internal", "boom");
          return inner.put(key, value, options);
        },
      };
    };
    const workload = await run({ cas: false, pinnedReaders: false, clientFactory: flaky });
    const history = workload.recorder.history();
    assert.equal(ops(history, "cas").length, 0);
    const unknown = ops(history, "put").filter((o) => o.output === undefined);
    assert.ok(unknown.length > 0, "no indeterminate put");
    assert.ok(unknown.every((o) => o.ret === Number.POSITIVE_INFINITY));
    assert.ok(workload.unexpected.some((e) => /internal: boom/.test(e.message)));
    assert.equal(checkWorkload(history).verdict, "linearizable");
  });

  test("the final write retries until it succeeds, and gives up at its deadline", async () => {
    const store = new FakeStore();
    let failures = 2;
    const recovering = (): WorkloadClient => {
      const inner = fakeClient(store);
      return {
        ...inner,
        async put(key, value, options) {
          if (failures-- > 0) throw new DfsError("unavailable", "no leader");
          return inner.put(key, value, options);
        },
      };
    };
    const ok = new Workload({ endpoints: ["a:1"], clientFactory: recovering });
    assert.notEqual(await ok.finalWrite(5000), undefined);
    assert.equal(ok.recorder.counts().indeterminate, 2);
    const down = (): WorkloadClient => ({
      ...fakeClient(store),
      put: async () => {
        await tick();
        throw new DfsError("unavailable", "no leader");
      },
    });
    const failed = new Workload({ endpoints: ["a:1"], clientFactory: down });
    assert.equal(await failed.finalWrite(50), undefined);
  });
});
