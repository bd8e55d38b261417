"""The `modelstore` program: exit statuses (0 valid, 1 invalid or
unrecognised, 2 usage or I/O error, never a signal), standard input, one
JSON object per line for several paths, and the formats/codes/version
commands. The Cli helper asserts on every run that no signal ended it.
"""
import hashlib
import json
import random
import subprocess

import pytest

import modelstore
from ms_testutil import MANIFEST, MODELS

RANDOM = random.Random(21).randbytes(4096)


def lines_of(stdout):
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def junk(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "junk.bin"
    path.write_bytes(RANDOM)
    return path


def valid_fixture():
    if MANIFEST is None:
        pytest.skip("fixtures not generated")
    return MODELS / "mlp.onnx"


# ---- usage -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [], ["no-such-command"], ["validate"], ["inspect"], ["inspect", "--no-such-option", "x"],
    ["validate", "--format"],
])
def test_usage_errors_exit_2(cli, args):
    proc = cli(*args)
    assert proc.returncode == 2
    assert proc.stderr  # says what is wrong


@pytest.mark.parametrize("args", [["--help"], ["help"], ["inspect", "--help"]])
def test_help_exits_0(cli, args):
    proc = cli(*args)
    assert proc.returncode == 0
    assert b"usage" in proc.stdout.lower()


@pytest.mark.parametrize("command", ["inspect", "validate"])
def test_missing_file_exits_2(cli, tmp_path, command):
    missing = tmp_path / "absent.onnx"
    proc = cli(command, missing)
    assert proc.returncode == 2
    assert str(missing).encode() in proc.stderr


def test_unknown_forced_format_exits_2(cli, junk):
    assert cli("validate", "--format", "no_such_format", junk).returncode == 2


# ---- verdicts ----------------------------------------------------------------------------------

def test_random_bytes_are_invalid_and_unrecognised(cli, junk):
    v = cli("validate", junk)
    assert v.returncode == 1
    assert b"INVALID" in v.stdout
    i = cli("inspect", "--json", junk)
    assert i.returncode == 1
    [info] = lines_of(i.stdout)
    assert info["format"] is None and info["size"] == len(RANDOM)


def test_valid_model_exits_0(cli):
    path = valid_fixture()
    assert cli("validate", path).returncode == 0
    assert cli("validate", "--quick", path).returncode == 0
    proc = cli("inspect", "--json", path)
    assert proc.returncode == 0
    assert lines_of(proc.stdout)[0]["format"] == "onnx"


def test_worst_status_wins(cli, junk, tmp_path):
    path = valid_fixture()
    assert cli("validate", path, junk).returncode == 1
    assert cli("validate", junk, tmp_path / "absent").returncode == 2
    assert cli("validate", tmp_path / "absent", path).returncode == 2


def test_strict_fails_on_warnings(cli, tmp_path):
    # A serialzy header naming a format serialzy has but the library does
    # not know (a warning) around a valid ONNX model. (A format serialzy
    # itself lacks is an error: serialzy.format.invalid.)
    from ms_testutil import gen_models
    g = gen_models()
    data = g.serialzy_frame(g.serialzy_header("proto", "", {}), valid_fixture().read_bytes())
    path = tmp_path / "framed"
    path.write_bytes(data)
    report = modelstore.validate(path)
    assert report.valid and not report.clean
    assert cli("validate", path).returncode == 0
    assert cli("validate", "--strict", path).returncode == 1


# ---- stdin ----------------------------------------------------------------------------------------

def test_stdin_random_bytes(cli):
    proc = cli("validate", "--json", "-", input=RANDOM)
    assert proc.returncode == 1
    [report] = lines_of(proc.stdout)
    assert report["path"] == "-"
    assert report["valid"] is False
    assert "artifact.format.unknown" in [f["code"] for f in report["findings"]]


