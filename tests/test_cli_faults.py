"""Faults of the machine while writing: a full disk, a refused name, a signal, a closed pipe.

Each gives one line ``descent-tui: error: ...`` (or the signal's exit status) and no file: not the
output, not its temporary ``.NAME.*.part``, not a spool file.
"""

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY_TRAIN = ["train", "--dataset", "blobs", "--epochs", "1", "--hidden", "8", "--quiet"]
TINY_EXPERIMENT = ["experiment", "overfit", "--dataset", "blobs", "--quiet"]


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("descent-tui: error: "), err
    return lines[0]


class FailingFile:
    """A file object that raises ``OSError(code)`` at ``stage``: "write" once ``limit`` bytes are
    written (0: the first write), or "close" (after really closing)."""

    def __init__(self, real, code: int, stage: str, limit: int) -> None:
        self._real, self._code, self._stage, self._left = real, code, stage, limit

    def _fail(self):
        raise OSError(self._code, os.strerror(self._code))

    def write(self, data):
        if self._stage == "write":
            if len(data) > self._left:
                self._fail()
            self._left -= len(data)
        return self._real.write(data)

    def close(self):
        self._real.close()
        if self._stage == "close":
            self._stage = "closed"
            self._fail()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def inject(monkeypatch):
    """``inject(kind, code, stage, limit)``: files made by mkstemp whose name ends in ``kind``
    (".part": the output's temporary file, ".spool": a JSON/NPZ column) fail as FailingFile."""

    def arm(kind: str, code: int, stage: str = "write", limit: int = 0) -> None:
        names: dict[int, str] = {}
        real_mkstemp, real_fdopen = tempfile.mkstemp, os.fdopen

        def mkstemp(*args, **kwargs):
            if stage == "open" and kwargs.get("suffix", "").endswith(kind):
                raise OSError(code, os.strerror(code))
            fd, name = real_mkstemp(*args, **kwargs)
            names[fd] = name
            return fd, name

        def fdopen(fd, *args, **kwargs):
            handle = real_fdopen(fd, *args, **kwargs)
            if names.get(fd, "").endswith(kind) and stage in ("write", "close"):
                return FailingFile(handle, code, stage, limit)
            return handle

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(os, "fdopen", fdopen)

    return arm


# -- a full disk and its relatives, at every stage of writing -------------------------------------
CASES = [  # (suffix, which file fails, errno, stage, bytes written before the fault)
    (".csv", ".part", errno.ENOSPC, "write", 0),
    (".csv", ".part", errno.ENOSPC, "write", 30_000),
    (".csv", ".part", errno.EDQUOT, "close", 0),
    (".csv", ".part", errno.EACCES, "open", 0),
    (".json", ".part", errno.ENOSPC, "write", 5_000),
    (".json", ".spool", errno.ENOSPC, "write", 0),
    (".json", ".spool", errno.EIO, "open", 0),
    (".json", ".part", errno.EIO, "close", 0),
    (".npz", ".part", errno.ENOSPC, "write", 5_000),
    (".npz", ".spool", errno.EDQUOT, "write", 0),
    (".npz", ".part", errno.ENOSPC, "close", 0),
]


