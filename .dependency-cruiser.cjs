/**
 * The layer rules of dfs, checked by `npm run lint` (dependency-cruiser). A break fails
 * the lint and so CI. The table is the one in docs/architecture.md#layers: arrows point
 * down only, and a layer is entered only through its `index.ts`.
 *
 * To add a folder under src/, add it to LAYERS with what it may import: an unknown folder
 * that imports anything of ours is an error, and so is importing one (no layer lists it);
 * a file directly in src/ other than index.ts is an error too, so nothing slips in
 * unchecked.
 */

/**
 * Each folder under src/ and the folders of ours it may import (besides itself).
 * Node built-ins and npm packages are not restricted here.
 */
const LAYERS = {
  api: [], // shared rules: error kinds, key and size rules, limits, startup errors
  gen: [], // generated protobuf code (scripts/codegen.sh); imports nothing of ours
  raft: [], // the pure consensus core
  wire: ["api", "gen"], // protobuf and gRPC helpers shared by fsm, transport, server, client
  storage: ["raft", "api"],
  fsm: ["raft", "storage", "api", "gen", "wire"],
  transport: ["raft", "api", "gen", "wire"],
  client: ["api", "gen", "wire"],
  verify: ["api", "client"],
  loadgen: ["api", "client"], // the closed-loop load generator of `dfs bench` and bench/
  cluster: ["api", "client"], // local process clusters: spawns `dfs server`, never imports it
  server: ["api", "gen", "raft", "wire", "storage", "fsm", "transport"],
  web: ["api", "client"], // the web console's backend: talks to the cluster as a client
  s3: ["api", "client"], // the S3 gateway: translates S3 into client calls
  cli: ["api", "gen", "client", "server", "cluster", "verify", "loadgen", "web", "s3"],
};

const names = Object.keys(LAYERS);
const anyOf = (list) => `(${list.join("|")})`;

/** One rule per layer: it may import only itself and the layers listed for it. */
const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => ({
  name: `layer-${layer}`,
  comment:
    allowed.length === 0
      ? `src/${layer}/ imports nothing else of ours (docs/architecture.md#layers)`
      : `src/${layer}/ may import only ${allowed.join(", ")} (docs/architecture.md#layers)`,
  severity: "error",
  from: { path: `^src/${layer}/` },
  to: { path: "^src/", pathNot: `^src/${anyOf([layer, ...allowed])}/` },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "layer-unknown",
      comment:
        "every folder under src/ is a layer listed in .dependency-cruiser.cjs, so its " +
        "imports are checked; add new folders there",
      severity: "error",
      from: { path: "^src/[^/]+/", pathNot: `^src/${anyOf(names)}/` },
      to: { path: "^src/" },
    },
    {
      name: "package-surface",
      comment: "src/index.ts (the package's surface) exports the client and server layers only",
      severity: "error",
      from: { path: "^src/index\\.ts$" },
      to: { path: "^src/", pathNot: "^src/(client|server)/index\\.ts$" },
    },
    {
      name: "web-ui-browser-only",
      comment:
        "src/web/ui/ is the console's browser code, bundled apart from the server: it imports " +
        "only its own files and npm packages, never node-side code",
      severity: "error",
      from: { path: "^src/web/ui/" },
      to: { path: "^src/", pathNot: "^src/web/ui/" },
    },
    {
      name: "scripts-use-cli",
      comment: "scripts/ are thin wrappers over the dfs command: they import src/cli only",
      severity: "error",
      from: { path: "^scripts/" },
      to: { path: "^(src|test|bench)/", pathNot: "^src/cli/" },
    },
    {
      name: "through-index",
      comment:
        "another layer is imported only through its index.ts, so the files behind it can " +
        "change freely (src/gen/ is generated code and exempt: one module per .proto)",
      severity: "error",
      from: { path: "^(src/[^/]+)/" },
      to: {
        path: "^src/[^/]+/",
        pathNot: ["^$1/", "^src/[^/]+/index\\.ts$", "^src/gen/"],
      },
    },
    {
      name: "scripts-through-index",
      comment: "scripts/ import the dfs command only through src/cli/index.ts",
      severity: "error",
      from: { path: "^scripts/" },
      to: { path: "^src/[^/]+/", pathNot: "^src/[^/]+/index\\.ts$" },
    },
    {
      name: "no-loose-src-files",
      comment: "every file under src/ belongs to a layer folder; src/index.ts is the one exception",
      severity: "error",
      from: { path: "^src/[^/]+$", pathNot: "^src/index\\.ts$" },
      to: {},
    },
    {
      name: "no-loose-src-orphans",
      comment: "a file directly in src/ that imports nothing is still outside every layer",
      severity: "error",
      from: { orphan: true, path: "^src/[^/]+$", pathNot: "^src/index\\.ts$" },
      to: {},
    },
    {
      name: "raft-testing-only",
      comment: "src/raft/testing.ts opens the sealed core for tests; no shipped file may import it",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/raft/testing\\.ts$" },
      to: { path: "^src/raft/testing\\.ts$" },
    },
    {
      name: "bin-standalone",
      comment:
        "bin/ launchers load the compiled dist/ at run time; they import no sources, tests or benchmarks",
      severity: "error",
      from: { path: "^bin/" },
      to: { path: "^(src|test|bench|scripts)/" },
    },
    {
      name: "src-not-harness",
      comment:
        "shipped code never imports the test or benchmark harness (the dfs command must " +
        "not depend on bench/)",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
    {
      name: "test-not-bench",
      comment:
        "tests do not depend on the benchmark harness (tests of the harness live in bench/test/)",
      severity: "error",
      from: { path: "^test/" },
      to: { path: "^bench/" },
    },
    {
      name: "no-circular",
      comment: "no import cycles: each cycle is a pair of files that cannot be understood apart",
      severity: "error",
      from: { path: "^(src|test|bench|scripts|bin)/" },
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "every import resolves (a typo or a moved file)",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // type-only imports count: a layer's types are part of what it depends on
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(bench/results|node_modules|dist)/" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".d.ts"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
