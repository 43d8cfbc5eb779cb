#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print hookstream's publish script (the Lua text compiled into
src/publish_ops.c as publish_script[]) on stdout, for the benchmarks that load
it into Redis by themselves (bench.sh, script-cost.sh)."""

import ast
import re
import sys


def publish_script(path):
    src = open(path, encoding="utf-8").read()
    body = re.search(r"publish_script\[\] =(.*?);\n", src, re.S)
    if body is None:
        raise SystemExit(f"{path}: no publish_script[] definition")
    text = re.sub(r"/\*.*?\*/", "", body.group(1), flags=re.S)
    return "".join(ast.literal_eval(s) for s in re.findall(r'"(?:[^"\\]|\\.)*"', text))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: publish_script.py src/publish_ops.c")
    sys.stdout.write(publish_script(sys.argv[1]))
