/**
 * Every resource a client can make a node hold is bounded, against real server
 * processes. Each attack asserts the refusal (or the bound on the node's
 * anonymous memory, which the code before the bounds exceeded several times over),
 * that a well-behaved client keeps being served meanwhile, and at the end that every
 * write acknowledged during the test is still there.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type ServiceError, status } from "@grpc/grpc-js";
import { ERROR_CODE_METADATA } from "../../src/api/errors.ts";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { EVICT_TO, MAX_SESSION_RESULTS } from "../../src/fsm/sessions.ts";
import {
  CLIENT_MAX_CONCURRENT_STREAMS,
  DEFAULT_RESOURCE_LIMITS,
} from "../../src/server/resource-limits.ts";
import {
  manyStreams,
  pacedUpload,
  peakSampler,
  rawStub,
  rssAnonMiB,
  stalledUploads,
  stuckSession,
  unreadBatchStream,
} from "../support/resource-attacks.ts";

const MiB = 1024 * 1024;
/** Smaller than the defaults so the test runs in seconds; the rules are the same. */
const UPLOAD_IDLE_MS = 4000;
const MAX_UPLOADS = 8;
const MAX_UPLOADS_PER_CONNECTION = 4;

/** The dfs error code a refused call carried in its trailer. */
function dfsCode(error: unknown): string | undefined {
  const value = (error as ServiceError).metadata?.get(ERROR_CODE_METADATA)[0];
  return value === undefined ? undefined : String(value);
}

function isExhausted(outcome: unknown, detail: RegExp): boolean {
  const error = outcome as ServiceError | null;
  return (
    error !== null &&
    typeof error === "object" &&
    error.code === status.RESOURCE_EXHAUSTED &&
    dfsCode(error) === "resource_exhausted" &&
    detail.test(error.details)
  );
}

