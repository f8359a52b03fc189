"""Classification datasets that need no download, and a checked loader for the user's own ``.npz``.

Built-in:

* ``digits``: the 8x8 handwritten digits (1797 images, 64 features, labels 0-9), shipped as
  ``digits.npz``. Source: the UCI "Optical Recognition of Handwritten Digits" data set (E. Alpaydin,
  C. Kaynak, 1998; https://doi.org/10.24432/C50P49), licensed CC BY 4.0, exported once from
  ``sklearn.datasets.load_digits`` (scikit-learn is not needed at run time). Preprocessed as the
  course preprocesses CIFAR-10 (raw 8-bit pixels, minus the mean image of the training split),
  with one step first: the 4-bit pixels 0..16 are put on the 8-bit scale 0..255 (times 255/16),
  so each feature has the magnitude the note's settings were chosen for (per-feature RMS about
  69, CIFAR-10's is about 63). Why it matters: with the note's weight_scale 5e-2 and five hidden
  layers of 100, each layer scales the signal by about 0.05 * sqrt(100 / 2) = 0.35, so inputs
  in [0, 1] (about 140 times smaller) give initial scores of about 1e-3 and sgd / sgd_momentum
  at the note's lr 1e-2 stay near chance for hundreds of steps; on the 8-bit scale the scores
  start at about 0.15 (about 1 on CIFAR-10, which has 3072 features) and the note's settings train.
* ``spirals``: the interleaved-spirals toy problem (2 features), seeded.
* ``blobs``: isotropic Gaussian clusters, seeded.

A :class:`Dataset` is a mapping with the keys the course's ``Solver`` reads (``X_train``,
``y_train``, ``X_val``, ``y_val``). The split depends only on the dataset's ``seed``, so training
runs with different seeds see the same data.

User files are read with ``allow_pickle=False``; every problem is a :class:`DatasetError` whose
message is one line naming the file and the problem. Features are used as given (the course's
CIFAR-10 is mean-subtracted: do that before saving).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np

KEYS = ("X_train", "y_train", "X_val", "y_val")


class DatasetError(ValueError):
    """A dataset cannot be built or read (message is one user-facing line)."""


@dataclass(frozen=True)
class Dataset(Mapping[str, np.ndarray]):
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    name: str = "data"
    num_classes: int = field(default=0)

    def __post_init__(self) -> None:
        if not self.num_classes:
            top = max(int(self.y_train.max(initial=0)), int(self.y_val.max(initial=0)))
            object.__setattr__(self, "num_classes", max(top + 1, 2))

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(KEYS)

    def __len__(self) -> int:
        return len(KEYS)

    @property
    def num_features(self) -> int:
        return int(self.X_train.shape[1])

    def subset(self, num_train: int) -> "Dataset":
        """The first ``num_train`` training examples (the note's ``small_data``), same validation set."""
        n = min(int(num_train), self.X_train.shape[0])
        return replace(self, X_train=self.X_train[:n], y_train=self.y_train[:n])

    def describe(self) -> str:
        return (f"{self.name}: {self.X_train.shape[0]} train / {self.X_val.shape[0]} val, "
                f"{self.num_features} features, {self.num_classes} classes")


def _split(X: np.ndarray, y: np.ndarray, val_fraction: float, seed: int, name: str) -> Dataset:
    if not 0.0 < val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be in (0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(X.shape[0])
    n_val = max(1, int(round(X.shape[0] * val_fraction)))
    val, train = order[:n_val], order[n_val:]
    return Dataset(X[train], y[train], X[val], y[val], name=name)


def spirals(n_per_class: int = 300, classes: int = 3, noise: float = 0.2, val_fraction: float = 0.2,
            seed: int = 0) -> Dataset:
    """``classes`` interleaved spiral arms in the plane (the CS231n toy problem)."""
    if n_per_class < 2 or classes < 2:
        raise DatasetError(f"spirals needs n_per_class >= 2 and classes >= 2, got {n_per_class}, {classes}")
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), classes)
    y = np.repeat(np.arange(classes), n_per_class)
    t = y * 4.0 + r * 4.0 + rng.standard_normal(r.shape) * noise
    X = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return _split(X, y, val_fraction, seed, "spirals")


def blobs(n: int = 1000, classes: int = 4, features: int = 2, spread: float = 1.0,
          val_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """``classes`` Gaussian clusters (std ``spread``) around centres drawn in [-5, 5]^features."""
    if n < 2 * classes or classes < 2 or features < 1:
        raise DatasetError(f"blobs needs classes >= 2, features >= 1 and n >= 2 * classes, got {n}, {classes}, {features}")
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-5.0, 5.0, (classes, features))
    y = np.arange(n) % classes
    X = centres[y] + rng.standard_normal((n, features)) * spread
    return _split(X, y, val_fraction, seed, "blobs")


#: digits' 4-bit pixels (0..16) -> the 8-bit scale (0..255) of the course's CIFAR-10 raw pixels
DIGITS_TO_8BIT = 255.0 / 16.0


