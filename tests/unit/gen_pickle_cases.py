#!/usr/bin/python3
"""Writes tests/unit/pickle_cases.inc: pickles that CPython writes (and a
few protocol 0/1 streams as Python 2 wrote them), each with the tree that
CPython's own pure-Python unpickler builds from the bytes when every global
is a symbol (find_class returns a stand-in, REDUCE/NEWOBJ/BUILD record what
they would do). test_pickle_vm.c renders the engine's tree the same way and
compares. Regenerate with Debian's Python:

    /usr/bin/python3 tests/unit/gen_pickle_cases.py > tests/unit/pickle_cases.inc

With `--seeds DIR` it writes the same pickles as seeds for the fuzz_pickle
target instead: one file each, behind the target's mode byte (0: default
limits; some with small limits too).
"""
import collections
import io
import os
import pickle
import struct
import sys
import types

_unset = object()


class G:
    """A global: calling it (REDUCE) or its __new__ (NEWOBJ) makes a Call."""

    def __init__(self, m, n):
        self.m, self.n = m, n
        self.__new__ = lambda cls, *a, **kw: Call(self, a, kw if kw else None)

    def __call__(self, *args):
        return Call(self, args)


class Call:
    def __init__(self, f, args, kwargs=None):
        self.f, self.args, self.kwargs = f, args, kwargs
        self.items, self.pairs, self.state = [], [], _unset

    def __call__(self, *args):
        return Call(self, args)

    def append(self, x):
        self.items.append(x)

    def extend(self, xs):
        self.items.extend(xs)

    def add(self, x):
        self.items.append(x)

    def __setitem__(self, k, v):
        self.pairs.append((k, v))

    def __setstate__(self, st):
        self.state = st


class Pid:
    def __init__(self, pid):
        self.pid = pid


class Symbolic(pickle._Unpickler):
    def find_class(self, m, n):
        return G(m, n)

    def persistent_load(self, pid):
        return Pid(pid)


def encode_long(x):
    if x == 0:
        return b""
    n = (x.bit_length() >> 3) + 1
    r = x.to_bytes(n, "little", signed=True)
    if x < 0 and n > 1 and r[-1] == 0xFF and (r[-2] & 0x80):
        r = r[:-1]
    return r


def render(v, path=()):
    if any(v is p for p in path):
        return "<cycle>"
    p = path + (v,)
    if v is None:
        return "N"
    if v is True:
        return "T"
    if v is False:
        return "F"
    if isinstance(v, int):
        return f"i:{v}" if -(2**63) <= v < 2**63 else "L:" + encode_long(v).hex()
    if isinstance(v, float):
        return "f:%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
    if isinstance(v, str):
        return "s:" + v.encode("utf-8", "surrogatepass").hex()
    if isinstance(v, bytes):
        return "b:" + v.hex()
    if isinstance(v, bytearray):
        return "ba:" + bytes(v).hex()
    if isinstance(v, tuple):
        return "(" + "".join(render(x, p) + "," for x in v) + ")"
    if isinstance(v, list):
        return "[" + "".join(render(x, p) + "," for x in v) + "]"
    if isinstance(v, (set, frozenset)):
        inner = "".join(s + "," for s in sorted(render(x, p) for x in v))
        return ("fs(" if isinstance(v, frozenset) else "set(") + inner + ")"
    if isinstance(v, dict):
        return "{" + "".join(render(k, p) + ":" + render(x, p) + "," for k, x in v.items()) + "}"
    if isinstance(v, G):
        return f"g:{v.m}.{v.n}"
    if isinstance(v, Call):
        s = "call(" + render(v.f, p) + ";" + render(v.args, p)
        if v.kwargs is not None:
            s += ";" + render(v.kwargs, p)
        s += ")"
        if v.items:
            s += "+[" + "".join(render(x, p) + "," for x in v.items) + "]"
        if v.pairs:
            s += "+{" + "".join(render(k, p) + ":" + render(x, p) + "," for k, x in v.pairs) + "}"
        if v.state is not _unset:
            s += "+state:" + render(v.state, p)
        return s
    if isinstance(v, Pid):
        return "pid(" + render(v.pid, p) + ")"
    raise TypeError(type(v))


def reference(data):
    return render(Symbolic(io.BytesIO(data), encoding="bytes").load())


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a, self.b = 1, [2]


class Reduced:
    def __reduce__(self):
        return (Point, (1, 2))


class KwNew:
    def __new__(cls, *args, **kw):
        return object.__new__(cls)

    def __getnewargs_ex__(self):
        return ((1,), {"k": 2})


# the classes live in a module of their own, as a real model's would
_mod = types.ModuleType("mod.sub")
sys.modules["mod"] = types.ModuleType("mod")
sys.modules["mod.sub"] = _mod
for _cls in (Point, Slotted, Reduced, KwNew):
    _cls.__module__ = "mod.sub"
    setattr(_mod, _cls.__name__, _cls)


