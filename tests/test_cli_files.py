"""Output files look like files any tool writes; a non-npz dataset file is named as such.

JSON and NPZ are assembled from spooled columns: the same file as from every row in memory, in
flat memory.
"""

import io
import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from descent_engine.network.data import DatasetError, load_npz
from descent_engine.run import Run, Settings
from tui.cli import main
from tui.cli.common import atomic_output
from tui.cli.output import ArrayColumns, write_json


def test_atomic_output_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "out.csv"
        with atomic_output(target) as fh:
            fh.write("x\n")
        assert (os.stat(target).st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_text_file_is_not_called_pickled(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("{}")
    with pytest.raises(DatasetError, match="is not a NumPy .npz archive") as err:
        load_npz(path)
    assert "pickle" not in str(err.value)


# -- JSON and NPZ are assembled from spooled columns: the same file as from the rows in memory ------
KEYS = ("step", "lr", "loss", "w", "grad")
# (flags, the same run as Settings, steps): 20,000 steps cross the writers' 8,192-row chunks; the
# mini-batch run draws from the rng at every step; the last one diverges at step 1
SAME_RUNS = [
    (["--problem", "notes-ls", "--batch-size", "10", "--rule", "momentum", "--lr", "1e-4"],
     Settings("notes-ls", "momentum", problem_params={"batch_size": 10}, rule_params={"lr": 1e-4}), 20_000),
    (["--problem", "rosenbrock", "--rule", "adam", "--lr", "0.01", "--schedule", "cosine", "--period", "300"],
     Settings("rosenbrock", "adam", "cosine", rule_params={"lr": 0.01}, schedule_params={"period": 300}), 8192),
    (["--problem", "rosenbrock", "--rule", "gd", "--lr", "1000"],
     Settings("rosenbrock", "gd", rule_params={"lr": 1000.0}), 50),
]


def _in_memory(settings: Settings, steps: int) -> dict[str, np.ndarray]:
    run = Run(settings, capacity=None)  # every row kept, as the writers did before spooling
    run.step(steps)
    return run.history.arrays()


def _nulls(value):
    if isinstance(value, list):
        return [_nulls(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _reference_json(settings: dict, arrays: dict[str, np.ndarray], summary: dict) -> str:
    """The document's layout written out: json.dumps writes a float as repr(float), like the CLI."""
    history = ", ".join(f'"{k}": ' + json.dumps(_nulls(arrays[k].tolist()), separators=(",", ":"),
                                                 allow_nan=False) for k in KEYS)
    return ('{"settings": ' + json.dumps(settings) + ', "history": {' + history + '}, "summary": '
            + json.dumps(summary) + "}\n")


@pytest.mark.parametrize("flags,settings,steps", SAME_RUNS, ids=["minibatch", "chunk-edge", "diverges"])
def test_json_is_the_same_bytes_as_from_every_row_in_memory(flags, settings, steps, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", *flags, "--steps", str(steps), "--out", str(out)]) == 0
    text = out.read_text()
    doc = json.loads(text)
    arrays = _in_memory(settings, steps)
    assert doc["summary"]["steps"] == arrays["step"][-1] and doc["summary"]["final_loss"] == arrays["loss"][-1]
    assert text == _reference_json(doc["settings"], arrays, doc["summary"])
    assert os.listdir(tmp_path) == ["r.json"]  # the spool files are gone


@pytest.mark.parametrize("flags,settings,steps", SAME_RUNS, ids=["minibatch", "chunk-edge", "diverges"])
def test_npz_holds_what_np_savez_writes(flags, settings, steps, tmp_path, capsys):
    out = tmp_path / "r.npz"
    assert main(["run", *flags, "--steps", str(steps), "--out", str(out)]) == 0
    arrays = _in_memory(settings, steps)
    with np.load(out, allow_pickle=False) as z:
        for k in KEYS:
            assert z[k].dtype == arrays[k].dtype and z[k].shape == arrays[k].shape
            assert z[k].tobytes() == arrays[k].tobytes()  # bit for bit (NaN included)
        meta = {k: np.array(str(z[k])) for k in ("settings", "summary")}
    assert json.loads(str(meta["summary"]))["steps"] == arrays["step"][-1]
    reference = io.BytesIO()
    np.savez(reference, **{k: arrays[k] for k in KEYS}, **meta)
    with zipfile.ZipFile(out) as ours, zipfile.ZipFile(reference) as theirs:
        assert ours.namelist() == theirs.namelist()
        for name in theirs.namelist():  # each .npy entry, header and data, byte for byte
            assert ours.read(name) == theirs.read(name), name
    assert os.listdir(tmp_path) == ["r.npz"]


def test_json_writes_nan_and_inf_as_null():
    arrays = {"step": np.array([0, 1]), "lr": np.array([0.5, math.inf]), "loss": np.array([1.0, math.nan]),
              "w": np.array([[0.1, -math.inf], [2.0, 3.0]]), "grad": np.array([[1e300, 0.0], [math.nan, 1.0]])}
    out = io.StringIO()
    write_json(out, {"lr": math.inf}, ArrayColumns(arrays), {"final_loss": math.nan})
    assert out.getvalue() == ('{"settings": {"lr": null}, "history": {"step": [0,1], "lr": [0.5,null], '
                              '"loss": [1.0,null], "w": [[0.1,null],[2.0,3.0]], "grad": [[1e+300,0.0],[null,1.0]]}, '
                              '"summary": {"final_loss": null}}\n')


MEMORY_PROBE = """
import os, resource, sys
from tui.cli import main
d = sys.argv[1]
for ext in (".json", ".npz"):  # imports and the allocator warmed up on a short run
    assert main(["run", "--steps", "2000", "--out", os.path.join(d, "warm" + ext)]) == 0
peaks = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]
for ext in (".json", ".npz"):
    assert main(["run", "--steps", "200000", "--out", os.path.join(d, "big" + ext)]) == 0
    peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(*peaks)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KiB on Linux only")
def test_memory_stays_flat_for_a_long_json_and_npz_run(tmp_path):
    # 200,001 rows of step, lr, loss, w (2), grad (2) are 200,001 * 56 B = 11.2 MB as arrays, more
    # with the engine's running average (14.4 MB) and the copies a growing history makes. Holding
    # the rows raised the peak by about 30 MB; spooled, the peak must grow by less than 10 MB.
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(tmp_path)], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    warm, after_json, after_npz = (int(x) * 1024 for x in proc.stdout.split())
    assert after_json - warm < 10e6 and after_npz - warm < 10e6, (warm, after_json, after_npz)
    assert sorted(os.listdir(tmp_path)) == ["big.json", "big.npz", "warm.json", "warm.npz"]
