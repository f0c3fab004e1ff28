/**
 * Step 2 of the in-process run (README.md): marks each mutant of MUTANTS.json that does
 * not compile (`compiles: false`), as Stryker's TypeScript checker would: the mutant
 * applied to its file's text, then the diagnostics of that file and of the src files that
 * import it, under tsconfig.stryker.json with the options Stryker's checker relaxes.
 * `--only-failed` re-checks only the mutants marked as not compiling.
 *
 *   node typecheck.mjs MUTANTS.json [--only-failed]
 */
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

const [mutantsFile] = process.argv.slice(2);
const mutants = JSON.parse(fs.readFileSync(mutantsFile, "utf8"));
const cfgPath = path.resolve("tsconfig.stryker.json");
const cfg = ts.getParsedCommandLineOfConfigFile(
  cfgPath,
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => console.error(d) },
);
// Stryker's TypeScript checker turns these off (typescript-checker/tsconfig-helpers.js)
Object.assign(cfg.options, {
  allowUnreachableCode: true,
  noUnusedLocals: false,
  noUnusedParameters: false,
});
// with --only-failed, mutants already found to compile are not checked again
const onlyFailed = process.argv.includes("--only-failed");
const override = new Map();
const versions = new Map();
const host = {
  getScriptFileNames: () => cfg.fileNames,
  getScriptVersion: (f) => String(versions.get(f) ?? 0),
  getScriptSnapshot: (f) => {
    const text = override.has(f) ? override.get(f) : ts.sys.readFile(f);
    return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
  },
  getCurrentDirectory: () => process.cwd(),
  getCompilationSettings: () => cfg.options,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: (f) => (override.has(f) ? override.get(f) : ts.sys.readFile(f)),
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
};
const ls = ts.createLanguageService(host, ts.createDocumentRegistry());
const diag = (f) => ls.getSemanticDiagnostics(f).length + ls.getSyntacticDiagnostics(f).length;
const importers = (abs) => {
  const base = path.basename(abs).replace(/\.ts$/, "");
  return cfg.fileNames.filter(
    (f) =>
      f !== abs &&
      new RegExp(`from "\\./${base}\\.(ts|js)"|/${base}\\.(ts|js)"`).test(
        fs.readFileSync(f, "utf8"),
      ),
  );
};
const byFile = new Map();
for (const m of mutants)
  (byFile.get(m.fileName) ?? byFile.set(m.fileName, []).get(m.fileName)).push(m);
for (const [rel, ms] of byFile) {
  const abs = path.resolve(rel);
  const orig = fs.readFileSync(abs, "utf8");
  const starts = [0];
  for (const line of orig.split("\n")) starts.push(starts.at(-1) + line.length + 1);
  const check = [abs, ...importers(abs)];
  const base = check.map(diag);
  console.error(
    rel,
    "checked with",
    check.map((f) => path.relative(process.cwd(), f)).join(" "),
    "baseline",
    base.join(","),
  );
  let n = 0;
  for (const m of ms) {
    if (onlyFailed && m.compiles) continue;
    const a = starts[m.location.start.line] + m.location.start.column;
    const b = starts[m.location.end.line] + m.location.end.column;
    override.set(abs, orig.slice(0, a) + m.replacement + orig.slice(b));
    versions.set(abs, (versions.get(abs) ?? 0) + 1);
    const bad = check.some((f, i) => diag(f) > base[i]);
    m.compiles = !bad;
    if (++n % 25 === 0) console.error(rel, n, "/", ms.length);
  }
  override.delete(abs);
  versions.set(abs, (versions.get(abs) ?? 0) + 1);
}
fs.writeFileSync(mutantsFile, JSON.stringify(mutants, null, 1));
console.error("compile errors:", mutants.filter((m) => !m.compiles).length, "of", mutants.length);
