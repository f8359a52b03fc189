"""Generated bad dataset files: each gives one line of DatasetError naming the file, never a
traceback, a hang, an absurd allocation or an unpickling (issue 7). What the name points at
(FIFOs, devices, OS errors), pickles and the CLI are in test_dataset_sources.py."""

from __future__ import annotations

import io
import os
import re
import struct
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descent_engine.network import npz_reader
from descent_engine.network.data import MAX_CLASSES, Dataset, DatasetError, load_npz
from descent_engine.network.npz_reader import ABSOLUTE_LIMIT, check_sizes, size_limit

MIB, GIB = 1 << 20, 1 << 30


def good(n=10, features=3):
    rng = np.random.default_rng(0)
    return dict(X_train=rng.standard_normal((n, features)), y_train=np.arange(n) % 3,
                X_val=rng.standard_normal((4, features)), y_val=np.array([0, 1, 2, 1]))


def npy_bytes(value, allow_pickle=False) -> bytes:
    """An .npy member: an array saved as np.save does, or raw bytes used as they are."""
    if isinstance(value, bytes):
        return value
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=allow_pickle)
    return buf.getvalue()


def write_npz(path, members, compression=zipfile.ZIP_STORED, allow_pickle=False):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for key, value in members.items():
            zf.writestr(f"{key}.npy", npy_bytes(value, allow_pickle))
    return path


