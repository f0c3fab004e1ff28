/**
 * `node --import ./test/sim/plants/register.mjs --import tsx …` with DFS_PLANT=NAME plants
 * that bug (registry.mjs) in the sources this process loads. It must come before tsx's
 * --import: hooks registered earlier run later in the chain, so tsx's load hook hands this
 * one's patched source to its compiler. test/sim/run.ts builds this command line itself
 * (`npm run sim -- --plant NAME`). Without DFS_PLANT it does nothing.
 */
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
import { plantNamed } from "./registry.mjs";

const name = process.env.DFS_PLANT;
if (name) {
  plantNamed(name); // an unknown name fails here, before anything loads
  const { port1, port2 } = new MessageChannel();
  /** Files of the plant that were patched so far (read by plantStatus() in index.ts). */
  const patched = new Set();
  port1.on("message", (m) => patched.add(m.patched));
  port1.unref();
  globalThis.__dfsPlant = { name, patched };
  register("./hooks.mjs", import.meta.url, {
    data: { plant: name, port: port2 },
    transferList: [port2],
  });
}
