/**
 * What every handler of the console's API gets: how to reach the cluster, the monitor
 * behind the live view, the login sessions and the client of visitors not logged in.
 */
import type { ClientTls, DfsClient } from "../client/index.ts";
import type { ClusterMonitor, MonitorOptions } from "./cluster-monitor.ts";
import type { SessionLimits, Sessions } from "./sessions.ts";

/** How the console reaches the cluster. */
export interface ConsoleOptions {
  /** Client addresses (host:port) of some members; the rest are learned. */
  readonly endpoints: readonly string[];
  /** TLS to the client port, as for any DfsClient. */
  readonly tls?: ClientTls;
  /** Deadline of each file operation, retries included (the client's default otherwise). */
  readonly timeoutMs?: number;
  /** Polling of the cluster view. */
  readonly monitor?: Omit<MonitorOptions, "endpoints" | "tls">;
  /** Bounds of the login sessions. */
  readonly sessions?: SessionLimits;
  /** Directory of the built page (default: dist/console/, see assets.ts). */
  readonly bundleDir?: string | null;
}

/** What every handler gets. */
export interface ConsoleContext {
  readonly options: ConsoleOptions;
  readonly monitor: ClusterMonitor;
  readonly sessions: Sessions;
  /** The client of visitors who are not logged in (enough while auth is off). */
  readonly anonymous: DfsClient;
}
