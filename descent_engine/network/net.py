"""A fully-connected ReLU network with a softmax loss, written for speed in plain NumPy.

Architecture (as the course's ``FullyConnectedNet``, without dropout/batch-norm)::

    {affine - relu} x (L - 1) - affine - softmax

Parameters are ``W1, b1, ..., WL, bL`` with ``W ~ N(0, weight_scale^2)`` and ``b = 0``. The
loss is the mean cross-entropy plus ``0.5 * reg * sum(W^2)`` over the weights (not the biases).

Speed: every array stays in the model's dtype (float32 data is never upcast), the forward pass
works in place (``matmul(out=)``, ``+= b``, ``maximum(out=)``), the backward pass skips the
gradient with respect to the input, and with ``reuse=True`` all activations and gradients live
in buffers kept between calls (the Solver uses this; the arrays returned are then overwritten by
the next call). The parameters, and the reused gradients, are views of one flat array each
(:meth:`FullyConnectedNet.flat_params`, :meth:`~FullyConnectedNet.flat_grads`): an elementwise
rule then updates the whole model in one call instead of one per array.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DTYPES = {"float32": np.float32, "float64": np.float64}


def _as_dtype(dtype) -> np.dtype:
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        dtype = DTYPES[dtype]
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


#: each view starts on a multiple of this many bytes (as NumPy's own allocations do), so the
#: BLAS calls on a view run as on an array of its own; the gaps between views are never read
ALIGN_BYTES = 64


def _flat_views(shapes: dict[str, tuple[int, ...]], dtype) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One flat array and, per name, a C-contiguous, aligned view of its slice in the given shape."""
    item = np.dtype(dtype).itemsize
    step = max(ALIGN_BYTES // item, 1)
    offsets, lo = [], 0
    for shape in shapes.values():
        offsets.append(lo)
        lo += -(-int(np.prod(shape)) // step) * step
    raw = np.zeros(lo + step, dtype)
    skip = (-raw.ctypes.data % ALIGN_BYTES) // item  # the first aligned element
    flat = raw[skip:skip + lo]
    views = {name: flat[o:o + int(np.prod(shape))].reshape(shape) for o, (name, shape) in zip(offsets, shapes.items())}
    return flat, views


def _flat_of(flat: np.ndarray | None, arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """``flat`` if every array in ``arrays`` is still one of its views (none replaced or copied)."""
    if flat is None:
        return None
    for a in arrays.values():
        if a.base is not flat.base:
            return None
    return flat


class _Workspace:
    """Buffers for one batch size: pre-activations/activations, their gradients, a relu mask."""

    def __init__(self, n: int, dims: Sequence[int], dtype: np.dtype) -> None:
        self.n = n
        self.acts = [np.empty((n, d), dtype) for d in dims[1:]]  # h1..h_{L-1}, scores
        self.dacts = [np.empty((n, d), dtype) for d in dims[1:-1]]  # dh1..dh_{L-1}
        self.mask = np.empty((n, max(dims[1:-1], default=1)), bool)
        self.ntmp = np.empty(n, dtype)
        self.rows = np.arange(n)


class FullyConnectedNet:
    """``FullyConnectedNet(hidden_dims, input_dim, num_classes, weight_scale, reg, dtype, rng)``.

    ``loss(X)`` returns class scores ``(N, C)``; ``loss(X, y)`` returns ``(loss, grads)`` with
    ``grads[name]`` shaped like ``params[name]``.
    """

    def __init__(self, hidden_dims: Sequence[int], input_dim: int, num_classes: int = 10,
                 weight_scale: float = 1e-2, reg: float = 0.0, dtype="float32",
                 rng: np.random.Generator | int | None = 0) -> None:
        hidden_dims = [int(h) for h in hidden_dims]
        if any(h < 1 for h in hidden_dims):
            raise ValueError(f"hidden sizes must be positive, got {hidden_dims}")
        if int(input_dim) < 1 or int(num_classes) < 2:
            raise ValueError(f"need input_dim >= 1 and num_classes >= 2, got {input_dim}, {num_classes}")
        if not weight_scale > 0:
            raise ValueError(f"weight_scale must be positive, got {weight_scale}")
        if reg < 0:
            raise ValueError(f"reg must be >= 0, got {reg}")
        self.dtype = _as_dtype(dtype)
        self.reg = float(reg)
        self.weight_scale = float(weight_scale)
        self.hidden_dims = hidden_dims
        self.dims = [int(input_dim), *hidden_dims, int(num_classes)]
        self.num_layers = len(self.dims) - 1
        self.num_classes = int(num_classes)
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        shapes: dict[str, tuple[int, ...]] = {}
        for i in range(self.num_layers):
            shapes[f"W{i + 1}"] = (self.dims[i], self.dims[i + 1])
            shapes[f"b{i + 1}"] = (self.dims[i + 1],)
        self._flat, self.params = _flat_views(shapes, self.dtype)  # the biases start at 0
        for i in range(self.num_layers):
            # drawn in float64 then cast, so float32 and float64 nets start from the same numbers
            W = self.params[f"W{i + 1}"]
            W[...] = (rng.standard_normal(W.shape) * self.weight_scale).astype(self.dtype)
        self._ws: dict[int, _Workspace] = {}
        self._grads: dict[str, np.ndarray] | None = None
        self._grads_flat: np.ndarray | None = None

    # ---------------------------------------------------------------------------------------
    def weight_names(self) -> list[str]:
        return [f"W{i + 1}" for i in range(self.num_layers)]

    def _workspace(self, n: int, reuse: bool) -> _Workspace:
        if not reuse:
            return _Workspace(n, self.dims, self.dtype)
        ws = self._ws.get(n)
        if ws is None:
            if len(self._ws) >= 4:  # a training size, an evaluation chunk and its remainder
                self._ws.clear()
            ws = self._ws[n] = _Workspace(n, self.dims, self.dtype)
        return ws

    def flat_params(self) -> np.ndarray | None:
        """The one flat array every parameter is a view of, or None once any was replaced."""
        return _flat_of(self._flat, self.params)

    def flat_grads(self, grads: dict[str, np.ndarray]) -> np.ndarray | None:
        """The flat array behind ``grads`` when they are the reused gradients (``loss(reuse=True)``),
        laid out as :meth:`flat_params`; else None."""
        if grads is not self._grads or grads.keys() != self.params.keys():
            return None
        return _flat_of(self._grads_flat, grads)

    def _grad_buffers(self, reuse: bool) -> dict[str, np.ndarray]:
        if reuse:
            if self._grads is None:
                self._grads_flat, self._grads = _flat_views({k: v.shape for k, v in self.params.items()},
                                                            self.dtype)
            return self._grads
        return {k: np.empty_like(v) for k, v in self.params.items()}

    def _forward(self, X: np.ndarray, ws: _Workspace) -> np.ndarray:
        p = self.params
        h = X
        last = self.num_layers - 1
        for i in range(self.num_layers):
            a = ws.acts[i]
            np.matmul(h, p[f"W{i + 1}"], out=a)
            a += p[f"b{i + 1}"]
            if i < last:
                np.maximum(a, 0, out=a)
            h = a
        return h

    def _check_X(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            X = X.reshape(X.shape[0], -1)
        if X.shape[1] != self.dims[0]:
            raise ValueError(f"X has {X.shape[1]} features, the network expects {self.dims[0]}")
        if X.dtype != self.dtype:
            X = X.astype(self.dtype)
        return X

    def scores(self, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """Class scores for ``X`` (in chunks, so large sets need little memory)."""
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.num_classes), self.dtype)
        for start in range(0, X.shape[0], batch_size):
            chunk = X[start:start + batch_size]
            ws = self._workspace(chunk.shape[0], reuse=True)
            out[start:start + chunk.shape[0]] = self._forward(chunk, ws)
        return out

    def predict(self, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        return np.argmax(self.scores(X, batch_size), axis=1)

    # ---------------------------------------------------------------------------------------
    def loss(self, X: np.ndarray, y: np.ndarray | None = None, *, reuse: bool = False):
        """Scores if ``y`` is None, else ``(loss, grads)``.

        ``reuse=True`` keeps activations and gradients in buffers owned by the model: faster,
        but the returned ``grads`` arrays are overwritten by the next call.
        """
        X = self._check_X(X)
        if y is None:
            return self.scores(X)
        y = np.asarray(y)
        n = X.shape[0]
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {y.shape}")
        ws = self._workspace(n, reuse)
        scores = self._forward(X, ws)
        p = self.params
        L = self.num_layers

        # softmax cross-entropy, in place on the scores buffer
        rows = ws.rows
        scores -= scores.max(axis=1, keepdims=True)
        correct = scores[rows, y]  # a copy (n values)
        np.exp(scores, out=scores)
        sums = np.sum(scores, axis=1, out=ws.ntmp)
        loss = float(np.mean(np.log(sums) - correct))
        # dscores = (softmax - onehot) / n, still in the scores buffer
        np.multiply(sums, n, out=sums)
        np.reciprocal(sums, out=sums)
        scores *= sums[:, None]
        scores[rows, y] -= self.dtype.type(1.0 / n)
        d = scores

        grads = self._grad_buffers(reuse)
        for i in range(L - 1, -1, -1):
            h_in = X if i == 0 else ws.acts[i - 1]
            W = p[f"W{i + 1}"]
            np.matmul(h_in.T, d, out=grads[f"W{i + 1}"])
            np.sum(d, axis=0, out=grads[f"b{i + 1}"])
            if i > 0:
                dh = ws.dacts[i - 1]
                np.matmul(d, W.T, out=dh)
                mask = ws.mask[:, :dh.shape[1]]
                np.greater(h_in, 0, out=mask)
                np.multiply(dh, mask, out=dh)
                d = dh

        if self.reg:
            reg = self.reg
            sq = 0.0
            for i in range(L):
                W = p[f"W{i + 1}"]
                flat = W.ravel()
                sq += float(np.dot(flat, flat))
                grads[f"W{i + 1}"] += W * self.dtype.type(reg)
            loss += 0.5 * reg * sq
        return loss, grads


# -- memory estimate (checked before a model is built) ------------------------------------------
def estimate_bytes(dims: Sequence[int], batch_size: int, dtype="float32", *, state_arrays: int = 0,
                   eval_sets: Sequence[int] = (), eval_chunk: int = 1000, data_rows: int = 0) -> int:
    """Bytes a Solver on a ``FullyConnectedNet(dims)`` holds at its peak, in Python ints (no overflow).

    Counted: the parameters, their gradients, the best-parameter copy, the update-ratio buffers
    (weights) and ``state_arrays`` rule-state arrays per parameter; the activation and gradient
    buffers (and the relu mask) of a training batch and of each chunk size the accuracy checks use
    (sets of ``eval_sets`` examples in chunks of ``eval_chunk``: the model keeps one buffer per
    size) with the largest check's score array; the minibatch copy; and ``data_rows`` feature rows
    held in the chosen dtype. Small per-call temporaries are ignored.
    """
    item = _as_dtype(dtype).itemsize
    dims = [int(d) for d in dims]
    n_params = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    widest_w = max((a * b for a, b in zip(dims[:-1], dims[1:])), default=0)
    per_row = sum(dims[1:]) + sum(dims[1:-1])  # activations and their gradients, per example
    mask = max(dims[1:-1], default=1)  # bytes per example (bool)

    def workspace(n: int) -> int:
        return n * (per_row + 1) * item + n * mask + n * 8

    batch, chunk = int(batch_size), int(eval_chunk)
    sizes = {min(chunk, int(n)) for n in eval_sets if n > 0} | {int(n) % chunk for n in eval_sets if n > chunk}
    sizes = sizes - {0, batch}
    total = (4 + int(state_arrays)) * n_params * item + widest_w * item  # + the reg term's W * reg
    total += workspace(batch) + batch * (dims[0] * item + 8)
    total += sum(workspace(n) for n in sizes) + max(eval_sets, default=0) * dims[-1] * item
    total += int(data_rows) * dims[0] * item
    return total


def state_arrays(rule, hp) -> int:
    """How many parameter-sized arrays ``rule`` keeps per parameter (from its state for one number)."""
    try:
        state = rule.init(np.zeros(1), hp)
    except Exception:  # pragma: no cover - a rule whose init needs more: assume the most any rule keeps
        return 3
    import dataclasses

    if dataclasses.is_dataclass(state):
        values = [getattr(state, f.name) for f in dataclasses.fields(state)]
    elif isinstance(state, dict):
        values = list(state.values())
    elif isinstance(state, (tuple, list)):
        values = list(state)
    else:
        values = list(getattr(state, "__dict__", {}).values()) or [
            getattr(state, s) for s in getattr(type(state), "__slots__", ()) if hasattr(state, s)]
    return sum(int(v.size) for v in values if isinstance(v, np.ndarray))


def available_memory() -> int | None:
    """The machine's physical memory in bytes (``os.sysconf``), or None where it cannot be read."""
    import os

    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
    return int(pages) * int(size) if pages > 0 and size > 0 else None


def format_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover
