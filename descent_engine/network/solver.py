"""Minibatch training of a model with any registered update rule and learning-rate schedule.

The vocabulary is the course's ``Solver`` (``loss_history``, ``train_acc_history``,
``val_acc_history``, ``log_acc_iteration_history``, ``best_val_acc``, ``best_params``,
``record_histories_as_npz``). Differences, on purpose:

* Update rules and schedules come from :mod:`descent_engine.rules` and
  :mod:`descent_engine.schedules`; ``optim_config`` accepts the note's ``learning_rate`` and
  ``epsilon`` as aliases of the registry's ``lr`` and ``eps``. Each parameter array has its own
  rule state. The schedule is applied per epoch: ``lr_t = schedule.lr(epoch, lr, hp)``.
* Randomness comes from ``np.random.default_rng(seed)`` (minibatches, drawn with replacement
  as the course's ``np.random.choice(N, B)``, and the training subset used for accuracy), so the
  numbers do not match runs of the course code seeded through ``np.random.seed``/``torch``.
* Training accuracy is measured on one fixed random subset of ``num_train_samples`` examples
  (the course draws a new subset at each check), so consecutive points differ only by training.
* Accuracy is logged at the first iteration, at each epoch end and at the last iteration; with
  ``log_acc_iteration=True`` at every iteration (as the course), or with an integer ``k`` every
  ``k`` iterations (a cheaper middle ground for large validation sets). A check is one forward
  pass over at most ``num_train_samples`` + ``num_val_samples`` examples.
* ``step()`` trains one iteration and returns a :class:`StepResult`, so a UI can drive training
  in small slices; ``train()`` loops over ``step()``. A non-finite loss stops training
  (``diverged``). ``num_iterations`` (optional) fixes the number of steps whatever the epoch
  length, so runs with different batch sizes can take the same number of steps; the last epoch
  may then be partial.
* Per iteration it also records the learning rate (``lr_history``) and, per layer,
  ``||delta W|| / ||W||`` (``update_ratio_history``; weights only, ``W`` before the update,
  ``delta W`` the change actually applied).
* ``full_batch=True`` (with ``batch_size`` = the training set's size) steps on the whole set in
  order instead of a sample: full-batch gradient descent, as the edge-of-stability experiment needs.
* Speed: the rule's ``update_inplace`` updates the model's parameter arrays and each array's own
  state in place (``inplace=False`` takes the pure ``update``, the reference, instead). The model's
  arrays are therefore mutated, never replaced: anything kept across steps (``best_params``) is a copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..params import ParamError
from ..rules import get_rule
from ..schedules import get_schedule

#: the note's optim_config names -> the registry's hyper-parameter names
CONFIG_ALIASES = {"learning_rate": "lr", "epsilon": "eps"}


@dataclass(frozen=True)
class StepResult:
    iteration: int  # 0-based index of the iteration just trained
    epoch: int  # epochs completed after this iteration
    loss: float
    lr: float
    epoch_end: bool
    train_acc: float | None  # set when accuracy was logged at this iteration
    val_acc: float | None
    done: bool
    diverged: bool


def normalise_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Map the note's names (``learning_rate``, ``epsilon``) onto the registry's."""
    out: dict[str, Any] = {}
    for key, value in (config or {}).items():
        name = CONFIG_ALIASES.get(key, key)
        if name in out:
            raise ParamError(f"optim_config gives {name!r} twice (as {key!r} and its alias)")
        out[name] = value
    return out