def test_stdin_empty(cli):
    proc = cli("validate", "--json", "-", input=b"")
    assert proc.returncode == 1
    [report] = lines_of(proc.stdout)
    assert "artifact.empty" in [f["code"] for f in report["findings"]]


def test_stdin_hash_matches_hashlib(cli):
    data = random.Random(22).randbytes(3 * 1024 * 1024 + 5)  # larger than a pipe's buffer
    proc = cli("inspect", "--json", "--hash", "-", input=data)
    [info] = lines_of(proc.stdout)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["size"] == len(data)
    assert info["path"] == "-"


def test_stdin_and_path_agree(cli):
    path = valid_fixture()
    by_path = lines_of(cli("inspect", "--json", "--hash", path).stdout)[0]
    by_stdin = lines_of(cli("inspect", "--json", "--hash", "-", input=path.read_bytes()).stdout)[0]
    assert by_stdin["path"] == "-" and by_path["path"] == str(path)
    del by_stdin["path"], by_path["path"]
    assert by_stdin == by_path
    assert by_path["format"] == "onnx"


# ---- several paths, JSON lines -------------------------------------------------------------------

def test_several_paths_give_one_json_object_per_line(cli, tmp_path):
    paths = []
    for i in range(5):
        p = tmp_path / ("blob%d.bin" % i)
        p.write_bytes(random.Random(i).randbytes(100 + i))
        paths.append(p)
    proc = cli("inspect", "--json", "--hash", *paths)
    objs = lines_of(proc.stdout)
    assert len(proc.stdout.decode().splitlines()) == len(paths)
    assert [o["path"] for o in objs] == [str(p) for p in paths]
    assert [o["sha256"] for o in objs] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    proc = cli("validate", "--json", *paths)
    reports = lines_of(proc.stdout)
    assert [r["path"] for r in reports] == [str(p) for p in paths]
    assert proc.returncode == 1


def test_missing_path_among_several_still_reports_the_others(cli, tmp_path, junk):
    proc = cli("validate", "--json", junk, tmp_path / "absent", junk)
    assert proc.returncode == 2
    assert [r["path"] for r in lines_of(proc.stdout)] == [str(junk), str(junk)]


def test_cli_report_equals_binding_report(cli, junk):
    [report] = lines_of(cli("validate", "--json", junk).stdout)
    assert report == modelstore.validate(junk).to_dict()
    if MANIFEST is not None:
        for e in MANIFEST["files"]:
            path = MODELS / e["path"]
            try:
                want = modelstore.validate(path).to_dict()
            except modelstore.ModelStoreError:
                continue
            [got] = lines_of(cli("validate", "--json", path).stdout)
            assert got == want, e["path"]


def test_closed_output_pipe_exits_2_not_by_signal(cli, junk):
    # Enough output to fill the pipe, whose reader then goes away.
    proc = subprocess.Popen([cli.path, "inspect", "--json"] + [str(junk)] * 3000,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.read(10)
    proc.stdout.close()
    rc = proc.wait(timeout=60)
    assert rc >= 0, "killed by signal %d" % -rc
    assert rc == 2


# ---- formats, codes, version ----------------------------------------------------------------------

def test_version_command(cli):
    proc = cli("version")
    assert proc.returncode == 0
    assert modelstore.version() in proc.stdout.decode()
    assert cli("--version").stdout == proc.stdout


def test_formats_command(cli):
    proc = cli("formats", "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == modelstore.formats()
    text = cli("formats")
    assert text.returncode == 0
    listed = [line.split()[0] for line in text.stdout.decode().splitlines() if line.strip()]
    assert listed == [f["name"] for f in modelstore.formats()]


def test_codes_command(cli):
    proc = cli("codes", "--json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == modelstore.finding_codes()
    text = cli("codes")
    assert text.returncode == 0
    listed = [line.split()[0] for line in text.stdout.decode().splitlines() if line.strip()]
    assert listed == [c["code"] for c in modelstore.finding_codes()]