def refusal(path, *fragments) -> str:
    """load_npz(path)'s DatasetError: one line, naming the file, holding every fragment."""
    with pytest.raises(DatasetError) as info:
        load_npz(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text, text
    for fragment in fragments:
        assert fragment in text, text
    return text


def with_changes(tmp_path, **changes):
    members = good()
    members.update(changes)
    return write_npz(tmp_path / "bad.npz", members)


# --------------------------------------------------------------------------------- arrays
@pytest.mark.parametrize("changes, fragment", [
    (dict(X_train=np.zeros((0, 3)), y_train=np.zeros(0, int)), "X_train has no rows"),
    (dict(X_train=np.zeros((0, 0)), y_train=np.zeros(0, int)), "X_train has no rows"),
    (dict(X_train=np.zeros(0), y_train=np.zeros(0, int)), "X_train must be N x features"),
    (dict(X_train=np.zeros((10, 0))), "X_train has no features"),
    (dict(X_train=np.zeros((10, 0, 3))), "X_train has no features"),
    (dict(y_train=np.zeros(0, int)), "y_train has 0 labels but X_train has 10 rows"),
    (dict(X_val=np.zeros((0, 3)), y_val=np.zeros(0, int)), "X_val has no rows"),
    (dict(X_train=np.float64(3.0)), "X_train must be N x features"),  # 0-d
    (dict(y_val=np.int64(1)), "y_val must be 1-D"),
    (dict(X_train=np.full((10, 3), np.nan)), "X_train contains NaN or infinity"),
    (dict(X_val=np.full((4, 3), -np.inf)), "X_val contains NaN or infinity"),
    (dict(X_train=np.array([["a", "b", "c"]] * 10)), "X_train must hold real numbers"),
    (dict(X_train=np.zeros((10, 3), "S2")), "X_train must hold real numbers"),
    (dict(X_train=np.zeros((10, 3), complex)), "X_train must hold real numbers"),
    (dict(X_train=np.zeros((10, 3), "datetime64[s]")), "X_train must hold real numbers"),
    (dict(X_train=np.zeros(10, [("a", "f8"), ("b", "i4")])), "X_train has a structured dtype"),
    (dict(y_train=np.array(["0"] * 10)), "y_train must hold integer class labels"),
    (dict(y_train=np.zeros(10, bool)), "y_train must hold integer class labels"),
])
def test_bad_arrays(tmp_path, changes, fragment):
    refusal(with_changes(tmp_path, **changes), fragment)


def test_fortran_order_big_endian_and_extra_keys_are_read_as_saved(tmp_path):
    rng = np.random.default_rng(5)
    X = np.asfortranarray(rng.standard_normal((12, 2, 3, 4)))
    y = (np.arange(12) % 4).astype(">u2")
    path = tmp_path / "ok.npz"
    np.savez(path, X_train=X, y_train=y, X_val=X[:5].astype(">f4"), y_val=np.array([3.0, 2.0, 1.0, 0.0, 1.0]),
             mean_image=np.ones(24))
    with zipfile.ZipFile(path) as zf:  # the case is the one meant: np.save wrote Fortran order
        with zf.open("X_train.npy") as fh:
            np.lib.format.read_magic(fh)
            assert np.lib.format.read_array_header_1_0(fh)[1] is True
    d = load_npz(path)
    np.testing.assert_array_equal(d.X_train, np.ascontiguousarray(X).reshape(12, 24))
    np.testing.assert_array_equal(d.X_val, X[:5].astype(np.float32).reshape(5, 24))
    assert d.y_train.tolist() == [0, 1, 2, 3] * 3 and d.y_val.tolist() == [3, 2, 1, 0, 1]
    assert d.y_train.dtype == np.int64 and d.num_classes == 4 and d.X_train.dtype.isnative


# --------------------------------------------------------------------------------- labels
@pytest.mark.parametrize("y, fragment", [
    (np.array([0, 1, 2] * 3 + [10 ** 9]), "y_train has label 1000000000; labels must be 0..C-1"),
    (np.array([0] * 9 + [2 ** 64 - 1], np.uint64), "y_train has label 18446744073709551615"),
    (np.array([0.0] * 9 + [1e300]), "y_train has label 1e+300"),
    (np.array([0.0] * 9 + [np.nan]), "y_train has a non-integer label (nan)"),
    (np.array([0.0] * 9 + [np.inf]), "y_train has a non-integer label (inf)"),
    (np.array([0.0] * 9 + [-np.inf]), "y_train has a non-integer label (-inf)"),
    (np.array([0.0] * 9 + [1.5]), "y_train has a non-integer label (1.5)"),
    (np.array([0] * 9 + [-1]), "y_train has a negative label (-1)"),
    (np.array([0] * 9 + [-1.0]), "y_train has a negative label (-1)"),
    (np.array([0] * 9 + [2 ** 63 - 1]), "y_train has label 9223372036854775807"),
    # 10 train + 4 val = 14 examples: 14 classes (labels up to 13) is the most allowed
    (np.array([0] * 9 + [14]), "C at most the number of examples (14)"),
])
def test_bad_labels(tmp_path, y, fragment):
    tracemalloc.start()
    try:
        refusal(with_changes(tmp_path, y_train=y), fragment)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB  # no num_classes-sized allocation (1e9 labels would be 745 GiB)


def test_a_dataset_built_directly_checks_its_labels():
    X = np.zeros((3, 2))
    for y, fragment in [(np.array([0, 1, 10 ** 9]), "label 1000000000 is beyond the at most 100000 classes"),
                        (np.array([0, 1, 1e300]), "label 10000000000000000"),
                        (np.array([0, np.nan, 1]), "y_train has a non-integer label (nan)"),
                        (np.array([0, -3, 1]), "y_train has a negative label (-3)")]:
        with pytest.raises(DatasetError, match=re.escape(fragment)) as info:
            Dataset(X, y, X, np.array([0, 1, 1]), name="mine")
        assert str(info.value).startswith("mine: ") and len(str(info.value)) < 150
    assert Dataset(X, np.array([0, 0, 0]), X, np.array([0, 0, 0])).num_classes == 2  # at least two outputs


def test_label_bounds_are_inclusive(tmp_path):
    d = load_npz(with_changes(tmp_path, y_train=np.array([0] * 9 + [13], np.uint64)))
    assert d.num_classes == 14 and d.y_train.dtype == np.int64 and d.y_train[-1] == 13
    n = MAX_CLASSES + 1  # enough examples that only MAX_CLASSES binds
    members = dict(X_train=np.zeros((n, 1), np.float32), y_train=np.arange(n) % MAX_CLASSES,
                   X_val=np.zeros((1, 1), np.float32), y_val=np.array([MAX_CLASSES - 1]))
    assert load_npz(write_npz(tmp_path / "max.npz", members)).num_classes == 100_000
    members["y_val"] = np.array([MAX_CLASSES])
    refusal(write_npz(tmp_path / "over.npz", members), "y_val has label 100000", "at most 100000")


# ------------------------------------------------------------- headers, bombs, size bounds
def header(shape, descr="<f8", fortran=False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_2_0(buf, {"shape": shape, "fortran_order": fortran, "descr": descr})
    return buf.getvalue()


def test_a_header_that_claims_more_than_the_archive_holds_is_refused_before_allocating(tmp_path):
    path = with_changes(tmp_path, X_train=header((10 ** 9, 1000)) + bytes(1024))
    tracemalloc.start()
    try:
        # 1e12 float64 = 8e12 bytes = 7.28 TiB
        refusal(path, "X_train's header claims shape (1000000000, 1000) of float64 (7.3 TiB)",
                "holds only 1.0 KiB")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB
    refusal(with_changes(tmp_path, y_val=header((4,), "<i8") + bytes(31)), "y_val's header claims shape (4,)",
            "(32 bytes)", "holds only 31 bytes")
    refusal(with_changes(tmp_path, y_val=header((-4,), "<i8")), "impossible shape (-4,)")
    refusal(with_changes(tmp_path, y_val=b"\x93NUMPY\x01\x00" + b"garbage"), "cannot read y_val")
    refusal(with_changes(tmp_path, y_val=b"not an npy"), "cannot read y_val")


def raw_zip(path, members):
    """A zip written by hand from ``(name, deflate stream, crc32, inflated size)`` (method 8)."""
    out, central = io.BytesIO(), io.BytesIO()
    for name, stream, crc, size in members:
        offset, encoded = out.tell(), name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 33, crc, len(stream), size,
                              len(encoded), 0) + encoded + stream)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 33, crc, len(stream), size,
                                  len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central.getvalue()),
                          start, 0))
    path.write_bytes(out.getvalue())
    return path