class Solver:
    def __init__(self, model, data: Mapping[str, np.ndarray], *, update_rule: str = "sgd",
                 optim_config: Mapping[str, Any] | None = None, lr_schedule: str = "constant",
                 schedule_config: Mapping[str, Any] | None = None, batch_size: int = 100,
                 num_epochs: int = 10, seed: int = 0, num_train_samples: int | None = 1000,
                 num_val_samples: int | None = None, print_every: int = 10, verbose: bool = True,
                 log_acc_iteration: bool | int = False, print_fn: Callable[[str], None] = print,
                 num_iterations: int | None = None, inplace: bool = True, checked: bool = False,
                 full_batch: bool = False) -> None:
        self.model = model
        self.rule = get_rule(update_rule)
        self.update_rule = self.rule.name
        self.schedule = get_schedule(lr_schedule)
        if checked:  # TrainConfig.build: the config has validated and resolved all of these already
            self.hp = dict(optim_config or {})
            self.schedule_hp = dict(schedule_config or {})
        else:  # used as a library: the same checks, through the same Params
            self.hp = self.rule.hparams(normalise_config(optim_config))
            self.schedule_hp = self.schedule.hparams(schedule_config)
            _check_sizes(batch_size, num_epochs, num_iterations)
        self.batch_size = int(batch_size)
        self.num_epochs = int(num_epochs)
        self.seed = seed
        self.print_every = max(int(print_every), 1)
        self.verbose = verbose
        self.print_fn = print_fn
        self.log_every = 1 if log_acc_iteration is True else int(log_acc_iteration or 0)

        dtype = model.dtype
        self.X_train = _features(data["X_train"], dtype)
        self.y_train = np.asarray(data["y_train"], dtype=np.intp)
        self.X_val = _features(data["X_val"], dtype)
        self.y_val = np.asarray(data["y_val"], dtype=np.intp)
        self.num_train = self.X_train.shape[0]
        if self.num_train < 1:
            raise ParamError("the training set is empty")
        if self.batch_size > self.num_train:  # only the Solver sees the data when used as a library
            raise ParamError(f"batch_size must be at most the number of training examples ({self.num_train}), "
                             f"got {self.batch_size}")
        self.rng = np.random.default_rng(seed)
        # fixed subsets for accuracy checks (cheap and noise-free from one check to the next)
        self._acc_train = _subset(self.X_train, self.y_train, num_train_samples, self.rng)
        self._acc_val = _subset(self.X_val, self.y_val, num_val_samples, self.rng)

        self.iterations_per_epoch = max(self.num_train // self.batch_size, 1)
        if num_iterations is None:
            self.num_iterations = self.num_epochs * self.iterations_per_epoch
        else:
            self.num_iterations = int(num_iterations)
            self.num_epochs = -(-self.num_iterations // self.iterations_per_epoch)  # the last may be partial
        self.inplace = bool(inplace) and self.rule.update_inplace is not None
        #: every step on the whole training set, in order (full-batch GD; needs batch_size = the set's size)
        self.full_batch = bool(full_batch)
        if self.full_batch and self.batch_size != self.num_train:
            raise ParamError(f"a full batch is the whole training set: batch_size must be {self.num_train}, "
                             f"got {self.batch_size}")
        self._xb = np.empty((self.batch_size, self.X_train.shape[1]), dtype)
        self._yb = np.empty(self.batch_size, np.intp)
        self.weight_names = [k for k in model.params if k.startswith("W")]
        # W before each update, then delta W (one buffer per weight array, for the update ratios)
        self._before = {k: np.empty_like(model.params[k]) for k in self.weight_names}
        self._reset()

    # ---------------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.t = 0
        self.epoch = 0
        self.diverged = False
        self.best_val_acc = 0.0
        self.best_params: dict[str, np.ndarray] = {}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.log_acc_iteration_history: list[int] = []
        self.lr_history: list[float] = []
        self._ratios: list[np.ndarray] = []
        flat = self._flat_params()
        if flat is None:
            self._flat_state = None
            self.optim_states = {k: self.rule.init(w, self.hp) for k, w in self.model.params.items()}
        else:  # one state for the flat array; each parameter's state views its slice
            self._flat_state = self.rule.init(flat, self.hp)
            self.optim_states = {k: _state_view(self._flat_state, flat, w) for k, w in self.model.params.items()}

    def _flat_params(self) -> np.ndarray | None:
        flat_params = getattr(self.model, "flat_params", None)
        return flat_params() if self.inplace and flat_params is not None else None

    @property
    def done(self) -> bool:
        return self.diverged or self.t >= self.num_iterations

    @property
    def update_ratio_history(self) -> np.ndarray:
        """``(iterations, layers)`` array of ``||delta W|| / ||W||``; columns follow ``weight_names``."""
        if not self._ratios:
            return np.zeros((0, len(self.weight_names)))
        return np.vstack(self._ratios)

    def current_lr(self) -> float:
        return self.schedule.lr(self.epoch, self.hp["lr"], self.schedule_hp)

    # ---------------------------------------------------------------------------------------
    def check_accuracy(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
        if X.shape[0] == 0:
            return float("nan")
        return float(np.mean(self.model.predict(X, batch_size) == y))

    def step(self) -> StepResult:
        """Train one iteration (one minibatch); log accuracy when due.

        NumPy's overflow/invalid warnings are silenced here: a diverging rate makes inf/nan on
        purpose, and the Solver reports it once (``diverged``) instead.
        """
        if self.done:
            raise RuntimeError("training is finished")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return self._step()

    def _step(self) -> StepResult:
        t = self.t
        lr = self.current_lr()
        if self.full_batch:
            loss, grads = self.model.loss(self.X_train, self.y_train, reuse=True)
        else:
            idx = self.rng.integers(0, self.num_train, size=self.batch_size)
            np.take(self.X_train, idx, axis=0, out=self._xb)
            np.take(self.y_train, idx, out=self._yb)
            loss, grads = self.model.loss(self._xb, self._yb, reuse=True)
        self.loss_history.append(loss)
        self.lr_history.append(lr)
        if not math.isfinite(loss):
            self.diverged = True
            self.t += 1
            if self.verbose:
                self.print_fn(f"diverged at iteration {t}: loss is {loss}")
            return StepResult(t, self.epoch, loss, lr, False, None, None, True, True)

        ratios = self._update(grads, lr)
        self._ratios.append(ratios)

        self.t += 1
        epoch_end = self.t % self.iterations_per_epoch == 0
        if epoch_end:
            self.epoch += 1
        first, last = t == 0, self.t == self.num_iterations
        if self.verbose and t % self.print_every == 0:
            self.print_fn(f"(Iteration {t + 1} / {self.num_iterations}) loss: {loss:f}")
        train_acc = val_acc = None
        if first or last or epoch_end or (self.log_every and self.t % self.log_every == 0):
            train_acc, val_acc = self._log_accuracy(t)
            if self.verbose and (first or last or epoch_end):
                self.print_fn(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; "
                              f"val_acc: {val_acc:f}")
        return StepResult(t, self.epoch, loss, lr, epoch_end, train_acc, val_acc, self.done, False)

    def _update(self, grads: Mapping[str, np.ndarray], lr: float) -> np.ndarray:
        """Apply one update to every parameter array in place; return ``||delta W|| / ||W||`` per layer."""
        ratios = np.empty(len(self.weight_names))
        params, states, hp = self.model.params, self.optim_states, self.hp
        inplace, update = self.inplace, (self.rule.update_inplace if self.inplace else self.rule.update)
        flat = self._flat_params() if self._flat_state is not None else None
        flat_g = self.model.flat_grads(grads) if flat is not None else None
        if flat_g is not None:  # the whole model in one call (elementwise rules: the same bits)
            for name, before in self._before.items():
                np.copyto(before, params[name])
            update(flat_g, self._flat_state, lr, hp, flat)
            _sync_scalars(self._flat_state, states.values())
        j = 0
        for name, w in params.items():
            before = self._before.get(name)
            if flat_g is None:
                if before is not None:
                    np.copyto(before, w)
                if inplace:
                    update(grads[name], states[name], lr, hp, w)
                    if self._flat_state is not None:
                        _sync_scalars(states[name], (self._flat_state,))
                else:
                    delta, states[name] = update(grads[name], states[name], lr, hp, w)
                    w += delta
            if before is not None:
                f = before.ravel()
                wn = float(np.dot(f, f))
                np.subtract(w, before, out=before)  # delta W as applied
                ratios[j] = math.sqrt(float(np.dot(f, f)) / wn) if wn > 0 else math.inf
                j += 1
        return ratios

    def _log_accuracy(self, t: int) -> tuple[float, float]:
        train_acc = self.check_accuracy(*self._acc_train)
        val_acc = self.check_accuracy(*self._acc_val)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self.log_acc_iteration_history.append(t)
        if not self.best_params or val_acc > self.best_val_acc:
            self.best_val_acc = val_acc if math.isfinite(val_acc) else 0.0
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        return train_acc, val_acc

    def train(self, progress: Callable[[StepResult], Any] | None = None, *, keep_best: bool = True) -> "Solver":
        """Run every remaining iteration; ``progress(result)`` is called after each one.

        With ``keep_best`` (the course's behaviour) the model ends with ``best_params``.
        """
        while not self.done:
            result = self.step()
            if progress is not None:
                progress(result)
        if keep_best and self.best_params and not self.diverged:
            for k, v in self.best_params.items():
                self.model.params[k][...] = v
        return self

    # ---------------------------------------------------------------------------------------
    def histories(self) -> dict[str, np.ndarray]:
        return {
            "loss_history": np.asarray(self.loss_history, dtype=np.float64),
            "train_acc_history": np.asarray(self.train_acc_history, dtype=np.float64),
            "val_acc_history": np.asarray(self.val_acc_history, dtype=np.float64),
            "log_acc_iteration_history": np.asarray(self.log_acc_iteration_history, dtype=np.int64),
            "lr_history": np.asarray(self.lr_history, dtype=np.float64),
            "update_ratio_history": self.update_ratio_history,
        }

    def record_histories_as_npz(self, path) -> None:
        """Write :meth:`histories` to ``path`` (a file name, ``.npz`` appended if missing, or a binary file)."""
        np.savez(path, **self.histories())


def _check_sizes(batch_size, num_epochs, num_iterations) -> None:
    """What TrainConfig.validate checks of the sizes, for a Solver built without a TrainConfig."""
    from .config import NETWORK_PARAMS, SOLVER_PARAMS  # config imports this module

    NETWORK_PARAMS.get("batch_size").validate(batch_size)
    NETWORK_PARAMS.get("epochs").validate(num_epochs)
    SOLVER_PARAMS.get("num_iterations").validate(num_iterations)


def _features(X, dtype) -> np.ndarray:
    X = np.asarray(X)
    X = X.reshape(X.shape[0], -1) if X.ndim != 2 else X
    return np.ascontiguousarray(X, dtype=dtype)


def _subset(X: np.ndarray, y: np.ndarray, num: int | None, rng: np.random.Generator):
    if num is not None and X.shape[0] > num:
        idx = np.sort(rng.choice(X.shape[0], int(num), replace=False))
        return X[idx], y[idx]
    return X, y


def _state_view(state, flat: np.ndarray, w: np.ndarray):
    """``state`` (a rule state for ``flat``) seen through ``w``, a view of part of ``flat``: its
    arrays are the same views of the state's arrays; its scalars (a step count) copies."""
    lo = (w.__array_interface__["data"][0] - flat.__array_interface__["data"][0]) // flat.itemsize
    sl = slice(lo, lo + w.size)
    values = [a[sl].reshape(w.shape) if isinstance(a, np.ndarray) and a.shape == flat.shape else a
              for _, a in state.items()]
    return type(state)(*values)


def _sync_scalars(source, targets) -> None:
    """Copy the scalar fields (a step count) of ``source`` into each of ``targets``."""
    names = [k for k, a in source.items() if not isinstance(a, np.ndarray)]
    for target in targets:
        for k in names:
            setattr(target, k, getattr(source, k))
