/**
 * The web console (docs/console.md): a live view of the cluster and a file browser, served
 * on a node's HTTP listener. The CLI mounts it; tests mount it on their own server.
 */

/** What the live view shows per poll, exported for tests and tools reading /api/cluster. */
export type { LeaderChange, NodeSample, Tick } from "./cluster-model.ts";
export { createConsole, type HttpExtension, type WebConsole } from "./console.ts";
/** How the console reaches the cluster and its bounds. */
export type { ConsoleOptions } from "./context.ts";