def deflated(name, data):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def zero_bomb(name, shape):
    """An .npy member of float64 zeros, deflated without ever holding it: after a full flush the
    compressor keeps no history, so every 1 MiB block of zeros deflates to the same bytes."""
    head = header(shape)
    nbytes = int(np.prod(shape)) * 8
    assert nbytes % MIB == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)]
    block, zeros = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH), bytes(MIB)
    assert c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH) == block
    crc = zlib.crc32(head)
    for _ in range(nbytes // MIB):
        crc = zlib.crc32(zeros, crc)
    parts += [block] * (nbytes // MIB - 1) + [c.flush()]
    return name, b"".join(parts), crc, len(head) + nbytes


def test_a_zip_bomb_is_refused_before_inflating(tmp_path):
    small = [deflated(f"{k}.npy", npy_bytes(v)) for k, v in good().items() if k != "X_train"]
    path = raw_zip(tmp_path / "bomb.npz", [zero_bomb("X_train.npy", (32768, 4096)), *small])
    assert path.stat().st_size < 1.3e6
    with zipfile.ZipFile(path) as zf:  # a valid archive: its directory says 1 GiB, its first MiB inflates
        assert zf.getinfo("X_train.npy").file_size > GIB
        with zf.open("X_train.npy") as fh:
            np.lib.format.read_magic(fh)
            assert np.lib.format.read_array_header_2_0(fh)[0] == (32768, 4096)  # 32768 * 4096 * 8 bytes = 1 GiB
            assert fh.read(MIB) == bytes(MIB)
    tracemalloc.start()
    try:
        refusal(path, "X_train inflates from 1.0 MiB to 1.0 GiB", "zip bomb", "np.savez")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB


def test_size_policy_on_real_and_hostile_numbers():
    # CIFAR-10 as the course keeps it: 49000 train / 1000 val, 3072 features, 128-byte npy headers
    cifar_u8 = [("X_train", 49000 * 3072 + 128, 49000 * 3072 + 128), ("y_train", 49000 * 8 + 128, 49000 * 8 + 128),
                ("X_val", 1000 * 3072 + 128, 900 * 3072), ("y_val", 1000 * 8 + 128, 300)]
    check_sizes(cifar_u8, "c.npz", 512 * MIB, "test")  # about 155 MiB, compressed or not
    cifar_f8 = [(k, (s - 128) * 8 + 128, (s - 128) * 8) for k, s, _ in cifar_u8]
    check_sizes(cifar_f8, "c.npz", ABSOLUTE_LIMIT, "test")  # 1.2 GiB float64 fits the absolute cap
    check_sizes([("X_train", 64 * MIB, 1000)], "z.npz", GIB, "test")  # small members may compress any amount
    check_sizes([("X_train", 200 * MIB, MIB)], "z.npz", GIB, "test")  # 200 times is allowed
    with pytest.raises(DatasetError, match=r"X_train inflates from 1.2 MiB to 1.0 GiB \(820 times\)"):
        check_sizes([("X_train", GIB, 1_310_000)], "z.npz", 4 * GIB, "test")
    with pytest.raises(DatasetError, match=r"claim 5.0 GiB uncompressed, more than test allows \(4.0 GiB\)"):
        check_sizes([("X_train", 4 * GIB, 4 * GIB), ("X_val", GIB, GIB)], "z.npz", 4 * GIB, "test")


def test_size_limit_follows_the_memory_available(tmp_path, monkeypatch):
    page = os.sysconf("SC_PAGE_SIZE")
    assert 0 < npz_reader.available_memory() <= os.sysconf("SC_PHYS_PAGES") * page  # at most what is installed
    monkeypatch.setattr(npz_reader, "available_memory", lambda: 2 * GIB)
    assert size_limit() == (GIB, "half the memory available now (2.0 GiB)")
    monkeypatch.setattr(npz_reader, "available_memory", lambda: None)
    assert size_limit() == (ABSOLUTE_LIMIT, "this loader's limit")
    monkeypatch.setattr(npz_reader, "available_memory", lambda: 64 * GIB)
    assert size_limit()[0] == ABSOLUTE_LIMIT == 4 * GIB
    path = write_npz(tmp_path / "big.npz", dict(good(), X_train=np.zeros((40_000, 3))))  # 960,128 bytes
    monkeypatch.setattr(npz_reader, "available_memory", lambda: 1_800_000)
    with zipfile.ZipFile(path) as zf:  # 128-byte headers + 960,000 + 80 + 96 + 32 bytes of data
        assert sum(i.file_size for i in zf.infolist()) == 4 * 128 + 960_000 + 80 + 96 + 32 == 960_720
    # 960,720 bytes = 938.2 KiB; 1,800,000 bytes = 1.7 MiB available, half of it 900,000 bytes = 878.9 KiB
    refusal(path, "its arrays claim 938.2 KiB uncompressed",
            "more than half the memory available now (1.7 MiB) allows (878.9 KiB)")


# ------------------------------------------------------------------------------ archives
def test_not_an_archive(tmp_path):
    (tmp_path / "t.npz").write_text("X_train,y_train\n1,2\n")
    assert "pickle" not in refusal(tmp_path / "t.npz", "is not a NumPy .npz archive")
    np.save(tmp_path / "one.npy", np.ones(3))
    os.replace(tmp_path / "one.npy", tmp_path / "one.npz")
    refusal(tmp_path / "one.npz", "is a single .npy array")
    (tmp_path / "pk.npz").write_bytes(b"PK\x03\x04" + bytes(100))
    refusal(tmp_path / "pk.npz", "is not a readable NumPy .npz archive")
    members = good()
    del members["y_val"]
    refusal(write_npz(tmp_path / "three.npz", members), "has no 'y_val' array")


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_every_truncation_is_refused(tmp_path, compression):
    whole = write_npz(tmp_path / "whole.npz", good(), compression).read_bytes()
    cut = tmp_path / "cut.npz"
    for length in range(1, len(whole), 7):  # every 7th prefix: each misses the end-of-directory record
        cut.write_bytes(whole[:length])
        refusal(cut)


def one_line_or_dataset(path):
    try:
        return load_npz(path)
    except DatasetError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]),
       flips=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(1, 255)),
                                            min_size=1, max_size=4))
def test_damaged_archives_give_a_dataset_or_one_line(tmp_path, method, flips):
    """Any bytes changed anywhere (headers, directory, data): a checked Dataset or one line, nothing else."""
    whole = bytearray(write_npz(tmp_path / "w.npz", good(), method).read_bytes())
    for where, xor in flips:
        whole[where % len(whole)] ^= xor
    (tmp_path / "d.npz").write_bytes(bytes(whole))
    data = one_line_or_dataset(tmp_path / "d.npz")
    if data is not None:
        assert data.X_train.shape[0] == data.y_train.shape[0] and np.all(np.isfinite(data.X_train))
        assert data.y_train.dtype == np.int64 and 2 <= data.num_classes <= 14
