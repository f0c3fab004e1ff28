#!/usr/bin/env python3
"""Cross-checks an in-process run (README.md) against real processes: samples N of the
mutants it reports Killed (seeded, so a rerun draws the same), applies each to a scratch
copy of the tree and runs the test file that killed it with `node --test`. A kill the
real run does not repeat would mean state leaking between mutants in the one process.

    python3 test/mutation/inproc/crosscheck.py REPORT.json N [SEED] [--skip FILE,...]

Run from the repository root, with the sources as they were when the report was made
(positions come from the report); `--skip` leaves out files changed since."""
import json, os, random, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scratch_tree import make_scratch  # noqa: E402

args = sys.argv[1:]
skip = []
if "--skip" in args:
    i = args.index("--skip")
    skip = args[i + 1].split(",")
    del args[i : i + 2]
report, n, *rest = args
seed = int(rest[0]) if rest else 1
root = os.getcwd()
data = json.load(open(report))
killed = [(f, m) for f, d in sorted(data["files"].items()) if f not in skip
          for m in d["mutants"] if m["status"] == "Killed" and m.get("killedBy")]
sample = random.Random(seed).sample(killed, min(int(n), len(killed)))
scratch = make_scratch(root, "crosscheck-")
agree = 0
for f, m in sample:
    orig = open(f"{root}/{f}").read()
    starts = [0]
    for line in orig.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    off = lambda p: starts[p["line"] - 1] + p["column"] - 1
    a, b = off(m["location"]["start"]), off(m["location"]["end"])
    open(f"{scratch}/{f}", "w").write(orig[:a] + m.get("replacement", "") + orig[b:])
    test_file = m["killedBy"][0].split(": ", 1)[0]
    path = subprocess.run(["find", "test", "-name", test_file], cwd=root, capture_output=True,
                          text=True).stdout.split()[0]
    try:
        r = subprocess.run(["node", "--import", "tsx", "--test", path], cwd=scratch,
                           capture_output=True, text=True, timeout=120)
        status = "Survived" if r.returncode == 0 else "Killed"
    except subprocess.TimeoutExpired:
        status = "Timeout"
    open(f"{scratch}/{f}", "w").write(orig)
    agree += status != "Survived"
    print(f"{status}\t{f}:{m['location']['start']['line']}\t{m['mutatorName']}\t{path}", flush=True)
shutil.rmtree(scratch)
print(f"# {agree} of {len(sample)} in-process kills repeated in real processes")
