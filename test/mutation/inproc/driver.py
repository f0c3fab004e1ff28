#!/usr/bin/env python3
"""In-process mutation run (README.md), for a machine too loaded for `stryker run`:

    python3 test/mutation/inproc/driver.py NAME --mutate src/A.ts,src/B.ts TEST.ts...
    python3 test/mutation/inproc/driver.py NAME --inst DIR TEST.ts...   # reuse steps 1-2

1. instrument.mjs: Stryker's instrumenter makes the mutants (into DIR, a temporary
   directory unless --inst names one that already holds mutants.json);
2. typecheck.mjs: marks those that do not compile (CompileError, as Stryker's checker);
3. run.mjs in a scratch copy of src/ and test/ with the instrumented files over the
   originals: every test file loaded once, each mutant run against the tests that reach
   it. A watchdog turns 90 s without an answer into a Timeout for that mutant and resumes
   with the rest in a new process.

Writes reports/mutation/NAME.json in Stryker's report format (1-based positions, the
failing test in killedBy) for test/mutation/summarize.ts and recheck-survivors.py.
Run from the repository root."""
import json, os, select, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scratch_tree import make_scratch  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
root = os.getcwd()
args = sys.argv[1:]
name = args.pop(0)
inst = None
mutate = None
if args[0] == "--inst":
    inst = args[1]
    args = args[2:]
if args and args[0] == "--mutate":
    mutate = args[1].split(",")
    args = args[2:]
tests = args
if inst is None:
    inst = tempfile.mkdtemp(prefix="inproc-inst-")
if not os.path.exists(f"{inst}/mutants.json"):
    subprocess.run(["node", f"{here}/instrument.mjs", inst, *mutate], check=True)
    subprocess.run(["node", f"{here}/typecheck.mjs", f"{inst}/mutants.json"], check=True)
mutants = json.load(open(f"{inst}/mutants.json"))

scratch = make_scratch(root, "inproc-run-")
files = sorted({m["fileName"] for m in mutants})
for f in files:
    shutil.copy(f"{inst}/{f}", f"{scratch}/{f}")

status = {m["id"]: ("CompileError", "") for m in mutants if not m.get("compiles", True)}
todo = [m["id"] for m in mutants if m["id"] not in status]
t0 = time.time()
while todo:
    open(f"{scratch}/ids.txt", "w").write("\n".join(todo) + "\n")
    p = subprocess.Popen(["node", "--import", "tsx", "--import", f"{here}/register.mjs",
                          f"{here}/run.mjs", "ids.txt", *tests],
                         cwd=scratch, stdout=subprocess.PIPE, text=True, bufsize=1)
    last = time.time()
    answered = False
    while True:
        ready, _, _ = select.select([p.stdout], [], [], 5)
        if ready:
            line = p.stdout.readline()
            if not line:
                break
            mid, st, by = line.rstrip("\n").split("\t")
            status[mid] = (st, by)
            todo.remove(mid)
            answered = True
            last = time.time()
            print(line, end="", flush=True)
        elif time.time() - last > (90 if answered else 600):
            # the dry run is allowed 10 minutes; after it, 90 s per mutant
            p.kill()
            mid = todo.pop(0)
            status[mid] = ("Timeout", "(watchdog: no answer for 90 s)")
            print(f"{mid}\tTimeout\t(watchdog)", flush=True)
            break
    p.wait()
    # 3: run.mjs stopped after a hung test (its mutant reported) to go on afresh
    if p.returncode not in (0, 3, -9) and todo:
        sys.exit(f"runner failed with exit code {p.returncode}")
print(f"# {len(mutants)} mutants, {time.time() - t0:.0f} s", flush=True)

report = {"schemaVersion": "1.0", "thresholds": {"high": 90, "low": 80}, "files": {}}
for f in files:
    ms = []
    for m in (m for m in mutants if m["fileName"] == f):
        st, by = status[m["id"]]
        pos = lambda p: {"line": p["line"] + 1, "column": p["column"] + 1}
        ms.append({"id": m["id"], "mutatorName": m["mutatorName"], "replacement": m["replacement"],
                   "location": {"start": pos(m["location"]["start"]), "end": pos(m["location"]["end"])},
                   "status": st, "killedBy": [by] if by else []})
    report["files"][f] = {"language": "typescript", "source": open(f"{root}/{f}").read(), "mutants": ms}
os.makedirs(f"{root}/reports/mutation", exist_ok=True)
json.dump(report, open(f"{root}/reports/mutation/{name}.json", "w"))
shutil.rmtree(scratch)
