#!/usr/bin/env python3
"""Summarizes Stryker's event-recorder output, which (unlike the JSON report) is written
per mutant as it is tested, so a run stopped part-way still shows what it found
(docs/mutation/storage-wal.md, session 5):

    python3 test/mutation/summarize-events.py reports/mutation/events-NAME...

For each directory: mutants tested of those planned, the count per status, the score
over the valid ones tested (killed and timed out count as detected, as Stryker counts),
then every survivor, uncovered mutant and timeout with its location and replacement.
Enable the reporter in a config copy: reporters [..., "event-recorder"] and
eventReporter: { baseDir: "reports/mutation/events-NAME" }.
"""
import collections, glob, json, sys

for d in sys.argv[1:]:
    tested = [json.load(open(f)) for f in sorted(glob.glob(f"{d}/*-onMutantTested.json"))]
    plan = glob.glob(f"{d}/*-onMutationTestingPlanReady.json")
    planned = len(json.load(open(plan[0]))["mutantPlans"]) if plan else "?"
    count = collections.Counter(m["status"] for m in tested)
    valid = sum(n for status, n in count.items() if status not in ("CompileError", "RuntimeError", "Ignored"))
    detected = count["Killed"] + count["Timeout"]
    score = f"{100 * detected / valid:.1f} % of {valid} valid" if valid else "no valid mutant yet"
    print(f"{d}: tested {len(tested)} of {planned}, {dict(count)}, {score}")
    for m in tested:
        if m["status"] in ("Survived", "NoCoverage", "Timeout"):
            at = m["location"]["start"]
            print(f'  {m["status"]}\t{m["fileName"].split("/")[-1]}:{at["line"]}:{at["column"]}\t'
                  f'{m["mutatorName"]}\t{m.get("replacement", "")[:70]!r}')