def objects():
    shared = [1, 2]
    cyclic = []
    cyclic.append(cyclic)
    selfdict = {}
    selfdict["self"] = selfdict
    yield from [
        None, True, False, 0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, -(2**31), 2**31, 2**63 - 1,
        -(2**63), 2**63, -(2**63) - 1, 2**100, -(2**100) + 7, 10**50,
        1.5, -0.0, float("inf"), float("-inf"), float("nan"), 0.1, 1e300, 5e-324, 0.30000000000000004,
        "", "abc", "\n\\ \r\x00\x1a", "é€😀", "\ud800",
        b"", b"abc", bytes(range(256)), bytearray(b"xy"),
        (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], [1], list(range(30)),
        {}, {"a": 1}, {i: str(i) for i in range(20)}, set(), {1, 2, 3}, frozenset(), frozenset({"x", "y"}),
        {"nested": [{"a": (1, 2.5, b"z")}, {"b": {"c": [None, True]}}], "s": {1}},
        [shared, shared, (shared,)], cyclic, selfdict,
        collections.OrderedDict([("x", 1), ("y", [2])]), complex(1, 2), range(3, 9, 2), slice(1, 5),
        Point(1, "two"), Slotted(), Reduced(), KwNew(),
    ]


# containers longer than the pickler's batches of 1000 (APPENDS, SETITEMS)
BATCHED = [([0] * 1100, (0, 2, 4)), ({i: None for i in range(1001)}, (0, 2))]


# Protocol 0 and 1 as Python 2 wrote them: STRING, INT, LONG with L, INST,
# OBJ, PERSID, text floats and numbers in every base int() reads.
HANDWRITTEN = [
    b"(lp0\nI1\naI01\naI00\naL12345678901234567890L\naL-5L\naI-0x10\naF1.5\naF-inf\naF1e-7\na"
    b"(S'ab\\x00\\n\\\\'\np1\nS\"it's\"\np2\ntp3\na.",
    b"(dp0\nS'k'\np1\nV\\u20ac\\u005cx\\U0001F600\xe9\np2\ns.",
    b"(i__main__\nOld\np0\n(dp1\nS'a'\np2\nI1\nsb.",
    b"(c__main__\nOld\np0\nI1\nI2\no(dp1\nb.",
    b"(c__main__\nOld\no.",
    b"(i__main__\nOld\n.",
    b"ccopy_reg\n_reconstructor\np0\n(c__main__\nC\np1\nc__builtin__\nobject\np2\nNtp3\nRp4\n(dp5\nS'x'\np6\nI3\nsb.",
    b"(lp0\nI1\nag0\na.",
    b"Pstorage0\n.",
    b"I0x1f\n.", b"I0o17\n.", b"I0b101\n.", b"I1_000\n.", b"I  42 \n.", b"L0x" + b"f" * 40 + b"L\n.",
    b"L-" + b"9" * 200 + b"\n.",
    b"F  1_0.2_5 \n.", b"Fnan\n.", b"FInfinity\n.", b"F.5\n.", b"F5.\n.", b"F1E+308\n.",
    b"F2.2250738585072014e-308\n.", b"F0.1000000000000000055511151231257827\n.",
    b"\x80\x02}q\x00(K\x01K\x02u.",
    b"\x80\x04\x95\x0e\x00\x00\x00\x00\x00\x00\x00\x8c\x01a\x94\x8c\x01b\x94\x93\x94)\x81\x94.",
    b"\x80\x04\x8c\x03mod\x8c\x04name\x93)}\x8c\x01k\x4b\x01s\x92.",
    b"\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc.",
    b"\x80\x02]q\x00(K\x01K\x02e.",
    b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.",  # torch's legacy magic number
    b"\x80\x02\x8b\x09\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff.",
    b"\x80\x02\x8a\x09\x01\x00\x00\x00\x00\x00\x00\x00\x00.",
    b"\x80\x04\x8f(K\x01K\x02\x90.",
    b"\x80\x04(K\x01K\x02\x91.",
    b"\x80\x02(X\x07\x00\x00\x00storagecnumpy\nx\nX\x01\x00\x00\x000K\x01tQ.",
]


def fnv(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def c_bytes(b):
    """A C string literal: printable ASCII as is, the rest as 3-digit octal
    (never greedy, unlike \\x)."""
    parts, cur = [], ""
    for c in b:
        cur += chr(c) if 0x20 <= c < 0x7F and chr(c) not in '\\"?' else "\\%03o" % c
        if len(cur) >= 100:
            parts.append('"' + cur + '"')
            cur = ""
    if cur or not parts:
        parts.append('"' + cur + '"')
    return "\n\t  ".join(parts)


def main():
    cases = []
    for o in objects():
        for proto in range(6):
            try:
                data = pickle.dumps(o, protocol=proto)
            except TypeError:  # __slots__ without __getstate__ before protocol 2
                continue
            cases.append((f"{type(o).__name__} protocol {proto}", data))
    for o, protos in BATCHED:
        for proto in protos:
            cases.append((f"long {type(o).__name__} protocol {proto}", pickle.dumps(o, protocol=proto)))
    for i, b in enumerate(HANDWRITTEN):
        cases.append((f"handwritten {i}", b))
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        os.makedirs(sys.argv[2], exist_ok=True)
        for i, (name, data) in enumerate(cases):
            for mode in (0, 0x33) if i % 4 == 0 else (0,):  # 0x33: max_copy 8, small caps
                with open(os.path.join(sys.argv[2], f"pickle-{i:03d}-{mode:02x}"), "wb") as f:
                    f.write(bytes([mode]) + data)
        return 0
    print("/* Generated by tests/unit/gen_pickle_cases.py: do not edit. */")
    print("static const pickle_case pickle_cases[] = {")
    for name, data in cases:
        want = reference(data)
        text = '"' + want + '"' if len(want) <= 160 else "NULL"
        print(f'\t{{ "{name}", {c_bytes(data)},\n\t  {len(data)}, {text}, {len(want)}u, 0x{fnv(want):016x}ull }},')
    print("};")


if __name__ == "__main__":
    sys.exit(main())
