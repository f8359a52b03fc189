"""One training setting, validated in one place: the CLI's ``train`` and the app's network lab both
build a :class:`Solver` from a :class:`TrainConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..params import ParamError
from ..rules import get_rule
from ..schedules import get_schedule
from .data import Dataset, load_dataset
from .net import DTYPES, FullyConnectedNet
from .solver import Solver, normalise_config

NOTE_HIDDEN = (100, 100, 100, 100, 100)


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"100,100,100"`` -> ``(100, 100, 100)``; raises ParamError on anything else."""
    parts = [t.strip() for t in str(text).split(",")]
    try:
        sizes = tuple(int(t) for t in parts)
    except ValueError:
        sizes = ()
    if not sizes or any(s < 1 for s in sizes):
        raise ParamError(f"hidden: expected comma-separated positive layer sizes like 100,100, got {text!r}")
    return sizes


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "digits"
    rule: str = "sgd_momentum"
    schedule: str = "constant"
    rule_params: Mapping[str, Any] = field(default_factory=dict)
    schedule_params: Mapping[str, Any] = field(default_factory=dict)
    hidden: tuple[int, ...] = NOTE_HIDDEN
    weight_scale: float = 5e-2
    reg: float = 0.0
    dtype: str = "float32"
    seed: int = 0
    epochs: int = 5
    batch_size: int = 100
    num_train: int | None = None  # None: the whole training set
    data_seed: int = 0  # the split of a built-in dataset (kept apart from the training seed)
    log_acc_iteration: bool | int = False
    num_iterations: int | None = None  # None: epochs x iterations per epoch; else exactly this many steps

    def validate(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check every field; return the resolved rule and schedule hyper-parameters."""
        rule_hp = get_rule(self.rule).hparams(normalise_config(self.rule_params))
        schedule_hp = get_schedule(self.schedule).hparams(self.schedule_params)
        if int(self.epochs) < 1:
            raise ParamError(f"epochs must be at least 1, got {self.epochs}")
        if int(self.batch_size) < 1:
            raise ParamError(f"batch size must be at least 1, got {self.batch_size}")
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ParamError(f"hidden: layer sizes must be positive, got {list(self.hidden)}")
        if not self.weight_scale > 0:
            raise ParamError(f"weight scale must be > 0, got {self.weight_scale}")
        if not self.reg >= 0:
            raise ParamError(f"reg must be >= 0, got {self.reg}")
        if self.dtype not in DTYPES:
            raise ParamError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.num_train is not None and int(self.num_train) < 1:
            raise ParamError(f"num_train must be at least 1, got {self.num_train}")
        if self.num_iterations is not None and int(self.num_iterations) < 1:
            raise ParamError(f"num_iterations must be at least 1, got {self.num_iterations}")
        return rule_hp, schedule_hp

    def load(self) -> Dataset:
        data = load_dataset(self.dataset, seed=self.data_seed)
        return data.subset(self.num_train) if self.num_train else data

    def build(self, data: Dataset | None = None, **solver_kw: Any) -> Solver:
        """A fresh model and Solver (raises ParamError or DatasetError, one line each)."""
        self.validate()
        data = self.load() if data is None else data
        model = FullyConnectedNet(self.hidden, data.num_features, data.num_classes,
                                  weight_scale=self.weight_scale, reg=self.reg, dtype=self.dtype, rng=self.seed)
        kw = dict(update_rule=self.rule, optim_config=self.rule_params, lr_schedule=self.schedule,
                  schedule_config=self.schedule_params, batch_size=self.batch_size, num_epochs=self.epochs,
                  seed=self.seed, log_acc_iteration=self.log_acc_iteration, num_iterations=self.num_iterations,
                  verbose=False)
        kw.update(solver_kw)
        return Solver(model, data, **kw)
