#!/usr/bin/env python3
"""Re-checks the survivors of one file in a Stryker report against given test files,
without a Stryker run (docs/mutation/raft-rest.md, "How after was checked"):

    python3 test/mutation/recheck-survivors.py REPORT.json src/FILE.ts TEST.ts...

Each mutant the report lists as Survived or NoCoverage (pass --timeouts to take its
Timeouts instead) is applied, as Stryker recorded it (its replacement at its location),
to a scratch copy of the worktree, and the tests are run there with node --test: a
mutant is killed when they fail, and the first failing test is named. Only mutants the
TypeScript checker let through are in those states, so none fails to compile. Writes
reports/mutation/recheck-NAME[-timeouts].json (the report with the new statuses, this file only)
for test/mutation/summarize.ts to combine with the report. Run from the repository root;
it is slower per mutant than Stryker but needs no instrumented sandbox or dry run.
"""
import json, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "."))
from scratch_tree import make_scratch  # noqa: E402

args = [a for a in sys.argv[1:] if a != "--timeouts"]
wanted = ("Timeout",) if "--timeouts" in sys.argv else ("Survived", "NoCoverage")
report, src_file, *tests = args
root = os.getcwd()
scratch = make_scratch(root, "recheck-")

orig = open(f"{root}/{src_file}").read()
starts = [0]
for line in orig.split("\n"):
    starts.append(starts[-1] + len(line) + 1)


def offset(p):
    """Stryker positions are 1-based line and column."""
    return starts[p["line"] - 1] + p["column"] - 1


def run():
    try:
        r = subprocess.run(["node", "--import", "tsx", "--test", *tests], cwd=scratch,
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return "Timeout"
    if r.returncode == 0:
        return "Survived"
    fails = [l.strip() for l in r.stdout.split("\n") if l.strip().startswith("not ok") and " - " in l]
    return "Killed" + (" by " + fails[0].split(" - ", 1)[1] if fails else " (no test named)")


assert run() == "Survived", "the tests fail on the unmutated source"
data = json.load(open(report))
mutants = data["files"][src_file]["mutants"]
for m in mutants:
    if m["status"] not in wanted:
        continue
    a, b = offset(m["location"]["start"]), offset(m["location"]["end"])
    open(f"{scratch}/{src_file}", "w").write(orig[:a] + m.get("replacement", "") + orig[b:])
    status = run()
    m["status"] = "Killed" if status.startswith("Killed") else status
    print(f'{status}\t{src_file}:{m["location"]["start"]["line"]}\t{m["mutatorName"]}\t'
          f'{orig[a:b][:60]!r} -> {m.get("replacement", "")[:60]!r}', flush=True)
shutil.rmtree(scratch)
data["files"] = {src_file: data["files"][src_file]}
name = os.path.basename(src_file).removesuffix(".ts") + ("-timeouts" if "--timeouts" in sys.argv else "")
json.dump(data, open(f"{root}/reports/mutation/recheck-{name}.json", "w"))