describe("resource limits", { timeout: 600_000 }, () => {
  let cluster: LocalCluster;
  let client: DfsClient;
  const acked = new Map<string, string>();

  /** A well-behaved client's put and read-back; `rounds` of them. */
  async function serving(tag: string, rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const key = `ok/${tag}/${i}`;
      const value = `${tag}-${i}`;
      await client.put(key, Buffer.from(value));
      acked.set(key, value);
      assert.equal(Buffer.from((await client.get(key)).value).toString(), value);
    }
  }

  async function leader(): Promise<{ address: string; pid: number | undefined }> {
    const node = cluster.node(await cluster.waitForLeader());
    return { address: node.address, pid: node.proc?.pid };
  }

  before(async () => {
    cluster = await LocalCluster.start({
      serverArgs: [
        "--upload-idle-ms",
        String(UPLOAD_IDLE_MS),
        "--max-uploads",
        String(MAX_UPLOADS),
        "--max-uploads-per-connection",
        String(MAX_UPLOADS_PER_CONNECTION),
      ],
    });
    client = cluster.client();
    await serving("warm");
  });
  after(async () => {
    client?.close();
    await cluster?.destroy();
  });

  // Peak RSS includes garbage the node has not collected yet (it starts with a 256 MiB
  // old space, see src/api/node-flags.ts), hence a loose bound: with the bound in
  // place the growth measured 57-93 MiB, the code before it grew 434 MiB.
  it("a BatchStream whose answers are never read is paused, not buffered", async () => {
    await client.put("big", randomBytes(MiB));
    const { address, pid } = await leader();
    await serving("pre-stream");
    const base = await rssAnonMiB(pid);
    const sampler = peakSampler(pid);
    const attack = unreadBatchStream(address, "big", 400);
    try {
      await serving("during-stream", 40); // also the window in which the node could pile up answers
    } finally {
      const peak = sampler.stop();
      attack.stop();
      console.log(
        `# unread BatchStream: leader RssAnon ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`,
      );
      assert.ok(
        peak - base < 200,
        `leader grew ${(peak - base).toFixed(0)} MiB (bound 200; 400 answers of 1 MiB)`,
      );
    }
  });

  it("uploads are capped per connection and per node, and stalled ones are closed when idle", async () => {
    const { address, pid } = await leader();
    const base = await rssAnonMiB(pid);
    const sampler = peakSampler(pid);
    const one = stalledUploads(address, MAX_UPLOADS_PER_CONNECTION + 1, 9, MiB, "stall-a");
    let many: ReturnType<typeof stalledUploads> | undefined;
    try {
      const refusedHere = await waitFor(
        "the connection's extra upload to be refused",
        () => one.outcomes[MAX_UPLOADS_PER_CONNECTION] ?? undefined,
      );
      assert.ok(
        isExhausted(refusedHere, /too many uploads at once on this connection/),
        String(refusedHere),
      );
      // Only now: started together, the other connections' uploads could take the node's
      // slots first and the connection's extra upload would be refused for the node.
      many = stalledUploads(address, 150, MAX_UPLOADS_PER_CONNECTION, MiB, "stall-b");
      const held = many;
      const accepted = MAX_UPLOADS - MAX_UPLOADS_PER_CONNECTION;
      await waitFor("the node's extra uploads to be refused", () =>
        held.outcomes.filter((o) => o !== null).length >= 150 - accepted ? true : undefined,
      );
      const refused = held.outcomes.filter((o) => o !== null);
      assert.equal(refused.length, 150 - accepted, "exactly the node's cap is held");
      assert.ok(
        refused.every((o) =>
          isExhausted(o, /too many uploads at once on (this node|this connection)/),
        ),
        String(refused.find((o) => !isExhausted(o, /too many uploads/))),
      );
      await serving("during-uploads");
      // Nothing more arrives on the held uploads: the idle timeout closes every one.
      const all = () => [...one.outcomes, ...held.outcomes];
      await waitFor(
        "the stalled uploads to be closed",
        () => (all().every((o) => o !== null) ? true : undefined),
        UPLOAD_IDLE_MS + 20_000,
      );
      const idle = all().filter((o) => isExhausted(o, /sent less than 64 KiB in 4 s/));
      assert.equal(idle.length, MAX_UPLOADS, "every held upload was closed for idling");
    } finally {
      const peak = sampler.stop();
      one.stop();
      many?.stop();
      console.log(
        `# stalled uploads: leader RssAnon ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`,
      );
      assert.ok(
        peak - base < 80,
        `leader grew ${(peak - base).toFixed(0)} MiB (bound 80; 150 uploads of 1 MiB)`,
      );
    }
    // The slots are free again: a real upload goes through and reads back whole.
    const file = randomBytes(3 * MiB);
    await client.upload("ok/file-after-stall", file);
    const { info, chunks } = await client.download("ok/file-after-stall");
    const parts: Buffer[] = [];
    for await (const chunk of chunks) parts.push(chunk);
    assert.equal(info.size, file.length);
    assert.ok(Buffer.concat(parts).equals(file), "the file read back whole");
  });

  it("a trickling upload is closed within about one window; a slow real one completes", async () => {
    const { address } = await leader();
    const minKiB = DEFAULT_RESOURCE_LIMITS.uploadMinProgressBytes / 1024;
    // A byte every 200 ms: each byte used to restart the idle clock, so this held its
    // slot for as long as the client liked. Sent for three windows at most.
    const messages = Math.ceil((3 * UPLOAD_IDLE_MS) / 200);
    const trickle = pacedUpload(address, "trickle", messages, 1, 200);
    // 16 KiB every 500 ms (32 KiB/s): slow, but 64 KiB in every 4 s window. It takes
    // twice the window, so it lives only if progress keeps restarting the window.
    const slowBytes = 16 * 16 * 1024;
    const slow = pacedUpload(address, "ok/slow-upload", 16, 16 * 1024, 500);
    const [trickled, slowed] = await Promise.all([trickle, slow]);
    assert.ok(
      isExhausted(trickled.outcome, new RegExp(`sent less than ${minKiB} KiB in 4 s`)),
      `the trickle was closed as stalled: ${String(trickled.outcome)}`,
    );
    assert.ok(
      trickled.elapsedMs < UPLOAD_IDLE_MS + 2000,
      `closed after ${trickled.elapsedMs.toFixed(0)} ms (window ${UPLOAD_IDLE_MS} ms)`,
    );
    assert.equal(slowed.outcome, "stored", `the slow upload: ${String(slowed.outcome)}`);
    assert.ok(slowed.elapsedMs > UPLOAD_IDLE_MS, `it took ${slowed.elapsedMs.toFixed(0)} ms`);
    const stat = await client.stat("ok/slow-upload");
    assert.equal(stat.size, slowBytes);
    await serving("after-trickle");
  });

  it("a session that never advances keeps a bounded memory; exactly-once still holds", async () => {
    const leaderId = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leaderId);
    const pid = follower?.proc?.pid;
    const { address } = await leader();
    const base = await rssAnonMiB(pid);
    const sampler = peakSampler(pid);
    const writes = 30_000;
    let clientId: string;
    try {
      clientId = await stuckSession(address, writes);
      await serving("after-session");
    } finally {
      // Printed only: most of the growth is the log and the store, and it did not tell
      // the bound from no bound (53 MiB without, 48 with). The retries below do.
      const peak = sampler.stop();
      console.log(
        `# stuck session: follower RssAnon ${base.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`,
      );
    }
    // The client holds between EVICT_TO of the bound and the bound: the last `kept`
    // writes are surely remembered, none before the last MAX_SESSION_RESULTS is.
    const kept = Math.floor(MAX_SESSION_RESULTS * EVICT_TO);
    const stub = rawStub(address);
    const put = (sequence: number) =>
      new Promise<ServiceError | number>((resolve) =>
        stub.put(
          {
            metadata: {},
            key: `stuck/${sequence}`,
            value: Buffer.from("again"),
            ifVersion: undefined,
            session: { clientId, sequence, firstIncomplete: 1 },
          },
          (error, response) => resolve(error ?? response.version),
        ),
      );
    try {
      assert.equal(await put(writes), 1, "a remembered write answers with its original version");
      assert.equal(await put(writes - kept + 1), 1, "the bound keeps the recent results");
      // Without the bound these were remembered, and answered as duplicates (version 1).
      for (const seq of [1, writes - MAX_SESSION_RESULTS]) {
        const forgotten = await put(seq);
        assert.ok(
          typeof forgotten !== "number" && /no longer remembers/.test(forgotten.details),
          `write ${seq} is forgotten and refused as unknown: ${String(forgotten)}`,
        );
      }
      for (const seq of [1, writes]) {
        const { value, version } = await client.get(`stuck/${seq}`);
        assert.equal(version, 1, `stuck/${seq} applied once`);
        assert.equal(Buffer.from(value).toString(), `v${seq}`);
      }
      assert.equal(await put(writes + 1), 1, "the client's new writes still apply");
    } finally {
      stub.close();
    }
  });

  it("an over-size request gets a clear RESOURCE_EXHAUSTED, and the node keeps serving", async () => {
    const { address } = await leader();
    const stub = rawStub(address);
    try {
      const error = await new Promise<ServiceError | null>((resolve) =>
        stub.put(
          {
            metadata: {},
            key: "huge",
            value: Buffer.alloc(3 * MiB),
            ifVersion: undefined,
            session: undefined,
          },
          (e) => resolve(e),
        ),
      );
      assert.equal(error?.code, status.RESOURCE_EXHAUSTED, String(error));
      assert.match(error?.details ?? "", /larger than|limit is/);
      // Many small puts in one message: only the transport's limit can refuse it.
      const ops = Array.from({ length: 1000 }, (_, i) => ({
        put: {
          key: `many/${i}`,
          value: Buffer.alloc(3000),
          ifVersion: undefined,
          session: undefined,
          metadata: {},
        },
      }));
      const batchError = await new Promise<ServiceError | null>((resolve) =>
        stub.batch({ ops }, (e) => resolve(e)),
      );
      assert.equal(batchError?.code, status.RESOURCE_EXHAUSTED, String(batchError));
      assert.match(batchError?.details ?? "", /larger than/);
    } finally {
      stub.close();
    }
    await assert.rejects(client.put("huge", Buffer.alloc(3 * MiB)), { code: "too_large" });
    await serving("after-oversize");
  });

  it(`one connection gets at most ${CLIENT_MAX_CONCURRENT_STREAMS} calls at once; the rest wait or are refused`, async () => {
    const { address } = await leader();
    const count = CLIENT_MAX_CONCURRENT_STREAMS + 72;
    const attack = manyStreams(address, count, "ok/warm/0");
    try {
      await waitFor("the first calls to be answered", () =>
        attack.answered() >= CLIENT_MAX_CONCURRENT_STREAMS ? true : undefined,
      );
      await serving("during-streams"); // the observation window
      assert.equal(attack.answered(), CLIENT_MAX_CONCURRENT_STREAMS, "no more calls ran at once");
      assert.equal(attack.refused(), 0, "nothing refused while the first calls run");
      attack.end(100);
      // Each call past the limit either runs once others end (a Node 20 server) or is
      // refused at once with RESOURCE_EXHAUSTED (Node 22+); none is left hanging.
      await waitFor("every queued call to run or be refused once others end", () =>
        attack.answered() + attack.refused() === count ? true : undefined,
      );
      await serving("after-streams");
    } finally {
      attack.stop();
    }
  });

  it("every write acknowledged during the attacks is still there", async () => {
    await cluster.waitForLeader();
    for (const [key, value] of acked)
      assert.equal(Buffer.from((await client.get(key)).value).toString(), value, key);
  });
});
