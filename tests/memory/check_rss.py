#!/usr/bin/python3
"""Memory must not grow with the file: hash and validate a 512 MiB artifact
(a plain file, and a stored zip member inside a serialzy stream) and check
the CLI's peak RSS stays under a fixed bound.

Usage: check_rss.py CLI WORKDIR
"""
import hashlib
import json
import os
import resource
import subprocess
import sys
import zipfile

SIZE = 512 << 20
LIMIT_KB = 64 << 10  # 64 MiB, an eighth of the file


def peak_rss_kb(cmd):
    """Runs cmd in a child; returns (exit code, stdout, its max RSS in KiB)."""
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.path.join(workdir, "out.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.execv(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    out = open(os.path.join(workdir, "out.txt")).read()
    return os.waitstatus_to_exitcode(status), out, usage.ru_maxrss


def main():
    global workdir
    cli, workdir = sys.argv[1], sys.argv[2]
    os.makedirs(workdir, exist_ok=True)
    passed = failed = 0
    big = os.path.join(workdir, "big.bin")
    with open(big, "wb") as f:
        block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB, not sparse
        for _ in range(SIZE >> 20):
            f.write(block)
    want = hashlib.sha256(open(big, "rb").read()).hexdigest()

    framed = os.path.join(workdir, "big.serialzy")
    zpath = os.path.join(workdir, "inner.zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as z:
        z.write(big, "archive/data/0")
    header = json.dumps({"data_format": "pt", "schema_format": "serialzy_python_type_reference",
                         "schema_content": json.dumps({"module": "torch.nn", "name": "Module"}),
                         "meta": {"torch": "1.13.1"}}).encode()
    with open(framed, "wb") as out, open(zpath, "rb") as z:
        out.write(b"serialzy" + len(header).to_bytes(8, "little") + header)
        while chunk := z.read(1 << 20):
            out.write(chunk)
    os.unlink(zpath)

    checks = [
        ("inspect --hash of a 512 MiB file", [cli, "inspect", "--json", "--hash", big]),
        ("validate (CRC-32 over a 512 MiB stored member)", [cli, "validate", "--json", framed]),
    ]
    for name, cmd in checks:
        code, out, rss = peak_rss_kb(cmd)
        ok = code in (0, 1) and rss < LIMIT_KB
        if "inspect" in cmd:
            ok = ok and json.loads(out).get("sha256") == want
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {code}, peak RSS {rss // 1024} MiB (limit {LIMIT_KB // 1024})")
        passed += ok
        failed += not ok
    for p in (big, framed):
        os.unlink(p)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