@pytest.mark.parametrize("suffix,kind,code,stage,limit", CASES)
def test_run_output_fault_is_one_line(suffix, kind, code, stage, limit, tmp_path, inject, capsys):
    inject(kind, code, stage, limit)
    out = tmp_path / f"run{suffix}"
    assert main(["run", "--steps", "9000", "--out", str(out)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("descent-tui: error: cannot write ") and f"run{suffix}" in line
    assert line.endswith(f": {os.strerror(code)}")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_a_failed_rename_leaves_nothing(suffix, tmp_path, monkeypatch, capsys):
    def refuse(src, dst):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "replace", refuse)
    assert main(["run", "--steps", "50", "--out", str(tmp_path / f"run{suffix}")]) == 2
    assert one_error_line(capsys.readouterr().err).endswith(": Input/output error")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_train_output_fault_is_one_line(suffix, tmp_path, inject, capsys):
    inject(".part", errno.ENOSPC, "write", 100)
    assert main([*TINY_TRAIN, "--out", str(tmp_path / f"t{suffix}")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("descent-tui: error: cannot write ") and line.endswith(": No space left on device")
    assert os.listdir(tmp_path) == []


def test_experiment_output_fault_is_one_line(tmp_path, inject, capsys):
    inject(".part", errno.ENOSPC, "write", 100)
    out = tmp_path / "exp"
    assert main([*TINY_EXPERIMENT, "--out", str(out)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.startswith("descent-tui: error: cannot write ") and line.endswith(": No space left on device")
    assert os.listdir(out) == []  # the directory it was asked to create may stay; no file in it


def test_a_full_stdout_is_one_line():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "tui", "run", "--steps", "3000", "--out", "-"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == "descent-tui: error: cannot write standard output: No space left on device"


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs (root, and a kernel that lets this process mount), else the test is skipped."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("no mount command")
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_a_real_full_disk(suffix, tiny_tmpfs, capsys):
    # 5,000 rows are about 500 KB of CSV and 280 KB of spooled columns: far over 64 KiB
    assert main(["run", "--steps", "5000", "--out", str(tiny_tmpfs / f"x{suffix}")]) == 2
    assert one_error_line(capsys.readouterr().err).endswith(": No space left on device")
    assert os.listdir(tiny_tmpfs) == []


# -- a name longer than the file system allows ----------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["run", "--steps", "5", "--out", "{tmp}/" + "a" * 300 + ".csv"],
    ["run", "--steps", "5", "--out", "{tmp}/" + "a" * 300 + ".json"],
    ["run", "--steps", "5", "--out", "{tmp}/" + "a" * 300 + ".npz"],
    ["run", "--steps", "5", "--out", "{tmp}/" + "b" * 300 + "/x.csv"],
    [*TINY_TRAIN, "--out", "{tmp}/" + "a" * 300 + ".npz"],
    [*TINY_TRAIN, "--out", "{tmp}/" + "a" * 300 + ".json"],
    [*TINY_EXPERIMENT, "--out", "{tmp}/" + "d" * 300],
    [*TINY_EXPERIMENT, "--out", "{tmp}/" + "d" * 300 + "/sub"],
], ids=["run-csv", "run-json", "run-npz", "run-dir", "train-npz", "train-json", "experiment", "experiment-sub"])
def test_a_name_too_long_is_one_line(argv, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert line.endswith(": File name too long") and len(line) < 200  # the name is shortened
    assert os.listdir(tmp_path) == []


def test_a_name_near_the_limit_still_writes(tmp_path, capsys):
    """The temporary name is longer than the target's: it must not be what runs out of room."""
    out = tmp_path / ("a" * 250 + ".csv")  # 254 bytes: allowed by every common file system (255)
    assert main(["run", "--steps", "5", "--out", str(out)]) == 0
    assert os.listdir(tmp_path) == [out.name]
    assert len(out.read_text().splitlines()) == 7  # header + rows 0..5


# -- signals in the middle of a write -------------------------------------------------------------
def _wait_for(predicate, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("sig,status", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["TERM", "HUP"])
@pytest.mark.parametrize("suffix", [".csv", ".json", ".npz"])
def test_a_signal_during_a_write_leaves_nothing(suffix, sig, status, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "tui", "run", "--steps", "3000000", "--out",
                             str(out_dir / f"x{suffix}")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        # a CSV writes its .part as it goes; JSON and NPZ fill their spool files first
        started = _wait_for(lambda: any(os.path.getsize(p) > 0 for p in out_dir.iterdir()))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert started
    assert proc.returncode == status
    assert "Traceback" not in err and err == "\n" and out == ""  # a newline: the prompt starts clean
    assert os.listdir(out_dir) == []


# -- a closed pipe --------------------------------------------------------------------------------
def test_a_closed_pipe_exits_141_without_a_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "tui", "run", "--steps", "3000000", "--out", "-"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        assert proc.stdout.readline().startswith(b"step,lr,loss")  # like `| head -1`
        proc.stdout.close()
        err = proc.stderr.read()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 141 and err == b""


# -- an unknown flag points at the sub-command's help ---------------------------------------------
@pytest.mark.parametrize("argv,helps", [
    (["run", "--bogus"], "descent-tui run --help"),
    (["run", "--steps", "5", "--bogus=1", "extra"], "descent-tui run --help"),
    (["train", "--bogus"], "descent-tui train --help"),
    (["experiment", "overfit", "--out", "x", "--bogus"], "descent-tui experiment --help"),
    (["--bogus"], "descent-tui --help"),
])
def test_an_unknown_flag_points_at_the_sub_command_help(argv, helps, capsys):
    assert main(argv) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "unrecognized arguments: " in line and line.endswith(f"(see: {helps})")
    assert argv[-1] in line


def test_an_unknown_flag_is_shortened(capsys):
    assert main(["run", "--" + "x" * 100_000]) == 2
    assert len(one_error_line(capsys.readouterr().err)) < 200
