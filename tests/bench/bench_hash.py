#!/usr/bin/python3
"""Hashing and checksum benchmark, the reference tools side by side.

    bench_hash.py CLI [SIZE_MIB]

Times, on one file in the page cache (best of 3):
  modelstore inspect --hash   vs  sha256sum, openssl dgst -sha256, Python hashlib
  modelstore validate (zip CRC-32 of a stored member)  vs  Python zipfile.testzip()
and prints each tool's time and its ratio to modelstore's.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile


def best_of(n, fn):
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(cmd):
    return lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def hashlib_file(path):
    def go():
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        return h.hexdigest()
    return go


def report(title, rows):
    base = rows[0][1]
    print(f"\n{title}")
    for name, secs, size in rows:
        print(f"  {name:<34} {secs * 1000:8.1f} ms  {size / secs / 1e9:6.2f} GB/s  x{secs / base:5.2f}")


def main():
    cli = sys.argv[1]
    size = int(sys.argv[2]) << 20 if len(sys.argv) > 2 else 1 << 30
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "blob.bin")
        block = os.urandom(1 << 20)
        with open(path, "wb") as f:
            for _ in range(size >> 20):
                f.write(block)
        run(["cat", path])()  # warm the page cache
        rows = [(name, best_of(3, fn), size) for name, fn in [
            ("modelstore inspect --hash", run([cli, "inspect", "--json", "--hash", path])),
            ("sha256sum", run(["sha256sum", path])),
            ("openssl dgst -sha256", run(["openssl", "dgst", "-sha256", path])),
            ("python hashlib.sha256", hashlib_file(path)),
        ]]
        report(f"SHA-256 of {size >> 20} MiB (ratio = time / modelstore's)", rows)

        zpath = os.path.join(d, "blob.zip")
        with zipfile.ZipFile(zpath, "w", zipfile.ZIP_STORED) as z:
            z.write(path, "archive/data/0")
        os.unlink(path)
        run(["cat", zpath])()

        def testzip():
            with zipfile.ZipFile(zpath) as z:
                assert z.testzip() is None
        rows = [(name, best_of(3, fn), size) for name, fn in [
            ("modelstore validate (CRC-32)", run([cli, "validate", "--json", zpath])),
            ("python zipfile.testzip()", testzip),
        ]]
        report(f"Zip CRC-32 check of a {size >> 20} MiB stored member", rows)


if __name__ == "__main__":
    main()
