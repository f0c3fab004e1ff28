/**
 * Local clusters of real `dfs server` processes: what tests, chaos runs, benchmarks and
 * `dfs dev` start. Other layers import from here.
 */

/** The certificate directory's file names: `dfs certs init` writes them, TLS tests read them. */
export { CERT_FILES } from "./cert-files.ts";
/**
 * What a node runs: the sources through tsx (tests, the default), or this very process's
 * entry (`dfs dev`, so a compiled CLI starts compiled nodes); REPO_ROOT for tests that
 * run the CLI from the checkout.
 */
export { parentEntry, REPO_ROOT, type ServerEntry, sourceEntry } from "./entry.ts";
/** The cluster itself: every caller's one way to start and drive nodes. */
export { type ClusterOptions, LocalCluster } from "./local-cluster.ts";
/** Free ports: single ones for fake servers and dead endpoints, a range for `dfs dev --base-port`. */
export { freePortRange, freePorts } from "./ports.ts";
/** One node slot (the type callers hold), and `killAllSync` for exit handlers of long runs. */
export { killAllSync, ServerProcess } from "./server-process.ts";
/** Polling with a deadline: the one way tests wait for a cluster (never a bare sleep). */
export { waitFor } from "./wait.ts";