def digits(val_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The 8x8 handwritten digits (UCI optdigits test part, CC BY 4.0), as the course's CIFAR-10.

    Pixels are put on the 8-bit scale (``x * 255 / 16``) and the mean image of the training split
    is subtracted from both splits (the course's ``X -= mean_image``), so features are centred,
    roughly in [-255, 255]. ``Dataset.subset`` keeps that mean (the course takes the mean of the
    whole training set before cutting ``small_data``).
    """
    with resources.files(__package__).joinpath("digits.npz").open("rb") as fh, np.load(fh) as f:
        X = f["X"].astype(np.float64) * DIGITS_TO_8BIT
        y = f["y"].astype(np.int64)
    data = _split(X, y, val_fraction, seed, "digits")
    mean_image = data.X_train.mean(axis=0)
    return replace(data, X_train=data.X_train - mean_image, X_val=data.X_val - mean_image)


DATASETS: dict[str, Callable[..., Dataset]] = {"digits": digits, "spirals": spirals, "blobs": blobs}


# ---------------------------------------------------------------------------------------------
def load_npz(path: str | os.PathLike) -> Dataset:
    """Read ``X_train, y_train, X_val, y_val`` from a user ``.npz`` (never unpickling anything)."""
    p = Path(path)
    where = str(p)
    if not p.exists():
        raise DatasetError(f"dataset file {where} does not exist")
    if p.is_dir():
        raise DatasetError(f"dataset file {where} is a directory")
    with open(p, "rb") as fh:
        magic = fh.read(6)
    if not (magic.startswith(b"PK") or magic == b"\x93NUMPY"):
        raise DatasetError(f"{where} is not a NumPy .npz archive (save X_train, y_train, X_val, y_val "
                           "with np.savez)")
    try:
        archive = np.load(p, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DatasetError(f"{where} holds pickled data; save plain numeric arrays with np.savez") from None
        raise DatasetError(f"{where} is not a NumPy .npz archive ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{where} is not a readable NumPy .npz archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DatasetError(f"{where} is a single .npy array; need an .npz with {', '.join(KEYS)}")
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for key in KEYS:
            if key not in archive.files:
                raise DatasetError(f"{where} has no {key!r} array (needs {', '.join(KEYS)})")
            try:
                arrays[key] = archive[key]
            except ValueError:
                raise DatasetError(f"{where}: {key} holds Python objects (pickled); save plain numeric arrays") from None
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise DatasetError(f"{where}: cannot read {key} ({exc})") from None
    X_train, y_train = _check_pair(arrays, "train", where)
    X_val, y_val = _check_pair(arrays, "val", where)
    if X_train.shape[0] == 0:
        raise DatasetError(f"{where}: X_train has no rows")
    if X_val.shape[1] != X_train.shape[1]:
        raise DatasetError(f"{where}: X_val has {X_val.shape[1]} features but X_train has {X_train.shape[1]}")
    return Dataset(X_train, y_train, X_val, y_val, name=p.name)


def _check_pair(arrays: Mapping[str, np.ndarray], part: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    xk, yk = f"X_{part}", f"y_{part}"
    X, y = arrays[xk], arrays[yk]
    if X.dtype.kind not in "biuf":
        raise DatasetError(f"{where}: {xk} must hold numbers, got dtype {X.dtype}")
    if X.ndim < 2:
        raise DatasetError(f"{where}: {xk} must be N x features (or image-shaped N x ...), got shape {X.shape}")
    X = X.reshape(X.shape[0], -1)
    if X.shape[1] == 0:
        raise DatasetError(f"{where}: {xk} has no features (shape {X.shape})")
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        raise DatasetError(f"{where}: {xk} contains NaN or infinity")
    if y.ndim != 1:
        raise DatasetError(f"{where}: {yk} must be 1-D (one label per row), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise DatasetError(f"{where}: {yk} has {y.shape[0]} labels but {xk} has {X.shape[0]} rows")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if np.any(bad):
            raise DatasetError(f"{where}: {yk} has a non-integer label ({y[np.argmax(bad)]!r}); labels must be 0..C-1")
    elif y.dtype.kind not in "iu":
        raise DatasetError(f"{where}: {yk} must hold integer class labels, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise DatasetError(f"{where}: {yk} has a negative label ({y.min()!r}); labels must be 0..C-1")
    return X, y.astype(np.int64)


def dataset_names() -> list[str]:
    return list(DATASETS)


def load_dataset(name_or_path: str | os.PathLike, seed: int = 0, **options: Any) -> Dataset:
    """A built-in dataset by name (``options`` are its size parameters) or a user ``.npz`` path."""
    text = str(name_or_path)
    if text in DATASETS:
        try:
            return DATASETS[text](seed=seed, **options)
        except TypeError as exc:
            raise DatasetError(f"dataset {text}: {exc}") from None
    if text.endswith(".npz") or os.sep in text or Path(text).exists():
        return load_npz(text)
    raise DatasetError(f"unknown dataset {text!r} (known: {', '.join(DATASETS)}, or a path to an .npz file)")
