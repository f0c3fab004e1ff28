/**
 * Local clusters of real `dfs server` processes: what tests, chaos runs, benchmarks and
 * `dfs dev` start. Other layers import from here.
 */

/** Certificate file names and TLS flags: `dfs certs init` writes this layout, clusters use it. */
export { CERT_FILES, clientTlsArgs, nodeTlsArgs, readClientTls } from "./cert-files.ts";
/** What a node runs: the sources through tsx (tests), or this very process's entry (`dfs dev`). */
export { parentEntry, REPO_ROOT, type ServerEntry, sourceEntry } from "./entry.ts";
/** The cluster itself: every caller's one way to start and drive nodes. */
export { type ClusterOptions, LocalCluster } from "./local-cluster.ts";
/** Free ports, for the few tests that start a lone server or a fake one beside a cluster. */
export { freePorts } from "./ports.ts";
/** One node slot, the type callers hold; `killAllSync` for exit handlers of long runs. */
export {
  type CommandLine,
  killAllSync,
  type OutputStream,
  type ProcessState,
  ServerProcess,
} from "./server-process.ts";
/** Polling with a deadline, the one way tests wait for a cluster (never a bare sleep). */
export { StopWaiting, waitFor } from "./wait.ts";
