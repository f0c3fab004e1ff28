/**
 * A TCP proxy for one directed peer link i→j (node i dials node j through it), with
 * faults the harness switches at run time: pass, blackhole (hold every byte until
 * healed), delay (per chunk, ± jitter, order kept) and drop (with probability p per chunk
 * the connection is destroyed, losing whatever it carried). Bytes are never altered,
 * reordered or skipped: TCP allows a stream to stall or die, never to be corrupted.
 *
 * "forward" is the dialling node's bytes (i's Raft messages to j); "backward" is what j
 * answers on that connection (gRPC acks). j's own messages to i travel on link j→i.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** What a link does to the bytes of one direction. */
export type LinkMode =
  | { readonly kind: "pass" }
  | { readonly kind: "blackhole" }
  | { readonly kind: "delay"; readonly ms: number; readonly jitterMs: number }
  | { readonly kind: "drop"; readonly p: number };

/** Which direction(s) of the link a fault applies to. */
export type Direction = "forward" | "backward" | "both";

/** Counters, for tests and reports. */
export interface ProxyStats {
  connections: number;
  /** Connections destroyed by a `drop` fault. */
  dropped: number;
  bytesForward: number;
  bytesBackward: number;
}

const PASS: LinkMode = { kind: "pass" };

/** Bytes of one direction of one connection, waiting for their delivery time. */
class Lane {
  private readonly queue: { data: Buffer; at: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    readonly from: Socket,
    private readonly to: Socket,
    private readonly onBytes: (n: number) => void,
  ) {}

  /** Queues a chunk for delivery at `at` (Infinity = held), never before earlier chunks. */
  push(data: Buffer, at: number): void {
    const last = this.queue[this.queue.length - 1]?.at ?? 0;
    this.queue.push({ data, at: Math.max(at, last) });
    this.pump();
  }

  /** The source finished: end the destination once everything queued is delivered. */
  end(): void {
    this.ended = true;
    this.pump();
  }

  /** Held bytes become deliverable now (a blackhole was lifted). */
  release(): void {
    const now = Date.now();
    for (const entry of this.queue) if (entry.at === Number.POSITIVE_INFINITY) entry.at = now;
    this.pump();
  }

  /** Stops delivering; the connection is gone. */
  discard(): void {
    this.queue.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    while (this.queue.length > 0 && (this.queue[0]?.at ?? 0) <= now) {
      const { data } = this.queue.shift() as { data: Buffer };
      this.onBytes(data.length);
      if (!this.to.destroyed) this.to.write(data);
    }
    const next = this.queue[0]?.at;
    if (next !== undefined && Number.isFinite(next)) {
      this.timer = setTimeout(() => this.pump(), next - now);
    } else if (next === undefined && this.ended && !this.to.destroyed) {
      this.to.end();
    }
  }
}

/** One proxied connection: the dialler's socket, the upstream socket and a lane each way. */
interface Connection {
  readonly forward: Lane;
  readonly backward: Lane;
  destroy(): void;
}

/** A controllable proxy listening on 127.0.0.1 and forwarding to one target. */
export class FaultProxy {
  readonly stats: ProxyStats = { connections: 0, dropped: 0, bytesForward: 0, bytesBackward: 0 };
  private readonly live = new Set<Connection>();
  private forwardMode: LinkMode = PASS;
  private backwardMode: LinkMode = PASS;

  private constructor(
    private readonly server: Server,
    /** The port the dialler connects to. */
    readonly port: number,
    private readonly targetPort: number,
    private readonly targetHost: string,
    private readonly random: () => number,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Listens on a free port of 127.0.0.1 and forwards to `targetHost:targetPort`. */
  static async start(
    targetPort: number,
    options: { readonly targetHost?: string; readonly random?: () => number } = {},
  ): Promise<FaultProxy> {
    const server = createServer({ noDelay: true, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const host = options.targetHost ?? "127.0.0.1";
    return new FaultProxy(server, port, targetPort, host, options.random ?? Math.random);
  }

  /** The mode of one direction. */
  mode(direction: "forward" | "backward"): LinkMode {
    return direction === "forward" ? this.forwardMode : this.backwardMode;
  }

  /** Switches the fault of one or both directions; affects open connections at once. */
  set(mode: LinkMode, direction: Direction = "both"): void {
    if (direction !== "backward") this.forwardMode = mode;
    if (direction !== "forward") this.backwardMode = mode;
    for (const connection of this.live) {
      this.applyTo(connection.forward, this.forwardMode);
      this.applyTo(connection.backward, this.backwardMode);
    }
  }

  /** Back to pass in both directions; held bytes are delivered, in order. */
  heal(): void {
    this.set(PASS, "both");
  }

  /** Open connections right now. */
  connections(): number {
    return this.live.size;
  }

  /** Closes every connection and the listener. */
  async close(): Promise<void> {
    for (const connection of this.live) connection.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private applyTo(lane: Lane, mode: LinkMode): void {
    if (mode.kind === "blackhole") {
      lane.from.pause(); // hold: the sender's kernel buffers fill, nothing is read or lost
      return;
    }
    lane.from.resume();
    lane.release();
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    const upstream = connect({
      host: this.targetHost,
      port: this.targetPort,
      noDelay: true,
      allowHalfOpen: true,
    });
    const connection: Connection = {
      forward: new Lane(client, upstream, (n) => {
        this.stats.bytesForward += n;
      }),
      backward: new Lane(upstream, client, (n) => {
        this.stats.bytesBackward += n;
      }),
      destroy: () => {
        if (!this.live.delete(connection)) return;
        connection.forward.discard();
        connection.backward.discard();
        client.destroy();
        upstream.destroy();
      },
    };
    this.live.add(connection);
    this.wire(connection, connection.forward, () => this.forwardMode);
    this.wire(connection, connection.backward, () => this.backwardMode);
  }

  private wire(connection: Connection, lane: Lane, mode: () => LinkMode): void {
    lane.from.on("data", (chunk: Buffer) => this.onChunk(connection, lane, mode(), chunk));
    lane.from.on("end", () => lane.end());
    lane.from.on("error", () => connection.destroy());
    lane.from.on("close", () => connection.destroy());
    this.applyTo(lane, mode());
  }

  private onChunk(connection: Connection, lane: Lane, mode: LinkMode, chunk: Buffer): void {
    if (mode.kind === "drop" && this.random() < mode.p) {
      this.stats.dropped++;
      connection.destroy();
      return;
    }
    lane.push(chunk, this.deliveryTime(mode));
  }

  /** When a chunk arriving now may be delivered under `mode` (Infinity = held). */
  private deliveryTime(mode: LinkMode): number {
    switch (mode.kind) {
      case "blackhole":
        return Number.POSITIVE_INFINITY;
      case "delay": {
        const jitter = (this.random() * 2 - 1) * mode.jitterMs;
        return Date.now() + Math.max(0, mode.ms + jitter);
      }
      default:
        return 0;
    }
  }
}
