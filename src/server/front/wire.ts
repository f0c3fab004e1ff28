/**
 * What a protocol front end (a worker thread, see front-ends.ts) and the Raft loop's
 * thread say to each other over their MessagePort: batches of decoded unary requests one
 * way, batches of answers the other. A batch is whatever arrived in one turn of the
 * sender's event loop, so a busy front end pays one message per turn, not per call.
 */

/** Metadata as it crosses the port: keys with their values (text or binary). */
export type WireMetadata = [key: string, values: (string | Uint8Array)[]][];

/** One unary call, decoded by the front end. */
export interface WireCall {
  readonly id: number;
  /** The method's key in DfsService ("put", "get", ...). */
  readonly method: string;
  readonly request: unknown;
  readonly metadata: WireMetadata;
  /** The caller's address as the front end saw it (upload slots are per peer). */
  readonly peer: string;
  /** Absolute deadline in ms since the epoch; Infinity when none. */
  readonly deadline: number;
}

/** The answer to one {@link WireCall}: a response, or a gRPC status. */
export type WireAnswer =
  | { readonly id: number; readonly ok: true; readonly response: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly code: number;
      readonly details: string;
      readonly metadata: WireMetadata;
    };

/** What starts a front end (its workerData). */
export interface FrontEndData {
  /** The first front end listens here and reports the socket's fd. */
  readonly listen?: { readonly host: string; readonly port: number };
  /** The others accept on the first one's listening socket. */
  readonly fd?: number;
  /** The loop thread's own gRPC server on loopback: streaming calls are relayed there. */
  readonly internal: string;
  /** Index of this front end (0..N-1), for logs. */
  readonly index: number;
}

/** What a front end reports once, after it listens (or fails to). */
export type FrontEndReady =
  | { readonly kind: "listening"; readonly fd: number }
  | { readonly kind: "failed"; readonly message: string; readonly inUse: boolean };

/** Buffers arrive as plain Uint8Arrays after structured cloning; handlers expect Buffers. */
export function reviveBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reviveBuffers(value[i]);
    return value;
  }
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const field = record[key];
      if (typeof field === "object" && field !== null) record[key] = reviveBuffers(field);
    }
  }
  return value;
}

/** Copies at least this large are moved across the port (transferred), not cloned. */
export const TRANSFER_BYTES = 16 * 1024;

/**
 * Copies every Uint8Array that is a view into a larger buffer: structured cloning sends a
 * view's whole underlying ArrayBuffer (a pooled 8 KiB slab, or a whole received message).
 * Copies of {@link TRANSFER_BYTES} or more are added to `transfer`, so a large value
 * moves to the other thread instead of being copied once more.
 */
export function compactBuffers(value: unknown, transfer?: ArrayBuffer[]): unknown {
  if (value instanceof Uint8Array) {
    if (value.byteLength === value.buffer.byteLength) return value;
    const copy = new Uint8Array(value);
    if (transfer !== undefined && copy.byteLength >= TRANSFER_BYTES) transfer.push(copy.buffer);
    return copy;
  }
  if (Array.isArray(value)) return value.map((v) => compactBuffers(v, transfer));
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(record)) {
      const field = record[key];
      if (typeof field !== "object" || field === null) continue;
      const compacted = compactBuffers(field, transfer);
      if (compacted !== field) {
        copy ??= { ...record };
        copy[key] = compacted;
      }
    }
    return copy ?? value;
  }
  return value;
}
