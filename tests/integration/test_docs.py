# SPDX-License-Identifier: MIT
"""
The operator's documentation stays complete: every configuration key (the
unit suite holds conf/hookstream.conf to the key table) has its row in the
README's configuration reference, with its environment variable and default.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _global_keys():
    keys = {}
    for line in (ROOT / "conf" / "hookstream.conf").read_text().splitlines():
        if line.startswith("["):
            break
        m = re.match(r"^([a-z_]+) = ?(.*)$", line)
        if m:
            keys[m.group(1)] = m.group(2)
    return keys


def test_every_key_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    keys = _global_keys()
    assert len(keys) >= 20, keys
    missing = []
    for key, default in keys.items():
        row = re.search(r"^\| `%s` / `HOOKSTREAM_%s` \| ([^|]*)\|" % (key, key.upper()), readme,
                        re.M)
        if row is None:
            missing.append(f"{key}: no row")
        elif default and len(default) < 40 and f"`{default}`" not in row.group(1):
            missing.append(f"{key}: default {default!r} not in {row.group(1)!r}")
    assert not missing, "README configuration reference is out of date:\n" + "\n".join(missing)


def test_every_metric_is_in_the_readme(relay):
    hs = relay()
    names = set()
    for line in hs.admin("/metrics").text.splitlines():
        m = re.match(r"# TYPE (\S+) ", line)
        if m:
            names.add(m.group(1))
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if f"`{n}" not in readme)
    assert not missing, f"metrics without a README row: {missing}"
