/**
 * BatchStreamLink against a real gRPC server on 127.0.0.1 whose BatchStream answers as the
 * test scripts it: answers are matched by id whatever their order, a refused batch
 * surfaces as its typed error, and a batch whose deadline passes on a stream that answered
 * nothing since drops that stream, so the next batch travels on a fresh one.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentials, Server, ServerCredentials, status } from "@grpc/grpc-js";
import { DfsError } from "../../../src/api/errors.ts";
import { BatchStreamLink } from "../../../src/client/batch-stream-link.ts";
import { waitFor } from "../../../src/cluster/index.ts";
import {
  type BatchRequest,
  type BatchStreamRequest,
  type BatchStreamResponse,
  DfsClient,
  type DfsServer,
  DfsService,
} from "../../../src/gen/dfs.ts";

/** The key of the first get in a batch: the script's instruction. */
function keyOf(batch: BatchRequest | undefined): string {
  return batch?.ops[0]?.get?.key ?? "";
}

function getBatch(key: string): BatchRequest {
  return { ops: [{ get: { key, serializable: true } }] } as BatchRequest;
}

function answer(id: number, key: string): BatchStreamResponse {
  const value = Buffer.from(`value of ${key}`);
  const get = { value, version: 1, modIndex: 1, metadata: {} };
  return { id, batch: { results: [{ get }] }, error: undefined } as BatchStreamResponse;
}

describe("BatchStreamLink", () => {
  let server: Server;
  let address = "";
  /** Keys each cancelled stream carried. */
  const cancelledKeys: string[] = [];
  /** Sends the answer to "slow" (set while it is held). */
  let heldSlow: (() => void) | undefined;

  before(async () => {
    server = new Server();
    const batchStream: DfsServer["batchStream"] = (call) => {
      const keys: string[] = [];
      call.on("cancelled", () => cancelledKeys.push(...keys));
      call.on("error", () => {});
      call.on("end", () => call.end());
      call.on("data", (request: BatchStreamRequest) => {
        const key = keyOf(request.batch);
        keys.push(key);
        if (key === "silent") return; // never answered
        if (key === "refused") {
          const error = { code: "not_leader", message: "not the leader", leader: "n2:1" };
          call.write({ id: request.id, batch: undefined, error });
        } else if (key === "slow") {
          // Held until "fast" has been answered: the answers come back out of order.
          heldSlow = () => call.write(answer(request.id, key));
        } else {
          call.write(answer(request.id, key));
          if (key === "fast") heldSlow?.();
        }
      });
    };
    server.addService(DfsService, { batchStream } as unknown as DfsServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    address = `127.0.0.1:${port}`;
  });

  after(() => {
    server.forceShutdown();
  });

  const soon = (ms: number) => new Date(Date.now() + ms);

  /** Runs `body` with a fresh link (and channel) to the scripted server, closed after. */
  async function withLink(body: (link: BatchStreamLink) => Promise<void>): Promise<void> {
    const stub = new DfsClient(address, credentials.createInsecure());
    const link = new BatchStreamLink(stub);
    try {
      await body(link);
    } finally {
      link.close();
      stub.close();
    }
  }

  it("matches answers to batches by id, whatever order they come back in", () =>
    withLink(async (link) => {
      const order: string[] = [];
      const slow = link.send(getBatch("slow"), soon(5000)).then((r) => {
        order.push("slow");
        return r;
      });
      const fast = link.send(getBatch("fast"), soon(5000)).then((r) => {
        order.push("fast");
        return r;
      });
      const [s, f] = await Promise.all([slow, fast]);
      assert.deepEqual(order, ["fast", "slow"], "the fast answer overtook the slow one");
      assert.equal(Buffer.from(s.results[0]?.get?.value ?? []).toString(), "value of slow");
      assert.equal(Buffer.from(f.results[0]?.get?.value ?? []).toString(), "value of fast");
      assert.equal(link.streamsOpened, 1, "both on one stream");
    }));

  it("rejects a refused batch with its typed error and leader hint", () =>
    withLink(async (link) => {
      await assert.rejects(
        link.send(getBatch("refused"), soon(5000)),
        (e: unknown) => e instanceof DfsError && e.code === "not_leader" && e.leaderHint === "n2:1",
      );
    }));

  it("drops a stream that answered nothing by a batch's deadline; the next one opens fresh", () =>
    withLink(async (link) => {
      await assert.rejects(
        link.send(getBatch("silent"), soon(300)),
        (e: unknown) => (e as { code?: number }).code === status.DEADLINE_EXCEEDED,
      );
      const next = await link.send(getBatch("after"), soon(5000));
      assert.equal(Buffer.from(next.results[0]?.get?.value ?? []).toString(), "value of after");
      assert.equal(link.streamsOpened, 2, "the silent stream was replaced");
      await waitFor("the server to see the silent stream cancelled", () =>
        cancelledKeys.includes("silent") ? true : undefined,
      );
      assert.ok(!cancelledKeys.includes("after"), "and not the fresh one");
    }));
});
