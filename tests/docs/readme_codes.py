#!/usr/bin/python3
"""Keeps the README's table of finding codes equal to the library's own.

    readme_codes.py CLI README          check (a meson test)
    readme_codes.py CLI README --write  regenerate the table
"""
import json
import re
import subprocess
import sys

BEGIN, END = "<!-- codes:begin -->", "<!-- codes:end -->"


def table(cli):
    codes = json.loads(subprocess.run([cli, "codes", "--json"], check=True, capture_output=True).stdout)
    rows = ["| code | severity | meaning |", "|---|---|---|"]
    for c in codes:
        meaning = c["meaning"].replace("|", "\\|")
        rows.append(f"| `{c['code']}` | {c['severity']} | {meaning} |")
    return "\n".join(rows)


def main():
    cli, readme = sys.argv[1], sys.argv[2]
    text = open(readme, encoding="utf-8").read()
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.S)
    if not m:
        print("README has no codes block")
        print("0 passed, 1 failed")
        return 1
    want = table(cli) + "\n"
    if "--write" in sys.argv:
        text = text[: m.start(1)] + want + text[m.end(1):]
        open(readme, "w", encoding="utf-8").write(text)
        return 0
    if m.group(1) != want:
        print("README's finding-code table differs from `modelstore codes`; run:")
        print(f"  {sys.argv[0]} {cli} {readme} --write")
        print("0 passed, 1 failed")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
