#!/usr/bin/python3
"""Writes onnx_schemas.inc, the operator-schema table of onnx_schema.c.

    /usr/bin/python3 lib/formats/onnx/gen_schemas.py lib/formats/onnx/onnx_schemas.inc
    /usr/bin/python3 lib/formats/onnx/gen_schemas.py --check lib/formats/onnx/onnx_schemas.inc

The table holds every version of every operator schema that the installed
onnx registers (onnx.defs.get_all_schemas_with_history()) in its built-in
domains, plus the newest opset version of each domain, so the library can do
onnx.checker's check_node + OpSchema::Verify without onnx.

Three things Verify uses are not exposed by onnx's Python API, so they are
measured by running onnx.checker.check_node on probe nodes built here:
  * the allowed input/output counts of OpSchema::NumInputs/NumOutputs(set)
    (BatchNormalization's outputs: {1, 5}, later {1, 3});
  * AllowUncheckedAttributes() (LayerNormalization-17);
  * the checker's hard-coded list of experimental operators (checker.cc
    experimental_ops), which is not a schema property: the list below is
    onnx 1.12's, and each name is confirmed by a probe.

--check exits 1 when the file differs from what this onnx would write (the
table cannot silently drift from Debian's onnx), 77 (a skipped meson test)
when onnx cannot be imported, unless $CI is set, where that is a failure.
"""
import os
import sys

# onnx/checker.cc `experimental_ops` (onnx 1.12): check_node warns and skips
# every other check for these op_types, whatever their domain.
CHECKER_EXPERIMENTAL_OPS = [
    "ATen", "Affine", "ConstantFill", "Crop", "DynamicSlice", "GRUUnit",
    "GivenTensorFill", "ImageScaler", "ParametricSoftplus", "Scale", "ScaledTanh",
]

UNBOUNDED = 255  # a variadic count (onnx: INT_MAX) in the table's uint8_t
OPTION_CODES = {"Single": 0, "Optional": 1, "Variadic": 2}
OPTION_NAMES = ["MSI_ONNX_SINGLE", "MSI_ONNX_OPTIONAL", "MSI_ONNX_VARIADIC"]
FLAG_DEPRECATED, FLAG_EXPERIMENTAL, FLAG_UNCHECKED_ATTRS = 1, 2, 4
MASK_BITS = 16  # allowed-count sets are stored as a uint16_t bit mask
PROBE_EXTRA = 8  # counts probed past the minimum of a variadic parameter


def import_onnx():
    try:
        import onnx  # noqa: F401
        import onnx.checker  # noqa: F401
        import onnx.defs  # noqa: F401
        import onnx.helper  # noqa: F401
    except ImportError as e:
        return None, e
    return sys.modules["onnx"], None


def option_name(param):
    return str(param.option).rsplit(".", 1)[-1]


def domain_versions(onnx):
    """{domain: newest opset} for every domain onnx registers."""
    versions = {}
    version_map = getattr(onnx.defs.C, "schema_version_map", None)
    if version_map is not None:
        for dom, (_, hi) in version_map().items():
            versions[dom] = hi
    for s in onnx.defs.get_all_schemas_with_history():
        versions[s.domain] = max(versions.get(s.domain, 0), s.since_version)
    default = onnx.defs.onnx_opset_version()
    if versions.get("", default) != default:
        raise SystemExit(f"schema_version_map says ai.onnx {versions['']}, "
                         f"onnx_opset_version() {default}")
    versions[""] = default
    return versions


# ---- probe nodes for onnx.checker.check_node ------------------------------

def attr_value(onnx, atype):
    """A valid value of AttributeProto type `atype` (for make_attribute)."""
    helper, T = onnx.helper, onnx.TensorProto
    A = onnx.AttributeProto
    if atype == A.FLOAT:
        return 1.0
    if atype == A.INT:
        return 1
    if atype == A.STRING:
        return b"a"
    if atype == A.TENSOR:
        return helper.make_tensor("t", T.FLOAT, [1], [1.0])
    if atype == A.GRAPH:
        return helper.make_graph([], "g", [], [])
    if atype == A.SPARSE_TENSOR:
        return helper.make_sparse_tensor(helper.make_tensor("v", T.FLOAT, [1], [1.0]),
                                         helper.make_tensor("i", T.INT64, [1], [0]), [2])
    if atype == A.TYPE_PROTO:
        return helper.make_tensor_type_proto(T.FLOAT, [1])
    if atype == A.FLOATS:
        return [1.0]
    if atype == A.INTS:
        return [1]
    if atype == A.STRINGS:
        return [b"a"]
    if atype == A.TENSORS:
        return [helper.make_tensor("t", T.FLOAT, [1], [1.0])]
    if atype == A.GRAPHS:
        return [helper.make_graph([], "g", [], [])]
    if atype == A.TYPE_PROTOS:
        return [helper.make_tensor_type_proto(T.FLOAT, [1])]
    raise ValueError(f"no probe value for attribute type {atype}")


