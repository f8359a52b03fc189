"""Dataset names that point at something other than a regular file, OS errors, pickles, and the
CLI's one-line contract for a bad dataset file (issue 7)."""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from descent_engine.network.data import DatasetError, load_dataset, load_npz
from test_dataset_files import good, header, refusal, with_changes, write_npz


# ------------------------------------------------------------------- what the name points at
def test_only_regular_files_are_opened(tmp_path, monkeypatch):
    (tmp_path / "dir.npz").mkdir()
    refusal(tmp_path / "dir.npz", "is a directory")
    (tmp_path / "zero.npz").symlink_to("/dev/zero")  # reading it would never end
    refusal(tmp_path / "zero.npz", "is a device, not a regular file")
    monkeypatch.chdir(tmp_path)  # a short relative name: AF_UNIX paths are limited to about 108 bytes
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("sock.npz")
        with pytest.raises(DatasetError, match="^dataset file sock.npz is a socket, not a regular file$"):
            load_npz("sock.npz")
    (tmp_path / "loop.npz").symlink_to(tmp_path / "loop.npz")
    refusal(tmp_path / "loop.npz", "cannot read dataset file", "Too many levels of symbolic links")
    (tmp_path / "plain").write_text("x")
    refusal(tmp_path / "plain" / "x.npz", "cannot read dataset file", "Not a directory")
    (tmp_path / "empty.npz").write_bytes(b"")
    refusal(tmp_path / "empty.npz", "is empty")
    refusal(tmp_path / "nope.npz", "does not exist")
    with pytest.raises(DatasetError, match="embedded null"):
        load_npz("a\0b.npz")


def test_fifo_is_refused_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "x.npz")
    code, err = cli_train(tmp_path / "x.npz")  # a subprocess, so a regression fails instead of hanging
    assert code == 2 and err.startswith("descent-tui: error: dataset file ") and err.count("\n") == 1
    assert "is a named pipe (FIFO), not a regular file" in err and "Traceback" not in err
    refusal(tmp_path / "x.npz", "is a named pipe (FIFO), not a regular file")


def test_a_name_too_long_for_the_file_system(tmp_path):
    path = tmp_path / ("d" * 300 + ".npz")
    with pytest.raises(DatasetError) as info:
        load_npz(path)
    text = str(info.value)
    assert "File name too long" in text and "\n" not in text and len(text) < 200  # the name is shortened
    assert text.startswith("cannot read dataset file /") and text.endswith("ddd.npz: File name too long")
    assert "..." in text
    with pytest.raises(DatasetError, match="File name too long"):
        load_dataset(str(path))
    with pytest.raises(DatasetError) as info:  # not a path, not a built-in: no OSError from exists()
        load_dataset("m" * 300)
    text = str(info.value)
    assert text.startswith("unknown dataset 'mmm") and "(300 characters)" in text and len(text) < 200 and "\n" not in text


def test_unreadable_file(tmp_path):
    path = write_npz(tmp_path / "locked.npz", good())
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: mode 000 does not stop reading")
        refusal(path, "cannot read dataset file", "Permission denied")
    finally:
        path.chmod(0o600)


def test_an_io_error_while_inflating_is_one_line(tmp_path, monkeypatch):
    path = write_npz(tmp_path / "ok.npz", good(), zipfile.ZIP_DEFLATED)

    def failing_read(self, n=-1):
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(zipfile.ZipExtFile, "read", failing_read)
    refusal(path, "Input/output error")


# ----------------------------------------------------------------------------- pickles
class Payload:
    """Unpickling this creates ``marker``: the proof that a pickle ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("key", ["X_train", "y_val"])
def test_a_pickled_object_array_is_never_loaded(tmp_path, key):
    marker = tmp_path / "pwned"
    members = good()
    members[key] = np.array([Payload(marker)] * len(members[key]), dtype=object)
    path = write_npz(tmp_path / "evil.npz", members, allow_pickle=True)
    refusal(path, f"{key} holds Python objects", "pickled data is never loaded")
    assert not marker.exists()
    code, err = cli_train(path)
    assert code == 2 and "pickled" in err and err.count("\n") == 1 and not marker.exists()
    with np.load(path, allow_pickle=True) as f:  # the payload is live: a trusting load runs it
        f[key]
    assert marker.exists()


def test_a_raw_pickle_named_npz_is_never_loaded(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data.npz"
    path.write_bytes(pickle.dumps(dict(good(), X_train=Payload(marker))))
    text = refusal(path, "is a Python pickle")
    assert "pickled data is never loaded" in text and not marker.exists()


# --------------------------------------------------------------------------------- the CLI
def cli_train(path) -> tuple[int, str]:
    """``descent-tui train --dataset path`` in a subprocess (it fails at load time, before training)."""
    proc = subprocess.run([sys.executable, "-m", "tui", "train", "--dataset", str(path), "--epochs", "1",
                           "--hidden", "4"], capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(path))
    assert proc.stdout == ""
    return proc.returncode, proc.stderr


def _header_lie(tmp_path):
    return with_changes(tmp_path, X_train=header((10 ** 9, 1000)) + bytes(1024))


def _huge_label(tmp_path):
    return with_changes(tmp_path, y_train=np.array([0] * 9 + [10 ** 9]))


def _dev_zero(tmp_path):
    (tmp_path / "zero.npz").symlink_to("/dev/zero")
    return tmp_path / "zero.npz"


def _long_name(tmp_path):
    return tmp_path / ("d" * 300 + ".npz")


@pytest.mark.parametrize("make, message", [
    (_header_lie, "X_train's header claims shape (1000000000, 1000) of float64 (7.3 TiB) but the archive "
                  "holds only 1.0 KiB for it"),
    (_huge_label, "y_train has label 1000000000; labels must be 0..C-1 with C at most the number of "
                  "examples (14) and at most 100000"),
    (_dev_zero, "is a device, not a regular file"),
    (_long_name, "File name too long"),
])
def test_cli_reports_a_bad_dataset_in_one_line(tmp_path, make, message):
    path = make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = cli_train(path)
    assert code == 2 and err.startswith("descent-tui: error: ") and err.endswith(message + "\n")
    assert err.count("\n") == 1 and len(err) < 300
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing left behind
