/**
 * Wing & Gong's entry list: every call and return event of one key, in time order, as a
 * doubly linked list from which a linearized operation is "lifted" (both its events
 * unlinked) and restored in O(1) on backtrack, dancing-links style.
 *
 * Ties. Operation A must precede B only if A returned strictly before B was called
 * (A.ret < B.call). With A.ret === B.call the clock could not tell which came first, so
 * they are concurrent: at equal times every call event sorts before every return event,
 * which lets B be linearized before A. This is the permissive reading — it can only
 * turn a would-be violation into a pass when the timestamps genuinely cannot order the
 * two, never invent a violation out of clock resolution.
 *
 * Indeterminate operations (ret = +∞) get no return event at all: nothing ever forces
 * them to be linearized, which is exactly "may take effect at any time after the call,
 * or never". The search keeps them in a list of their own (see search.ts) and ends when
 * every determinate operation is linearized.
 */
import { isDeterminate, type KeyOp } from "./history.ts";

/** The "no node" marker: past the end of the list. */
export const END = -1;

/** One call or return; `op` indexes the operations the list was built from. */
interface Event {
  readonly time: number;
  readonly isCall: boolean;
  readonly op: number;
}

/**
 * The linked event list of those of one key's operations that `include` selects;
 * operations are named by their position in the full `ops` array.
 */
export class EntryList {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly eventOp: Int32Array;
  private readonly eventIsCall: Uint8Array;
  private readonly eventTime: Float64Array;
  private readonly callNode: Int32Array;
  private readonly retNode: Int32Array;
  /** The sentinel node before the first event. */
  private readonly head: number;

  constructor(
    ops: readonly KeyOp<unknown, unknown>[],
    include: (op: KeyOp<unknown, unknown>) => boolean = () => true,
  ) {
    const events = sortedEvents(ops, include);
    this.head = events.length;
    this.next = new Int32Array(events.length + 1);
    this.prev = new Int32Array(events.length + 1);
    this.eventOp = new Int32Array(events.length);
    this.eventIsCall = new Uint8Array(events.length);
    this.eventTime = new Float64Array(events.length);
    this.callNode = new Int32Array(ops.length);
    this.retNode = new Int32Array(ops.length).fill(END);
    for (const [node, event] of events.entries()) this.link(event, node);
    this.next[this.head] = events.length > 0 ? 0 : END;
    this.prev[this.head] = END;
  }

  private link(event: Event, node: number): void {
    this.eventOp[node] = event.op;
    this.eventIsCall[node] = event.isCall ? 1 : 0;
    this.eventTime[node] = event.time;
    if (event.isCall) this.callNode[event.op] = node;
    else this.retNode[event.op] = node;
    this.prev[node] = node === 0 ? this.head : node - 1;
    this.next[node] = node + 1 < this.head ? node + 1 : END;
  }

  /** The first event still in the list, or END. */
  first(): number {
    return this.next[this.head];
  }

  /** The event after `node`, or END. */
  after(node: number): number {
    return this.next[node];
  }

  /** True for a call event; false for a return event. */
  isCall(node: number): boolean {
    return this.eventIsCall[node] === 1;
  }

  /** When an event happened. */
  timeOf(node: number): number {
    return this.eventTime[node] as number;
  }

  /** The operation (index into `ops`) an event belongs to. */
  opOf(node: number): number {
    return this.eventOp[node];
  }

  /** The call event of operation `op`. */
  callOf(op: number): number {
    return this.callNode[op];
  }

  /** Unlinks both events of `op` (it has been linearized). */
  lift(op: number): void {
    this.unlink(this.callOf(op));
    const ret = this.retNode[op];
    if (ret !== END) this.unlink(ret);
  }

  /** Undoes the matching {@link lift}; must be called in reverse order of lifts. */
  unlift(op: number): void {
    const ret = this.retNode[op];
    if (ret !== END) this.relink(ret);
    this.relink(this.callOf(op));
  }

  private unlink(node: number): void {
    const before = this.prev[node];
    const after = this.next[node];
    this.next[before] = after;
    if (after !== END) this.prev[after] = before;
  }

  private relink(node: number): void {
    const before = this.prev[node];
    const after = this.next[node];
    this.next[before] = node;
    if (after !== END) this.prev[after] = node;
  }
}

/** Calls and (finite) returns by time; at equal times calls first, then by op index. */
function sortedEvents(
  ops: readonly KeyOp<unknown, unknown>[],
  include: (op: KeyOp<unknown, unknown>) => boolean,
): Event[] {
  const events: Event[] = [];
  ops.forEach((op, index) => {
    if (!include(op)) return;
    events.push({ time: op.call, isCall: true, op: index });
    if (isDeterminate(op)) events.push({ time: op.ret, isCall: false, op: index });
  });
  return events.sort(
    (a, b) => a.time - b.time || Number(b.isCall) - Number(a.isCall) || a.op - b.op,
  );
}