def make_attr(onnx, name, atype):
    a = onnx.helper.make_attribute(name, attr_value(onnx, atype))
    if a.type != atype:  # make_attribute infers the type from the value
        raise ValueError(f"make_attribute gave type {a.type} for {atype}")
    return a


def checker_context(onnx, domain, opset, ir_version=8):
    ctx = onnx.checker.C.CheckerContext()
    ctx.ir_version = ir_version
    ctx.opset_imports = {domain: opset}
    return ctx


def check(onnx, node, domain, opset, ir_version=8):
    """None when onnx.checker.check_node accepts the node, else its message."""
    try:
        onnx.checker.check_node(node, checker_context(onnx, domain, opset, ir_version))
    except onnx.checker.ValidationError as e:
        return str(e)
    return None


def probe_node(onnx, s, n_in=None, n_out=None, extra_attrs=()):
    n_in = s.min_input if n_in is None else n_in
    n_out = s.min_output if n_out is None else n_out
    node = onnx.helper.make_node(s.name, [f"i{k}" for k in range(n_in)],
                                 [f"o{k}" for k in range(n_out)], domain=s.domain)
    for name, a in sorted(s.attributes.items()):
        if a.required:
            node.attribute.append(make_attr(onnx, name, int(a.type)))
    node.attribute.extend(extra_attrs)
    return node


def allowed_counts(onnx, s, outputs):
    """Bit mask of the counts NumInputs/NumOutputs(set) allow, 0 for all."""
    lo = s.min_output if outputs else s.min_input
    hi = s.max_output if outputs else s.max_input
    top = min(hi, lo + PROBE_EXTRA)
    mask, restricted = 0, False
    for n in range(lo, top + 1):
        node = probe_node(onnx, s, n_out=n) if outputs else probe_node(onnx, s, n_in=n)
        msg = check(onnx, node, s.domain, s.since_version)
        if msg is None:
            mask |= 1 << n
        elif "allowed" in msg and ("output sizes" if outputs else "input sizes") in msg:
            restricted = True
        else:
            raise SystemExit(f"probe of {s.domain}:{s.name}-{s.since_version} with {n} "
                             f"{'outputs' if outputs else 'inputs'} failed: {msg}")
    if not restricted:
        return 0
    if hi >= MASK_BITS or top != hi:
        raise SystemExit(f"{s.name}-{s.since_version}: a restricted count set beyond "
                         f"{MASK_BITS - 1} does not fit the table")
    return mask


def probe_schema(onnx, s):
    """(in_mask, out_mask, allows_unchecked_attributes) measured by the checker."""
    if s.deprecated:
        return 0, 0, False  # the checker never reaches Verify
    msg = check(onnx, probe_node(onnx, s), s.domain, s.since_version)
    if msg is not None:
        raise SystemExit(f"minimal probe node of {s.domain}:{s.name}-{s.since_version} "
                         f"is rejected: {msg}")
    unknown = make_attr(onnx, "msi_probe_unknown_attribute", onnx.AttributeProto.INT)
    msg = check(onnx, probe_node(onnx, s, extra_attrs=[unknown]), s.domain, s.since_version)
    if msg is not None and "Unrecognized attribute" not in msg:
        raise SystemExit(f"unknown-attribute probe of {s.name}-{s.since_version}: {msg}")
    return allowed_counts(onnx, s, False), allowed_counts(onnx, s, True), msg is None


def confirm_experimental(onnx):
    """Each listed name must make check_node skip a node it would reject."""
    # check_node prints a warning for each on std::cerr: keep it off the terminal
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        confirm_experimental_quiet(onnx)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def confirm_experimental_quiet(onnx):
    bogus = onnx.helper.make_node("MsiNoSuchOperator", ["x"], ["y"])
    if check(onnx, bogus, "", 1) is None:
        raise SystemExit("probe: the checker accepts an unknown operator")
    for name in CHECKER_EXPERIMENTAL_OPS:
        if check(onnx, onnx.helper.make_node(name, ["x"], ["y"]), "", 1) is not None:
            raise SystemExit(f"{name} is not in this onnx's experimental_ops; update "
                             "CHECKER_EXPERIMENTAL_OPS")


# ---- the table ------------------------------------------------------------

def c_string(s):
    out = []
    for ch in s:
        if ch in '\\"':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            raise SystemExit(f"non-ASCII name {s!r}")
    return '"' + "".join(out) + '"'


