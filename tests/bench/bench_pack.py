#!/usr/bin/python3
"""Pack / unpack benchmark, the reference tools side by side.

    bench_pack.py CLI [SIZE_MIB]      (default 1024: a 1 GiB payload)

Times, on one payload in the page cache (best of 3, output to a tmpfs or
the same file system as the input; nothing is fsync'ed):

  modelstore pack  (hash + copy, one pass)   vs  cp; sha256sum; cp + sha256sum;
                                                 Python doing what serialzy does
                                                 (hashlib + json.dumps header + copy)
  modelstore unpack (copy + verify sha256)   vs  the same references; modelstore
                                                 unpack --no-verify (copy only)
  directory pack / unpack (a 1 GiB SavedModel-like tree of 8 files)
                                             vs  Python tarfile (make_archive) /
                                                 tarfile.extractall

and prints each tool's time, throughput and ratio to modelstore's. The
target is >= 1 GB/s for pack and unpack; SHA-256 (OpenSSL, SHA-NI) runs at
about 2 GB/s here and bounds both.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time


def best_of(n, fn, before=None):
    best = float("inf")
    for _ in range(n):
        if before:
            before()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(cmd):
    def go():
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return go


def python_serialzy_pack(src, out):
    """What serialzy + a model resource cost in Python: hash, header, copy."""
    def go():
        h = hashlib.sha256()
        with open(src, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        size = os.path.getsize(src)
        meta = json.dumps({"name": "m", "notebook": None, "variable": None, "user": None,
                           "created_at": "2024-01-01T00:00:00Z", "size": size, "sha256": h.hexdigest(),
                           "description": None, "tags": []})
        header = json.dumps({"data_format": "onnx", "schema_format": "serialzy_python_type_reference",
                             "schema_content": json.dumps({"module": "onnx.onnx_ml_pb2", "name": "ModelProto"}),
                             "meta": {"user-meta": meta}}).encode()
        with open(out, "wb") as o, open(src, "rb") as f:
            o.write(b"serialzy" + len(header).to_bytes(8, "little") + header)
            shutil.copyfileobj(f, o, 1 << 20)
    return go


def python_unpack(stream, dest):
    def go():
        with open(stream, "rb") as f:
            f.read(8)
            n = int.from_bytes(f.read(8), "little")
            json.loads(f.read(n))
            h = hashlib.sha256()
            with open(dest, "wb") as o:
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                    o.write(chunk)
    return go


def report(title, rows):
    base = rows[0][1]
    print(f"\n{title}")
    for name, secs, size in rows:
        print(f"  {name:<44} {secs * 1000:8.1f} ms  {size / secs / 1e9:6.2f} GB/s  x{secs / base:5.2f}")


def main():
    cli = sys.argv[1]
    size = int(sys.argv[2]) << 20 if len(sys.argv) > 2 else 1 << 30
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "model.onnx")
        block = os.urandom(1 << 20)
        with open(src, "wb") as f:
            for _ in range(size >> 20):
                f.write(block)
        run(["cat", src])()  # warm the page cache
        out = os.path.join(d, "out.serialzy")
        cp_out = os.path.join(d, "cp.bin")
        py_out = os.path.join(d, "py.serialzy")

        def rm(*paths):
            return lambda: [os.path.exists(p) and os.unlink(p) for p in paths]

        pack = [cli, "pack", "--format", "onnx", "--name", "m", "--created-at", "2024-01-01T00:00:00Z", src, out]
        rows = [
            ("modelstore pack (sha256 while copying)", best_of(3, run(pack), rm(out)), size),
            ("cp", best_of(3, run(["cp", src, cp_out]), rm(cp_out)), size),
            ("sha256sum", best_of(3, run(["sha256sum", src])), size),
            ("cp + sha256sum", best_of(3, lambda: (run(["cp", src, cp_out])(), run(["sha256sum", src])()),
                                       rm(cp_out)), size),
            ("python hashlib + json.dumps + copyfileobj", best_of(3, python_serialzy_pack(src, py_out),
                                                                  rm(py_out)), size),
        ]
        report(f"pack, {size >> 20} MiB payload", rows)

        subprocess.run(pack, check=True, stdout=subprocess.DEVNULL) if not os.path.exists(out) else None
        dest = os.path.join(d, "dest")
        target = os.path.join(dest, "model.onnx")
        rows = [
            ("modelstore unpack (copy + sha256 verify)", best_of(3, run([cli, "unpack", out, dest]), rm(target)),
             size),
            ("modelstore unpack --no-verify (copy only)",
             best_of(3, run([cli, "unpack", "--no-verify", out, dest]), rm(target)), size),
            ("cp", best_of(3, run(["cp", out, cp_out]), rm(cp_out)), size),
            ("python json + hashlib + copy", best_of(3, python_unpack(out, cp_out), rm(cp_out)), size),
        ]
        report(f"unpack, {size >> 20} MiB payload", rows)
        for p in (out, cp_out, py_out, target, src):
            if os.path.exists(p):
                os.unlink(p)

        # a SavedModel-like directory: 8 files
        tree = os.path.join(d, "saved")
        os.makedirs(os.path.join(tree, "variables"))
        per = size // 8
        for i in range(8):
            with open(os.path.join(tree, "variables", "variables.data-%05d-of-00008" % i), "wb") as f:
                for _ in range(per >> 20):
                    f.write(block)
        with open(os.path.join(tree, "saved_model.pb"), "wb") as f:
            f.write(b"\x08\x01" * 1000)
        run(["cat"] + [os.path.join(tree, "variables", n) for n in os.listdir(os.path.join(tree, "variables"))])()
        dout = os.path.join(d, "dir.serialzy")
        py_tar = os.path.join(d, "py")

        def py_make_archive():
            shutil.make_archive(py_tar, "tar", tree)

        dpack = [cli, "pack", "--format", "tf_pure", "--name", "m", "--created-at", "2024-01-01T00:00:00Z", tree,
                 dout]
        rows = [
            ("modelstore pack (tar + sha256, one pass)", best_of(3, run(dpack), rm(dout)), size),
            ("python shutil.make_archive (tar, no hash)", best_of(3, py_make_archive, rm(py_tar + ".tar")), size),
            ("tar -cf", best_of(3, run(["tar", "-cf", py_tar + ".tar", "-C", tree, "."]), rm(py_tar + ".tar")),
             size),
        ]
        report(f"directory pack, {size >> 20} MiB in 8 files", rows)
        if not os.path.exists(dout):
            subprocess.run(dpack, check=True, stdout=subprocess.DEVNULL)
        if not os.path.exists(py_tar + ".tar"):
            py_make_archive()
        ddest = os.path.join(d, "ddest")
        pyx = os.path.join(d, "pyx")

        def py_extract():
            with tarfile.open(py_tar + ".tar") as t:
                t.extractall(pyx)

        rows = [
            ("modelstore unpack (verify + extract)", best_of(3, run([cli, "unpack", dout, ddest]),
                                                            lambda: shutil.rmtree(ddest, True)), size),
            ("python tarfile.extractall (no hash)", best_of(3, py_extract, lambda: shutil.rmtree(pyx, True)), size),
            ("tar -xf", best_of(3, lambda: (os.makedirs(pyx, exist_ok=True),
                                            run(["tar", "-xf", py_tar + ".tar", "-C", pyx])()),
                                lambda: shutil.rmtree(pyx, True)), size),
        ]
        report(f"directory unpack, {size >> 20} MiB in 8 files", rows)


if __name__ == "__main__":
    main()
