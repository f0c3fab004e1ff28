#!/usr/bin/env -S node --initial-old-space-size=256 --max-semi-space-size=4
// Launcher of the `dfs` command (`npx dfs ...`, or `dfs` after installing the package):
// runs the compiled CLI in dist/ (`npm run build`; the dev loop runs src/ through tsx,
// see package.json). The shebang passes SERVER_NODE_FLAGS (src/api/node-flags.ts) so
// `dfs server` runs as tuned. Node's compile cache (Node >= 22.1) keeps V8's compiled
// code between runs, which shortens every later start.
import module from "node:module";
import { compiled } from "./compiled.mjs";

module.enableCompileCache?.();
await import(compiled("cli/main.js"));