def build(onnx):
    schemas = [s for s in onnx.defs.get_all_schemas_with_history()]
    versions = domain_versions(onnx)
    confirm_experimental(onnx)

    by_op = {}
    for s in schemas:
        by_op.setdefault((s.domain, s.name), []).append(s)
    domains = sorted(versions, key=lambda d: d.encode())
    ops = sorted(by_op, key=lambda k: (k[0].encode(), k[1].encode()))

    strings = set(CHECKER_EXPERIMENTAL_OPS)
    for s in schemas:
        strings.add(s.name)
        strings.update(s.attributes)
        strings.update(p.name for p in list(s.inputs) + list(s.outputs))
    pool, offsets, pos = [], {}, 0
    for name in sorted(strings, key=lambda n: n.encode()):
        offsets[name] = pos
        pool.append(name)
        pos += len(name.encode()) + 1
    if pos >= 1 << 16:
        raise SystemExit("string pool over 64 KiB: widen the offsets")

    op_rows, schema_rows, formal_rows, attr_rows = [], [], [], []
    domain_rows = []
    stats = {"unchecked": [], "restricted": [], "experimental": []}
    for dom in domains:
        first = len(op_rows)
        for key in (k for k in ops if k[0] == dom):
            versions_of_op = sorted(by_op[key], key=lambda s: s.since_version)
            op_rows.append((offsets[key[1]], len(schema_rows), len(versions_of_op), key[1]))
            for s in versions_of_op:
                if s.since_version >= 256:
                    raise SystemExit(f"{s.name}: since_version {s.since_version} over 255")
                in_mask, out_mask, unchecked = probe_schema(onnx, s)
                flags = 0
                if s.deprecated:
                    flags |= FLAG_DEPRECATED
                if s.support_level == onnx.defs.OpSchema.SupportType.EXPERIMENTAL:
                    flags |= FLAG_EXPERIMENTAL
                    stats["experimental"].append(f"{s.name}-{s.since_version}")
                if unchecked:
                    flags |= FLAG_UNCHECKED_ATTRS
                    stats["unchecked"].append(f"{s.name}-{s.since_version}")
                if in_mask or out_mask:
                    stats["restricted"].append(f"{s.name}-{s.since_version}")
                counts = []
                for v in (s.min_input, s.max_input, s.min_output, s.max_output):
                    if v == 2147483647:
                        v = UNBOUNDED
                    elif not 0 <= v < UNBOUNDED:
                        raise SystemExit(f"{s.name}: count {v} does not fit")
                    counts.append(v)
                formals = len(formal_rows)
                for params in (s.inputs, s.outputs):
                    for k, p in enumerate(params):
                        opt = option_name(p)
                        if opt == "Variadic" and k != len(params) - 1:
                            raise SystemExit(f"{s.name}: variadic parameter {k} is not last")
                        formal_rows.append((offsets[p.name], OPTION_CODES[opt]))
                attrs = len(attr_rows)
                for name in sorted(s.attributes, key=lambda n: n.encode()):
                    a = s.attributes[name]
                    attr_rows.append((offsets[name], int(a.type), 1 if a.required else 0))
                schema_rows.append((len(op_rows) - 1, s.since_version, flags, counts,
                                    len(s.inputs), len(s.outputs), len(s.attributes),
                                    formals, attrs, in_mask, out_mask, key[1]))
        domain_rows.append((dom, versions[dom], first, len(op_rows) - first))
    for n in (len(op_rows), len(schema_rows), len(formal_rows), len(attr_rows)):
        if n >= 1 << 16:
            raise SystemExit("a table over 65535 rows: widen its indices")
    return {
        "domains": domain_rows, "ops": op_rows, "schemas": schema_rows,
        "formals": formal_rows, "attrs": attr_rows, "pool": pool, "pool_size": pos,
        "experimental": sorted(CHECKER_EXPERIMENTAL_OPS, key=lambda n: n.encode()),
        "offsets": offsets, "stats": stats,
    }


