#!/usr/bin/env -S node --initial-old-space-size=256
// Launcher of the `dfs` command (`npx dfs ...`, or `dfs` after `npm install -g .`).
// The CLI is TypeScript run through tsx, so there is no build step: register tsx's
// loader in this process, then load the entry point, which runs and exits. The shebang
// passes SERVER_NODE_FLAGS (src/api/node-flags.ts) so `dfs server` runs as tuned.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
