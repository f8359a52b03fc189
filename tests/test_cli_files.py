"""Output files look like files any tool writes; a non-npz dataset file is named as such."""

import os

import pytest

from descent_engine.network.data import DatasetError, load_npz
from tui.cli_common import atomic_output


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
