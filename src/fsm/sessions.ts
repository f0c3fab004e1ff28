/**
 * Client sessions: the state machine's memory of each client's recent write results, so
 * a write retried after a timeout or a leader change is applied once and answered with
 * the original result (Raft thesis §6.3; LogCabin keeps the same table). Part of the
 * replicated state: every decision here depends only on the log, so all nodes agree.
 */
import type { CommandSession } from "./command-types.ts";
import type { ApplyResult } from "./state-machine.ts";

/**
 * A client idle this long (by the leaders' clocks stamped into the log) is forgotten; a
 * retry arriving later is rejected as expired rather than applied twice.
 */
export const SESSION_EXPIRY_MS = 60 * 60 * 1000;

/**
 * Results one client may have remembered at once. A client that never advances its
 * `firstIncomplete` (a bug, or an attack: 30k writes cost a node 66 MiB) would otherwise
 * grow its entry without end, and the on-disk store rewrites a client's whole entry on
 * each of its writes. The client library has at most a few hundred writes outstanding.
 * Past the bound the oldest result is forgotten: see {@link SessionTable.record}.
 */
export const MAX_SESSION_RESULTS = 1024;

/**
 * Estimated bytes of one client's remembered results (see {@link resultBytes}); results
 * are small except refusals that quote a key, so this only bites on those.
 */
export const MAX_SESSION_RESULT_BYTES = 256 * 1024;

/**
 * Past either bound, a client's oldest results are forgotten until it holds at most this
 * fraction of both. Forgetting a quarter at once, rather than one result per write, makes
 * the bound cost O(log n) per write: finding and dropping the lowest sequence is a pass
 * over the client's results, and one per write made a stuck client's writes 20x dearer
 * than a well-behaved client's (about 10 us against 0.5 us, on every node).
 */
export const EVICT_TO = 0.75;

/** Sweep for expired sessions every this many session writes (amortized O(1)). */
const SWEEP_EVERY = 1024;

interface ClientSession {
  /** Results by sequence number, for sequences >= firstIncomplete. */
  readonly results: Map<number, ApplyResult>;
  firstIncomplete: number;
  lastActiveMs: number;
  /** Sum of {@link resultBytes} over `results` (derived, so not part of an image). */
  bytes: number;
}

/** One client's session as plain data (a snapshot entry, or one record of an on-disk store). */
export interface ClientImage {
  readonly id: string;
  readonly firstIncomplete: number;
  readonly lastActiveMs: number;
  readonly results: readonly (readonly [number, ApplyResult])[];
}

/** A session table as plain data, for snapshots. */
export interface SessionsImage {
  readonly writes: number;
  readonly clients: readonly ClientImage[];
}

/** A client whose session changed since the last {@link SessionTable.takeChanges}: null = forgotten. */
export interface SessionChange {
  readonly id: string;
  readonly image: ClientImage | null;
}

/** What to do with an incoming session write. */
export type SessionVerdict =
  | { readonly kind: "new" }
  | { readonly kind: "duplicate"; readonly result: ApplyResult }
  | { readonly kind: "expired" };

/** The replicated table of client sessions. */
export class SessionTable {
  private readonly clients = new Map<string, ClientSession>();
  private writes = 0;
  /** Clients changed since the last takeChanges (an on-disk store persists just these). */
  private readonly dirty = new Set<string>();

  /** Session writes so far: it times the expiry sweeps, so it is part of the replicated state. */
  get writeCount(): number {
    return this.writes;
  }

  /** Classifies a write: first time seen, a retry of a remembered one, or too old to tell. */
  check(session: CommandSession): SessionVerdict {
    const client = this.clients.get(session.clientId);
    // An unknown client is new, or was idle past SESSION_EXPIRY_MS: far beyond any client's
    // retry deadline, so this cannot be a retry of a write it already had applied.
    if (client === undefined) return { kind: "new" };
    const remembered = client.results.get(session.sequence);
    if (remembered !== undefined) return { kind: "duplicate", result: remembered };
    if (session.sequence < client.firstIncomplete) return { kind: "expired" };
    return { kind: "new" };
  }

