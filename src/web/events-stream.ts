/**
 * GET /api/events: the live cluster view as Server-Sent Events. A new page first gets the
 * history (`snapshot`), then one `tick` per poll with the leader change it brought, the
 * moment the poll ends — so a failover shows without a reload. Streams are bounded in
 * number, and a page that stops reading is dropped rather than buffered for.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClusterMonitor } from "./cluster-monitor.ts";
import { HttpError } from "./http-util.ts";

/** Event streams open at once per console; one more is refused with 503. */
export const MAX_EVENT_STREAMS = 64;

/** Bytes a stream may have waiting unsent before its page counts as gone. */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** Serves event streams from one monitor, counting them against the bound. */
export class EventStreams {
  private open = 0;

  constructor(private readonly monitor: ClusterMonitor) {}

  /** Starts a stream on `res`; it lasts until the page goes away or the console closes. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.open >= MAX_EVENT_STREAMS) {
      throw new HttpError(503, "unavailable", `${MAX_EVENT_STREAMS} event streams already open`);
    }
    this.open++;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.write("retry: 1000\n\n"); // a page whose node restarts reconnects within a second
    send(res, "snapshot", this.monitor.snapshot());
    const unsubscribe = this.monitor.subscribe((tick, change) => {
      if (res.writableLength > MAX_UNSENT_BYTES) {
        res.destroy();
        return;
      }
      send(res, "tick", { tick, change });
    });
    const done = () => {
      unsubscribe();
      this.open--;
    };
    req.socket.setTimeout(0); // a stream is idle between events by design
    res.once("close", done);
  }

  /** Streams currently open. */
  get count(): number {
    return this.open;
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
