/**
 * `node --import ./test/sim/plants/register.mjs --import tsx …` with DFS_PLANT=NAME plants
 * that bug (registry.mjs) in the sources this process loads. It must come before tsx's
 * --import: hooks registered earlier run later in the chain, so tsx's load hook hands this
 * one's patched source to its compiler. It registers the same kind of hooks tsx will
 * (in-thread `registerHooks` or off-thread `register`, see hooks.mjs), since the two kinds
 * do not chain into each other. test/sim/run.ts builds this command line itself
 * (`npm run sim -- --plant NAME`). Without DFS_PLANT it does nothing.
 */
import module from "node:module";
import { MessageChannel } from "node:worker_threads";
import { patchLoaded, tsxHooksInThread } from "./hooks.mjs";
import { plantNamed } from "./registry.mjs";

const name = process.env.DFS_PLANT;
if (name) {
  const plant = plantNamed(name); // an unknown name fails here, before anything loads
  /** Files of the plant that were patched so far (read by plantStatus() in index.ts). */
  const patched = new Set();
  globalThis.__dfsPlant = { name, patched };
  if (typeof module.registerHooks === "function" && tsxHooksInThread()) {
    module.registerHooks({
      load: (url, context, nextLoad) =>
        patchLoaded(plant, url, nextLoad(url, context), (file) => patched.add(file)),
    });
  } else {
    const { port1, port2 } = new MessageChannel();
    port1.on("message", (m) => patched.add(m.patched));
    port1.unref();
    module.register("./hooks.mjs", import.meta.url, {
      data: { plant: name, port: port2 },
      transferList: [port2],
    });
  }
}