def render(onnx, t):
    st = t["stats"]
    out = []
    w = out.append
    w("/*")
    w(" * GENERATED FILE: do not edit. Written by lib/formats/onnx/gen_schemas.py")
    w(f" * from onnx {onnx.__version__} (Debian's python3-onnx): every version of every")
    w(" * operator schema of onnx's built-in domains, for onnx_schema.c. Regenerate:")
    w(" *   /usr/bin/python3 lib/formats/onnx/gen_schemas.py lib/formats/onnx/onnx_schemas.inc")
    w(" * (the onnx_schema_table test runs it with --check).")
    w(" *")
    w(f" * {len(t['ops'])} operators, {len(t['schemas'])} schema versions, "
      f"{len(t['formals'])} formal parameters,")
    w(f" * {len(t['attrs'])} attributes, {t['pool_size']} bytes of names.")
    w(" * Measured with onnx.checker (not in onnx's Python API):")
    for label, names in (("AllowUncheckedAttributes", st["unchecked"]),
                         ("NumInputs/NumOutputs(set)", st["restricted"])):
        w(f" *   {label}:")
        for k in range(0, max(len(names), 1), 4):
            w(" *     " + (", ".join(names[k:k + 4]) or "none"))
    w(f" * support_level EXPERIMENTAL: {', '.join(st['experimental']) or 'none'}")
    w(" */")
    w("")
    w(f'#define MSI_ONNX_TABLE_ONNX_VERSION "{onnx.__version__}"')
    w("")
    w("/* Every name, NUL-separated; the tables hold offsets into it. */")
    w("static const char schema_names[] =")
    for name in t["pool"]:
        w(f"\t{c_string(name)[:-1]}\\0\"  /* {t['offsets'][name]} */")
    w("\t;")
    w("")
    w("/* domain, newest opset, first operator, operator count */")
    w("static const msi_onnx_domain_row schema_domains[] = {")
    for dom, ver, first, count in t["domains"]:
        w(f"\t{{ {c_string(dom)}, {ver}, {first}, {count} }},")
    w("};")
    w("")
    w("/* name, first schema, schema count; sorted by name (strcmp) within a domain */")
    w("static const msi_onnx_op_row schema_ops[] = {")
    for k, (name, first, count, label) in enumerate(t["ops"]):
        w(f"\t{{ {name}, {first}, {count} }}, /* {k} {label} */")
    w("};")
    w("")
    w("/* op, since_version, flags, min_in, max_in, min_out, max_out (255: no limit),")
    w(" * formal inputs, formal outputs, attributes, first formal, first attribute,")
    w(" * allowed input counts, allowed output counts (bit n: n allowed; 0: any) */")
    w("static const struct msi_onnx_op_schema schema_versions[] = {")
    for (op, since, flags, c, n_in, n_out, n_attr, formals, attrs, im, om, label) in t["schemas"]:
        w(f"\t{{ {op}, {since}, {flags}, {c[0]}, {c[1]}, {c[2]}, {c[3]}, {n_in}, {n_out}, "
          f"{n_attr}, {formals}, {attrs}, {im:#x}, {om:#x} }}, /* {label}-{since} */")
    w("};")
    w("")
    w("/* name, option (0 single, 1 optional, 2 variadic, always the last); a schema's")
    w(" * inputs then its outputs, in declaration order */")
    w("static const msi_onnx_formal_row schema_formals[] = {")
    line = []
    for name, opt in t["formals"]:
        line.append(f"{{ {name}, {opt} }},")
        if len(line) == 6:
            w("\t" + " ".join(line))
            line = []
    if line:
        w("\t" + " ".join(line))
    w("};")
    w("")
    w("/* name, AttributeProto type, required; sorted by name (strcmp) within a schema */")
    w("static const msi_onnx_attr_row schema_attrs[] = {")
    line = []
    for name, atype, req in t["attrs"]:
        line.append(f"{{ {name}, {atype}, {req} }},")
        if len(line) == 6:
            w("\t" + " ".join(line))
            line = []
    if line:
        w("\t" + " ".join(line))
    w("};")
    w("")
    w("/* onnx.checker's experimental_ops (sorted): warned about and not checked. */")
    w("static const uint16_t schema_experimental[] = {")
    w("\t" + ", ".join(f"{t['offsets'][n]} /* {n} */" for n in t["experimental"]) + ",")
    w("};")
    return "\n".join(out) + "\n"


def main(argv):
    check_mode = len(argv) == 3 and argv[1] == "--check"
    if not (check_mode or len(argv) == 2) or argv[-1].startswith("-"):
        print(f"usage: {argv[0]} [--check] OUT.inc", file=sys.stderr)
        return 2
    path = argv[-1]
    onnx, err = import_onnx()
    if onnx is None:
        if os.environ.get("CI"):
            print(f"FAIL: onnx is required in CI ({err})", file=sys.stderr)
            return 1
        print(f"SKIP: onnx cannot be imported ({err}); the table was not checked")
        return 77
    text = render(onnx, build(onnx))
    if check_mode:
        try:
            with open(path, encoding="ascii") as f:
                old = f.read()
        except OSError as e:
            print(f"FAIL: {e}", file=sys.stderr)
            return 1
        if old != text:
            print(f"FAIL: {path} differs from the table onnx {onnx.__version__} gives; "
                  f"regenerate it with: /usr/bin/python3 {argv[0]} {path}", file=sys.stderr)
            return 1
        print(f"ok: {path} matches onnx {onnx.__version__}")
        return 0
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(text)
    os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
