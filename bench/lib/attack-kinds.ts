/**
 * The attacks of bench/attacks.ts by name, each started against the leader's client
 * address. They run in their own process (bench/attack-process.ts): an attack that
 * builds 3 MiB requests in the load generator's own event loop would slow the measured
 * client itself and be blamed on the server.
 */
import {
  type Attack,
  manyStreams,
  rawStub,
  stalledUploads,
  stuckSession,
  unreadBatchStream,
} from "../../test/support/resource-attacks.ts";

const MiB = 1024 * 1024;

/** How to start one attack; `sequenceBase` numbers a stuck session's writes across runs. */
export interface AttackContext {
  readonly address: string;
  /** Pause between the requests of a repeated attack, ms (0: back to back). */
  readonly paceMs: number;
  /** Session id and first sequence for the stuck-session attack (one client across rounds). */
  readonly stuckClient: string;
  readonly sequenceBase: number;
}

/** Repeats `once` until stopped (attacks that are a stream of requests, not a held state). */
function looping(paceMs: number, once: (n: number) => Promise<unknown>): Attack {
  let stopped = false;
  void (async () => {
    for (let n = 0; !stopped; n++) {
      await once(n).catch(() => {});
      if (paceMs > 0) await new Promise((resolve) => setTimeout(resolve, paceMs));
    }
  })();
  return {
    stop: () => {
      stopped = true;
    },
  };
}

/** Every attack, by the name the benchmark's `--only` uses. */
export const ATTACKS: Readonly<Record<string, (c: AttackContext) => Attack>> = {
  "unread-stream": (c) => unreadBatchStream(c.address, "attack/big", 400),
  "stalled-uploads": (c) => stalledUploads(c.address, 150, 8, MiB),
  "stuck-session": (c) =>
    looping(c.paceMs, (n) =>
      stuckSession(c.address, 256, `attack/stuck${n % 4}`, c.stuckClient, c.sequenceBase + n * 256),
    ),
  // Not an attack: the control for stuck-session, the same writes from a session that
  // advances its firstIncomplete, so the report separates the write load from the attack.
  "busy-session": (c) =>
    looping(c.paceMs, (n) =>
      stuckSession(
        c.address,
        256,
        `attack/busy${n % 4}`,
        `${c.stuckClient}-busy`,
        c.sequenceBase + n * 256,
        true,
      ),
    ),
  "many-streams": (c) => manyStreams(c.address, 300, "attack/small"),
  oversize: (c) => {
    const stub = rawStub(c.address);
    const value = Buffer.alloc(3 * MiB);
    const loop = looping(
      c.paceMs,
      () =>
        new Promise<void>((resolve) =>
          stub.put(
            { metadata: {}, key: "attack/huge", value, ifVersion: undefined, session: undefined },
            () => resolve(),
          ),
        ),
    );
    return {
      stop: () => {
        loop.stop();
        stub.close();
      },
    };
  },
};
