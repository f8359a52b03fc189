"""What `pip install .` ships: every stylesheet the screens load is matched by the package data
(an editable install would hide a missing one; the installed app crashes on the screen)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_stylesheet_is_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["tui"]
    sheets = [p.relative_to(ROOT / "tui").as_posix() for p in (ROOT / "tui").rglob("*.tcss")]
    assert sheets
    missing = [s for s in sheets if not any(fnmatch.fnmatch(s, pat) and s.count("/") == pat.count("/")
                                            for pat in patterns)]
    assert missing == []
