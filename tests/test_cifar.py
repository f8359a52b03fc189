"""``descent-tui data import/fetch cifar10`` on small archives the tests write in the official layout.

The official archive has 10,000 records per batch file; the tests write R = 6 (importer parameter
``records_per_batch``, or ``cifar.RECORDS_PER_BATCH`` patched for the command line). Networking
touches only a server the test runs on 127.0.0.1 (or a closed port there).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import sys
import tarfile
import threading

import numpy as np
import pytest

from descent_engine.network import cifar
from descent_engine.network.data import load_dataset
from tui.cli import build_parser, main

R = 6  # records per batch file in the test archives
FOLDER = "cifar-10-batches-bin"
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


# --- writing archives in the official layout (independent of the importer) ------------------------
def make_batches(seed: int = 0, records: int = R) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (labels uint8 (n,), images uint8 (n, 32, 32, 3) as row, col, channel)."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    return {n: (rng.integers(0, 10, records, dtype=np.uint8),
                rng.integers(0, 256, (records, 32, 32, 3), dtype=np.uint8)) for n in names}


def encode(labels: np.ndarray, images: np.ndarray) -> bytes:
    """The documented record: 1 label byte, then 1024 red, 1024 green, 1024 blue bytes, row by row."""
    out = bytearray()
    for label, img in zip(labels, images):
        out.append(int(label))
        for channel in range(3):
            for row in range(32):
                for col in range(32):
                    out.append(int(img[row, col, channel]))
    return bytes(out)


def write_archive(path, members: dict[str, bytes], folder: str = FOLDER, meta: bool = True) -> None:
    with tarfile.open(path, "w:gz") as tar:
        d = tarfile.TarInfo(folder)
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        items = dict(members)
        if meta:
            items["batches.meta.txt"] = ("\n".join(NAMES) + "\n\n").encode()
        for name, blob in items.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def official(path, batches) -> None:
    write_archive(path, {n: encode(*b) for n, b in batches.items()})


@pytest.fixture
def batches():
    return make_batches()


@pytest.fixture
def archive(tmp_path, batches):
    path = tmp_path / "cifar-10-binary.tar.gz"
    official(path, batches)
    return path


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """The real ``descent-tui`` entry point (parse, handler, CliError -> one line and exit 2)."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert err.startswith("descent-tui: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


# --- the importer -------------------------------------------------------------------------------------
def expected_features(images: np.ndarray) -> np.ndarray:
    """Feature c * 1024 + 32 * row + col = channel c of pixel (row, col), built pixel by pixel."""
    n = images.shape[0]
    out = np.empty((n, 3072), dtype=np.float64)
    for c in range(3):
        for row in range(32):
            for col in range(32):
                out[:, c * 1024 + 32 * row + col] = images[:, row, col, c]
    return out


