/**
 * The client's side of exactly-once writes (Raft thesis §6.3): a random client id and a
 * sequence number per write, reused by every retry of that write, plus the lowest
 * sequence still outstanding so the cluster can forget results the client no longer needs.
 */
import { randomBytes } from "node:crypto";
import type { Session } from "../gen/dfs.ts";

/** Numbers one client's writes. */
export class ClientSession {
  /** 128 random bits: collisions between clients are not a practical concern. */
  readonly clientId = randomBytes(16).toString("hex");
  private nextSequence = 1;
  private readonly outstanding = new Set<number>();

  /** Starts a write; its number stays the same across retries. */
  begin(): number {
    const sequence = this.nextSequence++;
    this.outstanding.add(sequence);
    return sequence;
  }

  /** The write's final answer arrived (or the caller gave up on it). */
  end(sequence: number): void {
    this.outstanding.delete(sequence);
  }

  /** The session header of one attempt of write `sequence`. */
  header(sequence: number): Session {
    let firstIncomplete = this.nextSequence;
    for (const s of this.outstanding) if (s < firstIncomplete) firstIncomplete = s;
    return { clientId: this.clientId, sequence, firstIncomplete };
  }
}
