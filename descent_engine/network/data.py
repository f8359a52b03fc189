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

User files are read by :mod:`.npz_reader` (never unpickling, never opening anything but a regular
file, bounding what is inflated and allocated before it is); every problem is a
:class:`DatasetError` whose message is one line naming the file and the problem. Features are used
as given (the course's CIFAR-10 is mean-subtracted: do that before saving); ``X`` may be image-shaped
(``N x ...``) and is flattened to ``N x features``.

Labels are class numbers ``0..C-1`` (integers, or floats with integer values). ``C`` is one more
than the largest label and must be at most :data:`MAX_CLASSES` and at most the number of examples
(train + val): more classes than examples means most classes have none, which is a label column
gone wrong (ids, or unshifted 1-based labels of a tiny file), not a classification problem. This
also bounds the network's output layer, which has ``C`` units.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from ..registry import Registry

from .npz_reader import DatasetError, read_arrays, shown

KEYS = ("X_train", "y_train", "X_val", "y_val")
#: the most classes a dataset may have (labels 0..MAX_CLASSES-1)
MAX_CLASSES = 100_000
#: dtype kinds each array of a user file may hold, and the words for a refusal
KINDS = {"X_train": ("biuf", "real numbers (bool, int or float)"), "y_train": ("iuf", "integer class labels"),
         "X_val": ("biuf", "real numbers (bool, int or float)"), "y_val": ("iuf", "integer class labels")}


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
            top = max(label_range(self.y_train, "y_train", self.name)[1],
                      label_range(self.y_val, "y_val", self.name)[1])
            if top >= MAX_CLASSES:
                raise DatasetError(f"{self.name}: label {shown(str(top), 40)} is beyond the at most {MAX_CLASSES} "
                                   "classes supported (labels 0..C-1)")
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


DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset", hint="or a path to an .npz file")
for _name, _make in (("digits", digits), ("spirals", spirals), ("blobs", blobs)):
    DATASETS.register(_name, _make)


# ---------------------------------------------------------------------------------------------
def _label_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def label_range(y: np.ndarray, yk: str, where: str) -> tuple[int, int]:
    """The smallest and largest label of ``y`` as exact Python ints ((0, -1) if empty), refusing
    labels that are not non-negative integers (NaN, infinity, 1.5, -1, a non-numeric dtype)."""
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if np.any(bad):
            raise DatasetError(f"{where}: {yk} has a non-integer label "
                               f"({_label_text(float(y[np.argmax(bad)]))}); labels must be 0..C-1")
    elif y.dtype.kind not in "iu":
        raise DatasetError(f"{where}: {yk} must hold integer class labels, got dtype {y.dtype}")
    if not y.size:
        return 0, -1
    lo, hi = y.min().item(), y.max().item()
    if lo < 0:
        raise DatasetError(f"{where}: {yk} has a negative label ({_label_text(lo)}); labels must be 0..C-1")
    return int(lo), int(hi)


def check_labels(y: np.ndarray, yk: str, where: str, examples: int) -> np.ndarray:
    """``y`` as int64 class numbers, refusing a label beyond :data:`MAX_CLASSES` or the number of
    ``examples`` (see the module docstring), which also refuses whatever does not fit int64."""
    _, hi = label_range(y, yk, where)
    if hi >= min(MAX_CLASSES, examples):
        raise DatasetError(f"{where}: {yk} has label {_label_text(y.max().item())}; labels must be 0..C-1 with "
                           f"C at most the number of examples ({examples}) and at most {MAX_CLASSES}")
    return y.astype(np.int64)


def load_npz(path: str | os.PathLike) -> Dataset:
    """Read ``X_train, y_train, X_val, y_val`` from a user ``.npz`` (never unpickling anything)."""
    where = shown(os.fsdecode(path))
    arrays = read_arrays(path, where, KINDS)
    X_train, y_train = _check_pair(arrays, "train", where)
    X_val, y_val = _check_pair(arrays, "val", where)
    if X_val.shape[1] != X_train.shape[1]:
        raise DatasetError(f"{where}: X_val has {X_val.shape[1]} features but X_train has {X_train.shape[1]}")
    examples = X_train.shape[0] + X_val.shape[0]
    y_train = check_labels(y_train, "y_train", where, examples)
    y_val = check_labels(y_val, "y_val", where, examples)
    return Dataset(X_train, y_train, X_val, y_val, name=shown(os.path.basename(os.fsdecode(path)) or where))


def _check_pair(arrays: Mapping[str, np.ndarray], part: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    xk, yk = f"X_{part}", f"y_{part}"
    X, y = arrays[xk], arrays[yk]
    if X.ndim < 2:
        raise DatasetError(f"{where}: {xk} must be N x features (or image-shaped N x ...), got shape {X.shape}")
    if X.shape[0] == 0:
        raise DatasetError(f"{where}: {xk} has no rows (shape {X.shape})")
    features = math.prod(X.shape[1:])
    if features == 0:
        raise DatasetError(f"{where}: {xk} has no features (shape {X.shape})")
    X = X.reshape(X.shape[0], features)
    if X.dtype.kind == "f" and not np.all(np.isfinite(X)):
        raise DatasetError(f"{where}: {xk} contains NaN or infinity")
    if y.ndim != 1:
        raise DatasetError(f"{where}: {yk} must be 1-D (one label per row), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise DatasetError(f"{where}: {yk} has {y.shape[0]} labels but {xk} has {X.shape[0]} rows")
    return X, y


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
    if text.endswith(".npz") or os.sep in text or (os.altsep and os.altsep in text) or _exists(text):
        return load_npz(text)
    raise DatasetError(DATASETS.unknown_message(text))


def _exists(text: str) -> bool:
    """Whether ``text`` names something on disk (False, not OSError, for a name too long to be one)."""
    try:
        os.stat(text)
    except (OSError, ValueError):
        return False
    return True