  /**
   * Records the result of a newly applied write and drops results the client no longer
   * needs. Past {@link MAX_SESSION_RESULTS} or {@link MAX_SESSION_RESULT_BYTES} for this
   * client, its lowest sequences are forgotten (down to {@link EVICT_TO} of both bounds)
   * by raising its `firstIncomplete` above them, so a later retry of one is answered
   * `session_expired` (outcome unknown) and
   * never applied twice — the same answer as a session that expired (Raft thesis §6.3).
   * Evicting rather than refusing the client's new writes keeps a client with one
   * abandoned write from being locked out, and needs no new result kind.
   */
  record(session: CommandSession, result: ApplyResult, nowMs: number): void {
    let client = this.clients.get(session.clientId);
    if (client === undefined) {
      client = { results: new Map(), firstIncomplete: 0, lastActiveMs: nowMs, bytes: 0 };
      this.clients.set(session.clientId, client);
    }
    client.results.set(session.sequence, result);
    client.bytes += resultBytes(result);
    this.touch(client, session.firstIncomplete, nowMs);
    if (client.results.size > MAX_SESSION_RESULTS || client.bytes > MAX_SESSION_RESULT_BYTES)
      this.evict(client, nowMs);
    this.dirty.add(session.clientId);
    if (++this.writes % SWEEP_EVERY === 0) this.expire(nowMs);
  }

  /** Notes activity (also for duplicates) and forgets results below firstIncomplete. */
  acknowledge(session: CommandSession, nowMs: number): void {
    const client = this.clients.get(session.clientId);
    if (client === undefined) return;
    this.touch(client, session.firstIncomplete, nowMs);
    this.dirty.add(session.clientId);
  }

  /** Which clients changed since the last call (and forgets that they did). */
  takeChanges(): SessionChange[] {
    const changes = [...this.dirty].map((id) => {
      const client = this.clients.get(id);
      return { id, image: client === undefined ? null : imageOf(id, client) };
    });
    this.dirty.clear();
    return changes;
  }

  /** Marks taken changes as unsaved again (the write that was to save them failed). */
  requeueChanges(changes: readonly SessionChange[]): void {
    for (const change of changes) this.dirty.add(change.id);
  }

  /** Loads the table from an on-disk store's records (at open). */
  load(writes: number, clients: Iterable<ClientImage>): void {
    this.loadImage({ writes, clients: [...clients] });
  }

  /** The whole table as plain data (part of a state-machine snapshot). */
  toImage(): SessionsImage {
    const clients = [...this.clients].map(([id, c]) => imageOf(id, c));
    return { writes: this.writes, clients };
  }

  /** Replaces the table with a snapshot's. */
  loadImage(image: SessionsImage): void {
    this.clients.clear();
    this.dirty.clear();
    this.writes = image.writes;
    for (const c of image.clients) {
      const results = new Map(c.results);
      let bytes = 0;
      for (const r of results.values()) bytes += resultBytes(r);
      this.clients.set(c.id, {
        results,
        firstIncomplete: c.firstIncomplete,
        lastActiveMs: c.lastActiveMs,
        bytes,
      });
    }
  }

  /** Number of clients remembered (for status and tests). */
  size(): number {
    return this.clients.size;
  }

  private touch(client: ClientSession, firstIncomplete: number, nowMs: number): void {
    client.lastActiveMs = Math.max(client.lastActiveMs, nowMs);
    if (firstIncomplete > client.firstIncomplete) {
      client.firstIncomplete = firstIncomplete;
      for (const [seq, result] of client.results) {
        if (seq < firstIncomplete) {
          client.results.delete(seq);
          client.bytes -= resultBytes(result);
        }
      }
    }
  }

  /**
   * Forgets a client's lowest sequences until it holds at most {@link EVICT_TO} of both
   * bounds (always keeping its highest). Depends only on the results, so all nodes agree.
   */
  private evict(client: ClientSession, nowMs: number): void {
    const seqs = [...client.results.keys()].sort((a, b) => a - b);
    let size = seqs.length;
    let bytes = client.bytes;
    let drop = 0;
    while (
      drop < seqs.length - 1 &&
      (size > MAX_SESSION_RESULTS * EVICT_TO || bytes > MAX_SESSION_RESULT_BYTES * EVICT_TO)
    ) {
      const result = client.results.get(seqs[drop] ?? 0);
      if (result !== undefined) bytes -= resultBytes(result);
      size--;
      drop++;
    }
    const kept = seqs[drop];
    if (drop > 0 && kept !== undefined) this.touch(client, kept, nowMs);
  }

  private expire(nowMs: number): void {
    for (const [id, client] of this.clients) {
      if (nowMs - client.lastActiveMs > SESSION_EXPIRY_MS) {
        this.clients.delete(id);
        this.dirty.add(id);
      }
    }
  }
}

/**
 * Estimated bytes of a remembered result: a fixed cost for the entry and its numbers,
 * plus any text it carries. Depends only on the result, so every node agrees.
 */
export function resultBytes(result: ApplyResult): number {
  return 64 + ("reason" in result ? result.reason.length : 0);
}

function imageOf(id: string, c: ClientSession): ClientImage {
  return {
    id,
    firstIncomplete: c.firstIncomplete,
    lastActiveMs: c.lastActiveMs,
    results: [...c.results],
  };
}
