/**
 * The resource attacks as small gRPC clients built from proto/, for the
 * adversary test (test/adversary/resource-limits.test.ts) and the attack benchmark
 * (bench/attacks.ts): a BatchStream whose answers are never read, uploads that send a
 * little and stall, a client whose session never advances, and many open calls on one
 * connection. Each opens its own connections, so the node sees separate clients.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { credentials, type ServiceError, status } from "@grpc/grpc-js";
import { type BatchOp, DfsClient as DfsStub } from "../../src/gen/dfs.ts";

const MiB = 1024 * 1024;

/** A raw stub on its own connection, allowed to send far more than a node accepts. */
export function rawStub(address: string): DfsStub {
  return new DfsStub(address, credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
    "grpc.max_send_message_length": 64 * MiB,
    "grpc.max_receive_message_length": 64 * MiB,
  });
}

/** Anonymous resident memory of a process (heap and buffers), in MiB; 0 once it is gone. */
export async function rssAnonMiB(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    return Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Samples the peak {@link rssAnonMiB} of `pid` every 100 ms until stopped. */
export function peakSampler(pid: number | undefined): { stop(): number } {
  let peak = 0;
  const timer = setInterval(async () => {
    peak = Math.max(peak, await rssAnonMiB(pid));
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** A running attack: `stop` closes its connections. */
export interface Attack {
  stop(): void;
}

/** Opens a BatchStream, sends `count` gets of `key`, and never reads an answer. */
export function unreadBatchStream(address: string, key: string, count: number): Attack {
  const stub = rawStub(address);
  const call = stub.batchStream();
  call.on("error", () => {}); // cancelled at stop
  for (let id = 1; id <= count; id++) {
    call.write({ id, batch: { ops: [{ get: { key, serializable: false } }] } });
  }
  return {
    stop: () => {
      call.cancel();
      stub.close();
    },
  };
}

/** How one upload of {@link stalledUploads} ended (null while it is still open). */
export type UploadOutcome = ServiceError | "stored" | null;

/**
 * Starts `count` uploads, `perConnection` per connection, each sending `bytes` in 512
 * KiB messages and then nothing. `outcomes[i]` is filled in when upload i ends.
 */
export function stalledUploads(
  address: string,
  count: number,
  perConnection: number,
  bytes: number,
  keyPrefix = "stall",
): Attack & { outcomes: UploadOutcome[] } {
  const outcomes: UploadOutcome[] = new Array(count).fill(null);
  const stubs: DfsStub[] = [];
  const calls: { cancel(): void }[] = [];
  for (let i = 0; i < count; i++) {
    if (i % perConnection === 0) stubs.push(rawStub(address));
    const stub = stubs[stubs.length - 1] as DfsStub;
    const call = stub.upload((error) => {
      outcomes[i] = error ?? "stored";
    });
    calls.push(call);
    call.on("error", () => {});
    for (let sent = 0; sent < bytes; sent += MiB / 2) {
      call.write({
        metadata: {},
        key: sent === 0 ? `${keyPrefix}/${i}` : "",
        ifVersion: undefined,
        session: undefined,
        data: Buffer.alloc(Math.min(MiB / 2, bytes - sent), i),
        sha256: Buffer.alloc(0),
        done: false,
      });
    }
  }
  return {
    outcomes,
    stop: () => {
      for (const call of calls) call.cancel();
      for (const stub of stubs) stub.close();
    },
  };
}

/** How a {@link pacedUpload} ended, and after how long (ms from its start). */
export interface PacedOutcome {
  readonly outcome: ServiceError | "stored";
  readonly elapsedMs: number;
}

/**
 * One upload of `messages` messages of `bytesEach` bytes, one every `everyMs`, then the
 * final message: a trickle (a byte now and then) or a slow but real upload. Resolves
 * when the server answers, which for a trickle it should do before all were sent.
 */
export function pacedUpload(
  address: string,
  key: string,
  messages: number,
  bytesEach: number,
  everyMs: number,
): Promise<PacedOutcome> {
  const stub = rawStub(address);
  const started = performance.now();
  return new Promise<PacedOutcome>((resolve) => {
    let answered = false;
    const call = stub.upload((error) => {
      answered = true;
      stub.close();
      resolve({ outcome: error ?? "stored", elapsedMs: performance.now() - started });
    });
    call.on("error", () => {});
    const hash = createHash("sha256");
    void (async () => {
      for (let i = 0; i < messages && !answered; i++) {
        const data = Buffer.alloc(bytesEach, i);
        hash.update(data);
        call.write({
          metadata: {},
          key: i === 0 ? key : "",
          ifVersion: undefined,
          session: undefined,
          data,
          sha256: Buffer.alloc(0),
          done: false,
        });
        await new Promise((r) => setTimeout(r, everyMs));
      }
      if (answered) return;
      call.write({
        metadata: {},
        key: "",
        ifVersion: undefined,
        session: undefined,
        data: Buffer.alloc(0),
        sha256: hash.digest(),
        done: true,
      });
      call.end();
    })();
  });
}

/**
 * Writes `writes` puts as one client whose `firstIncomplete` stays at 1, in Batch calls
 * of 256, numbered from `firstSequence`; resolves with the client id once all are
 * acknowledged. Pass the id back (and the next sequence) to continue the same session.
 * With `advance`, the client behaves: each batch's `firstIncomplete` is its own first
 * sequence (every earlier write was acknowledged), so the server forgets the results
 * before it — the same write load without the stuck session (a benchmark control).
 */
export async function stuckSession(
  address: string,
  writes: number,
  keyPrefix = "stuck",
  clientId = `stuck${process.pid}${Date.now()}`,
  firstSequence = 1,
  advance = false,
): Promise<string> {
  const stub = rawStub(address);
  const last = firstSequence + writes - 1;
  try {
    for (let first = firstSequence; first <= last; first += 256) {
      const ops: BatchOp[] = [];
      for (let seq = first; seq <= Math.min(first + 255, last); seq++) {
        ops.push({
          put: {
            key: `${keyPrefix}/${seq}`,
            value: Buffer.from(`v${seq}`),
            ifVersion: undefined,
            session: { clientId, sequence: seq, firstIncomplete: advance ? first : 1 },
            metadata: {},
          },
        });
      }
      await new Promise<void>((resolve, reject) =>
        stub.batch({ ops }, (error, response) => {
          const failed = response?.results.find((r) => r.error !== undefined);
          if (error) reject(error);
          else if (failed) reject(new Error(`put refused: ${failed.error?.message}`));
          else resolve();
        }),
      );
    }
    return clientId;
  } finally {
    stub.close();
  }
}

/**
 * Opens `count` BatchStream calls on one connection and sends one get on each.
 * `answered()` counts the calls answered so far; `refused()` the calls the server turned
 * away with RESOURCE_EXHAUSTED (a Node 22+ server refuses a stream opened past its
 * concurrency limit, ENHANCE_YOUR_CALM, where Node 20 lets it wait); `end(n)` cancels the
 * first n answered calls.
 */
export function manyStreams(
  address: string,
  count: number,
  key: string,
): Attack & { answered(): number; refused(): number; end(n: number): void } {
  const stub = rawStub(address);
  let refused = 0;
  const calls: ReturnType<DfsStub["batchStream"]>[] = [];
  // Calls in the order they were answered: `end` closes answered ones, never a call still
  // waiting for a stream slot (which one the HTTP/2 session starts first is its business).
  const answeredCalls: ReturnType<DfsStub["batchStream"]>[] = [];
  for (let i = 0; i < count; i++) {
    const call = stub.batchStream();
    call.on("error", (error: ServiceError) => {
      if (error.code === status.RESOURCE_EXHAUSTED) refused++;
    });
    call.on("data", () => answeredCalls.push(call));
    call.write({ id: 1, batch: { ops: [{ get: { key, serializable: true } }] } });
    calls.push(call);
  }
  return {
    answered: () => answeredCalls.length,
    refused: () => refused,
    end: (n) => {
      for (const call of answeredCalls.slice(0, n)) call.cancel();
    },
    stop: () => {
      for (const call of calls) call.cancel();
      stub.close();
    },
  };
}
