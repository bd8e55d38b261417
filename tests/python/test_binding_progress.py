"""Progress callbacks and cancellation through the binding, and concurrent
use from Python threads (the library promises that distinct handles work
in parallel; the binding serialises calls on one handle)."""
import concurrent.futures
import gc
import hashlib
import random
import threading

import pytest

import modelstore
from ms_testutil import MANIFEST, MODELS

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    data = random.Random(11).randbytes(3 * MiB + 123)
    path = tmp_path_factory.mktemp("progress") / "big.bin"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest(), len(data)


def test_progress_reports_hashing(big_file):
    path, digest, size = big_file
    calls = []
    info = modelstore.inspect(path, hash=True, progress=lambda done, total: calls.append((done, total)))
    assert info["sha256"] == digest
    assert calls, "the callback was never called"
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and dones[-1] == size
    assert all(total in (0, size) for _, total in calls)
    assert all(0 <= d <= size for d in dones)


@pytest.mark.parametrize("result", [None, False, 0])
def test_falsy_results_continue(big_file, result):
    path, digest, _ = big_file
    assert modelstore.inspect(path, hash=True, progress=lambda d, t: result)["sha256"] == digest


def test_true_cancels_hashing(big_file):
    path, digest, _ = big_file
    calls = []

    def cancel(done, total):
        calls.append(done)
        return True

    with modelstore.Artifact(path) as a:
        with pytest.raises(modelstore.ModelStoreError) as info:
            a.inspect(hash=True, progress=cancel)
        assert info.value.code == modelstore.ErrorCode.ECANCELLED == -7
        assert info.value.message
        assert len(calls) == 1, "the operation went on after the callback asked to stop"
        # The handle stays usable after a cancelled call.
        assert a.inspect(hash=True)["sha256"] == digest


def test_cancel_after_some_progress(big_file):
    path, _, size = big_file
    calls = []

    def cancel_late(done, total):
        calls.append(done)
        return done >= 2 * MiB

    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.inspect(path, hash=True, progress=cancel_late)
    assert info.value.code == modelstore.ErrorCode.ECANCELLED
    assert calls[-1] >= 2 * MiB and calls[-1] < size
    assert all(d < 2 * MiB for d in calls[:-1])  # stopped at the first true result


def test_exception_in_callback_propagates(big_file):
    path, _, _ = big_file

    def broken(done, total):
        raise KeyError("from the callback")

    with pytest.raises(KeyError) as info:
        modelstore.inspect(path, hash=True, progress=broken)
    assert isinstance(info.value.__cause__, modelstore.ModelStoreError)
    assert info.value.__cause__.code == modelstore.ErrorCode.ECANCELLED


def test_callback_object_survives_garbage_collection(big_file):
    path, digest, _ = big_file
    seen = []

    def make_callback():
        def cb(done, total):
            gc.collect()  # the C function pointer must not be collected mid-call
            seen.append(done)
        return cb

    assert modelstore.inspect(path, hash=True, progress=make_callback())["sha256"] == digest
    assert seen


def test_non_callable_progress_is_a_type_error(big_file):
    with pytest.raises(TypeError):
        modelstore.inspect(big_file[0], hash=True, progress=42)


def _zip_fixture():
    if MANIFEST is None:
        pytest.skip("fixtures not generated")
    for e in MANIFEST["files"]:
        if e["expected_containers"] == ["zip"]:
            return MODELS / e["path"], e
    pytest.skip("no zip fixture")


def test_progress_reports_validation():
    # A full validate checks every zip member's CRC-32, streaming: progress
    # must be reported, and a true result must cancel.
    path, entry = _zip_fixture()
    calls = []
    report = modelstore.validate(path, progress=lambda d, t: calls.append((d, t)))
    assert report.valid
    assert calls
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    with pytest.raises(modelstore.ModelStoreError) as info:
        modelstore.validate(path, progress=lambda d, t: True)
    assert info.value.code == modelstore.ErrorCode.ECANCELLED


def test_finished_validation_ends_at_the_total(tmp_path):
    # A serialzy stream's header is parsed, not streamed: the last report of a
    # finished validation must still say done == total (a progress bar ends).
    path, _ = _zip_fixture()
    stream = tmp_path / "m.serialzy"
    modelstore.pack(str(path), str(stream), format="pt", name="m")
    calls = []
    report = modelstore.validate(str(stream), progress=lambda d, t: calls.append((d, t)))
    assert report.valid, report.findings
    assert calls and calls[-1][0] == calls[-1][1] == stream.stat().st_size
    assert all(d <= t for d, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ---- threads ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("threads")
    rng = random.Random(12)
    paths = []
    for i in range(24):
        p = root / ("file%02d.bin" % i)
        p.write_bytes(rng.randbytes(rng.randrange(1, 2 * MiB)))
        paths.append(p)
    if MANIFEST is not None:
        paths += [MODELS / e["path"] for e in MANIFEST["files"] if not e["directory"]]
    return paths


def _describe(path):
    info = modelstore.inspect(path, hash=True)
    report = modelstore.validate(path)
    return info, report.to_dict()


def test_threads_give_the_sequential_results(many_files):
    sequential = [_describe(p) for p in many_files]
    for p, (info, _) in zip(many_files, sequential):
        assert info["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            parallel = list(pool.map(_describe, many_files))
            assert parallel == sequential


def test_threads_with_bytes_and_progress(many_files):
    blobs = [p.read_bytes() for p in many_files]
    want = [hashlib.sha256(b).hexdigest() for b in blobs]
    counts = [0] * len(blobs)

    def work(i):
        def cb(done, total):
            counts[i] += 1
        return modelstore.inspect(blobs[i], hash=True, progress=cb)["sha256"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(work, range(len(blobs)))) == want
    assert all(c >= 1 for c in counts)


def test_one_artifact_shared_by_threads_is_serialised(many_files):
    path = max(many_files, key=lambda p: p.stat().st_size)
    want = hashlib.sha256(path.read_bytes()).hexdigest()
    with modelstore.Artifact(path) as a:
        barrier = threading.Barrier(8)

        def work(_):
            barrier.wait()
            return a.inspect(hash=True)["sha256"], a.validate().valid

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(work, range(8)))
    assert {r[0] for r in results} == {want}
    assert len({r[1] for r in results}) == 1
