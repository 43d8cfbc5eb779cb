#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Count results of every suite run by tests/run-all.sh: meson's testlog.json
# files and pytest's JUnit XML files. Prints failures, then "N passed, N failed".
import json
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

results = pathlib.Path(sys.argv[1])
failed_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 0
passed = failed = skipped = 0
failures = []

for f in sorted(results.glob("*-unit.json")):
    for line in f.read_text().splitlines():
        if not line.strip():
            continue
        t = json.loads(line)
        out = (t.get("stdout") or "") + (t.get("stderr") or "")
        # Count cmocka's individual tests: "[==========] N test(s) run."
        run = re.search(r"\[=+\] (\d+) test\(s\) run", out)
        if run:
            total = int(run.group(1))
            bad = 0
            if t.get("result") != "OK":
                bad = max(len(re.findall(r"^\[  (?:FAILED|ERROR) +\] \w", out, re.M)), 1)
                failures.append(f"{f.stem}: {t.get('name')} ({t.get('result')})")
            passed += max(total - bad, 0)
            failed += bad
        elif t.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif t.get("result") == "SKIP":
            skipped += 1
        else:
            failed += 1
            failures.append(f"{f.stem}: {t.get('name')} ({t.get('result')})")

for f in sorted(results.glob("*-integration.xml")):
    root = ET.parse(f).getroot()
    for case in root.iter("testcase"):
        name = f"{f.stem}: {case.get('classname')}.{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            failures.append(name)
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1

expected = {"release-unit.json", "release-integration.xml", "asan-unit.json",
            "asan-integration.xml", "container-integration.xml", "fuzz-integration.xml",
            "format-integration.xml"}
missing = sorted(expected - {p.name for p in results.iterdir()})
for m in missing:
    failures.append(f"no results from {m} (the step did not run)")
failed += len(missing) + failed_steps

print()
for f in failures:
    print("FAILED", f)
if skipped:
    print(f"{skipped} skipped")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