def test_split_mean_and_channel_major_features(archive, batches):
    data = cifar.read_cifar10(archive, num_val=5, records_per_batch=R)
    train_imgs = np.concatenate([batches[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    train_labels = np.concatenate([batches[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    raw = expected_features(train_imgs)  # 30 images: the first 25 train, the last 5 validate
    mean = raw[:25].mean(axis=0)  # the training split's mean only
    assert data.X_train.shape == (25, 3072) and data.X_val.shape == (5, 3072) and data.X_test.shape == (R, 3072)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(data.y_train, train_labels[:25])
    np.testing.assert_array_equal(data.y_val, train_labels[25:])  # the last images of data_batch_5
    np.testing.assert_array_equal(data.y_test, batches["test_batch.bin"][0])
    # float32 rounding of values up to 255 in magnitude: half an ulp is 255 * 2**-24 < 1.6e-5
    tol = 255 * 2.0 ** -24
    np.testing.assert_allclose(data.X_train, raw[:25] - mean, rtol=0, atol=tol)
    np.testing.assert_allclose(data.X_val, raw[25:] - mean, rtol=0, atol=tol)
    np.testing.assert_allclose(data.X_test, expected_features(batches["test_batch.bin"][1]) - mean, rtol=0, atol=tol)
    np.testing.assert_allclose(data.mean_image, mean, rtol=0, atol=1e-12)
    # the mapping spelled out: feature 0 = red of pixel (0, 0), 1024 = its green, 2048 its blue, 33 = red (1, 1)
    img0 = train_imgs[0].astype(np.float64)
    for feature, (row, col, c) in {0: (0, 0, 0), 1024: (0, 0, 1), 2048: (0, 0, 2), 33: (1, 1, 0),
                                   3071: (31, 31, 2)}.items():
        assert data.X_train[0, feature] == pytest.approx(img0[row, col, c] - mean[feature], abs=tol)
    assert np.abs(data.X_train.mean(axis=0, dtype=np.float64)).max() < 1e-4  # centred: 25 rows of error <= tol
    assert data.label_names == NAMES


def test_num_train_and_num_test(archive, batches):
    data = cifar.read_cifar10(archive, num_train=10, num_val=3, num_test=0, records_per_batch=R)
    labels = np.concatenate([batches[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    np.testing.assert_array_equal(data.y_train, labels[:10])
    np.testing.assert_array_equal(data.y_val, labels[10:13])  # as the course: the images after the training ones
    assert data.X_test is None and "X_test" not in data.arrays()


def test_official_record_count_is_the_default(archive):
    with pytest.raises(cifar.CifarError, match=r"data_batch_\d.bin is 18,438 bytes, expected 30,730,000"):
        cifar.read_cifar10(archive)


def test_cli_writes_a_dataset_that_loads_and_trains(archive, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cifar, "RECORDS_PER_BATCH", R)
    out = tmp_path / "cifar.npz"
    code, stdout, err = run_cli(["data", "import", "cifar10", str(archive), "--out", str(out), "--num-val", "5"], capsys)
    assert code == 0, err
    assert "25 train / 5 val / 6 test" in stdout
    with np.load(out, allow_pickle=False) as f:
        assert set(f.files) >= {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "mean_image"}
        assert list(f["label_names"]) == NAMES
    data = load_dataset(out)
    assert data.X_train.shape == (25, 3072) and data.X_val.shape == (5, 3072) and data.num_classes <= 10
    from tui import cli

    code = cli.main(["train", "--dataset", str(out), "--epochs", "1", "--hidden", "8", "--batch-size", "25"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "3072 features" in stdout and "1 epoch x 1 step of 25" in stdout and "epoch   1/1" in stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-binary.tar.gz", "cifar.npz"]


def _bad_archives(tmp_path, batches) -> dict[str, tuple[object, list[str]]]:
    """name -> (path, words the one-line error must contain)."""
    good = tmp_path / "good.tar.gz"
    official(good, batches)
    blob = good.read_bytes()
    cases: dict[str, tuple[object, list[str]]] = {}
    p = tmp_path / "truncated.tar.gz"
    p.write_bytes(blob[: len(blob) // 2])
    cases["truncated"] = (p, ["truncated"])
    p = tmp_path / "corrupt.tar.gz"  # one byte of the compressed stream changed
    damaged = bytearray(blob)
    damaged[len(blob) * 2 // 3] ^= 0xFF
    p.write_bytes(bytes(damaged))
    cases["corrupt"] = (p, ["corrupt"])
    p = tmp_path / "crc.tar.gz"  # the data intact, the gzip checksum wrong: only a CRC check sees it
    crc = bytearray(blob)
    crc[-8] ^= 0x01
    p.write_bytes(bytes(crc))
    cases["crc"] = (p, ["corrupt"])
    p = tmp_path / "notgzip.tar.gz"
    with tarfile.open(p, "w") as tar:  # an uncompressed tar
        tar.addfile(tarfile.TarInfo("x"), io.BytesIO(b""))
    cases["not gzip"] = (p, ["not a gzip file"])
    members = {n: encode(*b) for n, b in batches.items()}
    members["data_batch_3.bin"] += b"\x00" * 3073  # one record too many
    p = tmp_path / "size.tar.gz"
    write_archive(p, members)
    cases["member size"] = (p, ["data_batch_3.bin is 21,511 bytes, expected 18,438"])
    members = {n: encode(*b) for n, b in batches.items()}
    bad = bytearray(members["data_batch_2.bin"])
    bad[2 * 3073] = 10  # the label byte of record 2
    members["data_batch_2.bin"] = bytes(bad)
    p = tmp_path / "label.tar.gz"
    write_archive(p, members)
    cases["label"] = (p, ["data_batch_2.bin record 2 has label 10", "corrupt"])
    members = {n: encode(*b) for n, b in batches.items() if n != "data_batch_4.bin"}
    p = tmp_path / "missing.tar.gz"
    write_archive(p, members)
    cases["missing"] = (p, ["no cifar-10-batches-bin/data_batch_4.bin"])
    p = tmp_path / "renamed-python.tar.gz"  # the python version under another name: pickles inside
    write_archive(p, {"data_batch_1": b"\x80\x04K\x01."}, folder="cifar-10-batches-py", meta=False)
    cases["python members"] = (p, ["python (pickle) version", "cifar-10-binary.tar.gz"])
    p = tmp_path / "cifar-10-python.tar.gz"
    p.write_bytes(blob)
    cases["python name"] = (p, ["python version", "binary version cifar-10-binary.tar.gz"])
    p = tmp_path / "huge.tar.gz"  # a member claiming a huge size is refused before it is read
    with tarfile.open(p, "w:gz") as tar:
        info = tarfile.TarInfo(f"{FOLDER}/readme.html")
        info.size = 10 ** 6
        tar.addfile(info, io.BytesIO(b"\x00" * 10 ** 6))
    cases["huge member"] = (p, ["unexpected member", "1,000,000 bytes"])
    cases["does not exist"] = (tmp_path / "nope.tar.gz", ["does not exist"])
    return cases


CASES = ["truncated", "corrupt", "crc", "not gzip", "member size", "label", "missing", "python members",
         "python name", "huge member", "does not exist"]


@pytest.mark.parametrize("case", CASES)
def test_bad_archive_is_one_line_and_leaves_nothing(case, tmp_path, batches, capsys, monkeypatch):
    monkeypatch.setattr(cifar, "RECORDS_PER_BATCH", R)
    path, words = _bad_archives(tmp_path, batches)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / "out.npz"
    code, stdout, err = run_cli(["data", "import", "cifar10", str(path), "--out", str(out), "--num-val", "5"], capsys)
    one_line_error(code, err, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no temporary file


@pytest.mark.parametrize("argv, words", [
    (["--out", "{d}/missing/out.npz"], ["directory", "does not exist"]),
    (["--out", "{d}/adir.npz"], ["is a directory"]),
    (["--out", "{d}/out.csv"], ["must end in .npz"]),
    (["--out", "{d}/out.npz", "--num-val", "0"], ["--num-val must be at least 1"]),
    (["--out", "{d}/out.npz", "--num-train", "30", "--num-val", "5"], ["more than the 30 training images"]),
    (["--out", "{d}/out.npz", "--num-val", "5", "--num-test", "7"], ["--num-test must be in 0..6"]),
])
def test_bad_output_or_sizes(argv, words, archive, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cifar, "RECORDS_PER_BATCH", R)
    argv = [a.format(d=tmp_path) for a in argv]
    (tmp_path / "adir.npz").mkdir()
    code, _, err = run_cli(["data", "import", "cifar10", str(archive), *argv], capsys)
    one_line_error(code, err, *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.npz", "cifar-10-binary.tar.gz"]
    assert list((tmp_path / "adir.npz").iterdir()) == []


# --- fetch: only 127.0.0.1 ----------------------------------------------------------------------------
@pytest.fixture
def no_proxy(monkeypatch):
    """A proxy from the environment would send 127.0.0.1 requests elsewhere: none for these tests."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setattr(cifar, "RECORDS_PER_BATCH", R)


@pytest.fixture
def server(archive):
    """Serve the test archive at /cifar-10-binary.tar.gz (anything else: 404) on a free local port."""
    blob = archive.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/cifar-10-binary.tar.gz":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            self.wfile.write(blob)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hashlib.md5(blob).hexdigest()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


def test_official_address_and_checksum():
    # the published values (https://www.cs.toronto.edu/~kriz/cifar.html, binary version)
    assert cifar.URL == "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    assert cifar.MD5 == "c32a1d4ab5d03f1284b67883e8d87530"
    args = build_parser().parse_args(["data", "fetch", "cifar10", "--out", "x.npz"])
    assert args.url == cifar.URL and args.md5 == cifar.MD5 and args.keep_archive is None


def test_fetch_without_network_is_one_line_and_leaves_nothing(tmp_path, capsys, no_proxy):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    url = f"http://127.0.0.1:{closed_port()}/cifar-10-binary.tar.gz"
    code, _, err = run_cli(["data", "fetch", "cifar10", "--out", str(out_dir / "c.npz"), "--url", url,
                            "--num-val", "5"], capsys)
    one_line_error(code, err, "cannot download", "no network?", "data import cifar10")
    assert list(out_dir.iterdir()) == []


def test_fetch_wrong_checksum_keeps_nothing(server, tmp_path, capsys, no_proxy):
    base, md5 = server
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = run_cli(["data", "fetch", "cifar10", "--out", str(out_dir / "c.npz"), "--num-val", "5",
                            "--url", f"{base}/cifar-10-binary.tar.gz", "--keep-archive", str(out_dir / "a.tar.gz")],
                           capsys)
    one_line_error(code, err, f"has MD5 {md5}, expected {cifar.MD5}", "nothing kept")
    assert list(out_dir.iterdir()) == []


def test_fetch_http_error_is_one_line(server, tmp_path, capsys, no_proxy):
    base, md5 = server
    code, _, err = run_cli(["data", "fetch", "cifar10", "--out", str(tmp_path / "c.npz"), "--url", f"{base}/other",
                            "--md5", md5, "--num-val", "5"], capsys)
    one_line_error(code, err, "HTTP 404")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-binary.tar.gz"]


@pytest.mark.parametrize("keep", [False, True])
def test_fetch_with_the_right_checksum_imports(keep, server, archive, tmp_path, capsys, no_proxy):
    base, md5 = server
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "c.npz"
    argv = ["data", "fetch", "cifar10", "--out", str(out), "--num-val", "5", "--url", f"{base}/cifar-10-binary.tar.gz",
            "--md5", md5.upper()]
    if keep:
        argv += ["--keep-archive", str(out_dir / "kept.tar.gz")]
    code, stdout, err = run_cli(argv, capsys)
    assert code == 0, err
    expected = cifar.read_cifar10(archive, num_val=5, records_per_batch=R)
    data = load_dataset(out)
    np.testing.assert_array_equal(data.X_train, expected.X_train)
    np.testing.assert_array_equal(data.y_val, expected.y_val)
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == (["c.npz", "kept.tar.gz"] if keep else ["c.npz"])  # the download removed unless kept
    if keep:
        assert (out_dir / "kept.tar.gz").read_bytes() == archive.read_bytes()
