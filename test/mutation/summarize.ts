/**
 * `npx tsx test/mutation/summarize.ts REPORT.json...`: the per-file and per-folder scores
 * and the surviving mutants of one or more Stryker JSON reports (reports/mutation/*.json),
 * as the Markdown that docs/mutation.md quotes. Reports of the same file are combined
 * mutant by mutant, and a mutant counts as detected if any run detected it: a full run and
 * a run of only the new tests (`npm run mutate -- --mutate FILE --testFiles NEW`) give
 * the score of the full test set with the new tests in it.
 *
 * Score as Stryker counts it: detected (killed + timeout) over detected + undetected
 * (survived + no coverage); mutants that do not compile or crash the runner do not count.
 */
import { readFileSync } from "node:fs";
import { dirname } from "node:path";

interface Position {
  readonly line: number;
  readonly column: number;
}
interface Mutant {
  readonly id: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly location: { readonly start: Position; readonly end: Position };
  readonly status: string;
}
interface FileResult {
  readonly source: string;
  readonly mutants: readonly Mutant[];
}
interface Report {
  readonly files: Record<string, FileResult>;
}

interface Tally {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  invalid: number;
  ignored: number;
}

const empty = (): Tally => ({
  killed: 0,
  timeout: 0,
  survived: 0,
  noCoverage: 0,
  invalid: 0,
  ignored: 0,
});

function add(t: Tally, status: string): void {
  if (status === "Killed") t.killed++;
  else if (status === "Timeout") t.timeout++;
  else if (status === "Survived") t.survived++;
  else if (status === "NoCoverage") t.noCoverage++;
  else if (status === "Ignored") t.ignored++;
  else t.invalid++; // CompileError, RuntimeError
}

function score(t: Tally): string {
  const detected = t.killed + t.timeout;
  const valid = detected + t.survived + t.noCoverage;
  return valid === 0 ? "n/a" : `${((100 * detected) / valid).toFixed(1)} %`;
}

function row(name: string, t: Tally): string {
  const valid = t.killed + t.timeout + t.survived + t.noCoverage;
  return `| ${name} | ${score(t)} | ${valid} | ${t.killed} | ${t.timeout} | ${t.survived} | ${t.noCoverage} | ${t.invalid} |`;
}

/** How strongly a status speaks for the mutant: detected beats survived beats uncovered. */
function rank(status: string): number {
  if (status === "Killed" || status === "Timeout") return 3;
  if (status === "Survived") return 2;
  if (status === "NoCoverage") return 1;
  return 0;
}

const key = (m: Mutant): string =>
  `${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column} ${m.mutatorName} ${m.replacement ?? ""}`;

const files = new Map<string, FileResult>();
for (const path of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(path, "utf8")) as Report;
  for (const [name, result] of Object.entries(report.files)) {
    const seen = files.get(name);
    if (seen === undefined) {
      files.set(name, result);
      continue;
    }
    const byKey = new Map(result.mutants.map((m) => [key(m), m]));
    const mutants = seen.mutants.map((m) => {
      const other = byKey.get(key(m));
      return other !== undefined && rank(other.status) > rank(m.status) ? other : m;
    });
    files.set(name, { source: seen.source, mutants });
  }
}

const byFolder = new Map<string, Tally>();
const lines: string[] = [
  "| file | score | valid | killed | timeout | survived | no coverage | invalid |",
  "|---|---|---|---|---|---|---|---|",
];
const survivors: string[] = [];
for (const name of [...files.keys()].sort()) {
  const result = files.get(name) as FileResult;
  const t = empty();
  for (const m of result.mutants) {
    add(t, m.status);
    if (m.status === "Survived" || m.status === "NoCoverage") {
      const src = result.source.split("\n");
      const { start, end } = m.location;
      const original =
        start.line === end.line
          ? (src[start.line - 1] ?? "").slice(start.column - 1, end.column - 1)
          : `${(src[start.line - 1] ?? "").slice(start.column - 1)} …`;
      const replacement = (m.replacement ?? "").replace(/\s+/g, " ").slice(0, 80);
      survivors.push(
        `- \`${name}:${start.line}\` ${m.mutatorName}${m.status === "NoCoverage" ? " (no coverage)" : ""}: \`${original.replace(/\s+/g, " ").slice(0, 80)}\` → \`${replacement}\``,
      );
    }
  }
  lines.push(row(name, t));
  const folder = dirname(name);
  const ft = byFolder.get(folder) ?? empty();
  for (const k of Object.keys(t) as (keyof Tally)[]) ft[k] += t[k];
  byFolder.set(folder, ft);
}

console.log("### Per folder\n");
console.log(lines[0]?.replace("file", "folder"));
console.log(lines[1]);
for (const [folder, t] of [...byFolder].sort()) console.log(row(folder, t));
console.log("\n### Per file\n");
console.log(lines.join("\n"));
console.log(`\n### Survivors (${survivors.length})\n`);
console.log(survivors.join("\n"));
