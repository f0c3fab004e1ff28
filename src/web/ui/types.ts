/**
 * The console API's JSON, as the page reads it. The server's own types live in
 * src/web/cluster-model.ts and src/client; these mirror them because browser code
 * shares nothing with the server side but the wire format.
 */

/** One node in one poll. */
export interface NodeSample {
  id: number;
  address: string;
  reachable: boolean;
  role: string;
  term: number;
  leaderId: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  firstIndex: number;
  version: string;
  probeMs: number;
  lag: number;
  opsPerSecond: number;
  health: "ok" | "lagging" | "no_leader" | "unhealthy" | "unreachable";
  error: string;
}

/** One poll of the cluster. */
export interface Tick {
  t: number;
  nodes: NodeSample[];
  leaderId: number;
  term: number;
  authEnabled: boolean;
}

/** A change of leader. */
export interface LeaderChange {
  t: number;
  term: number;
  leaderId: number;
}

/** What a stored file is. */
export interface FileInfo {
  size: number;
  sha256: string;
  version: number;
  modIndex: number;
  modTimeMs: number;
  chunks: number;
}

/** One listing entry: a file (with info) or a directory (name ends in '/'). */
export interface ListedEntry {
  name: string;
  isDir: boolean;
  info?: FileInfo;
}

/** GET /api/session. */
export interface SessionInfo {
  authEnabled: boolean | null;
  user: string | null;
}
