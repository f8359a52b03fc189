"""One training setting, validated in one place: the CLI's ``train`` and ``experiment`` and the app's
network lab all build a :class:`Solver` from a :class:`TrainConfig`.

The network's knobs are :class:`~descent_engine.params.Param` objects, like every rule, schedule
and problem knob: :data:`NETWORK_PARAMS` (what ``descent-tui train`` takes besides the rule and
schedule), :data:`EXPERIMENT_PARAMS` (what ``descent-tui experiment`` adds) and
:data:`SOLVER_PARAMS` (fields a program sets, not a flag). :meth:`TrainConfig.validate` checks a
config through them once; :meth:`TrainConfig.build` then checks what needs the data (a batch no
larger than the training set, a network that fits in memory) before allocating anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..params import Param, ParamError, ParamSet
from ..rules import get_rule
from ..schedules import get_schedule
from . import net
from .data import Dataset, dataset_names, load_dataset
from .net import FullyConnectedNet
from .solver import Solver, normalise_config

NOTE_HIDDEN = (100, 100, 100, 100, 100)
#: the note's initial weight scale and float type (the defaults of train and of every experiment)
NOTE_WEIGHT_SCALE = 5e-2
NOTE_DTYPE = "float32"
#: the widest hidden layer accepted (a 100,000-wide layer already needs gigabytes; memory is checked too)
MAX_HIDDEN = 100_000
MAX_SEED = 2**32 - 1  # as `descent-tui run --seed`
MAX_COUNT = 10**9  # epochs, steps, examples: bounded so an int never overflows an array size

SEED = Param("seed", 0, "seed of the initial weights and of the minibatch sampler", kind="int", low=0, high=MAX_SEED)
NUM_TRAIN = Param("num_train", None, "use the first N training examples", kind="int", low=1, high=MAX_COUNT,
                  none_text="all")

NETWORK_PARAMS = ParamSet((
    Param("dataset", "digits", f"a built-in dataset ({', '.join(dataset_names())}) or a .npz file with "
          "X_train, y_train, X_val, y_val", kind="text"),
    Param("epochs", 5, "passes over the training set", kind="int", low=1, high=10**6),
    Param("batch_size", 100, "examples per minibatch (drawn with replacement; at most the training examples)",
          kind="int", low=1, high=MAX_COUNT),
    Param("hidden", NOTE_HIDDEN, "hidden layer sizes, comma-separated", kind="ints", low=1, high=MAX_HIDDEN,
          min_len=1),
    Param("weight_scale", NOTE_WEIGHT_SCALE, "std of the initial weights: W ~ N(0, weight_scale^2)", low=0.0, high=100.0,
          low_open=True, scale="log"),
    Param("reg", 0.0, "L2 strength: loss += 0.5 reg sum W^2", low=0.0, high=1e4),
    Param("dtype", NOTE_DTYPE, "floating-point type of the network and its data", kind="choice",
          choices=("float32", "float64")),
    SEED,
    NUM_TRAIN,
))

EXPERIMENT_PARAMS = ParamSet((
    Param("seeds", None, "effective-batch: the seeds, one run per seed and setting", kind="ints", low=0,
          high=MAX_SEED, min_len=1, none_text="the note's"),
    Param("sgd_batch", "auto", "effective-batch: SGD's batch size, a multiple of 100 (sgd_momentum's batch), or "
          "auto: try 200, 300, ... and stop at the first close enough", kind="int", low=100, high=MAX_COUNT,
          multiple_of=100, words=("auto",)),
    Param("steps", None, "compare-rules, effective-batch and edge-of-stability: update steps per run", kind="int", low=1,
          high=MAX_COUNT, none_text="the note's"),
    Param("log_every", 1, "effective-batch: log the accuracy every N iterations", kind="int", low=1,
          high=MAX_COUNT),
    Param("lrs", None, "edge-of-stability: the learning rates, one full-batch gd run each", kind="floats",
          low=0.0, high=1e6, low_open=True, min_len=1, none_text="the experiment's"),
    Param("sharpness_every", None, "edge-of-stability: measure the sharpness every N steps (and before the first "
          "step and at the last)", kind="int", low=1, high=MAX_COUNT, none_text="the experiment's"),
))

#: the network lab's measurement intervals (train measures only when asked: ``--sharpness-every``);
#: from benchmarks/sharpness.py: one sharpness measurement costs 50 to 110 training steps of the note's
#: network on a quiet machine, so every 1000 steps adds 5 to 11% (every 500: 10 to 22%, too close to the
#: 25% target; under heavy load a measurement has cost up to 300 steps); the noise scale costs 20 to 35
#: steps, 4 to 7% every 500
SHARPNESS_EVERY = 1000
NOISE_EVERY = 500

MONITOR_PARAMS = ParamSet((
    Param("sharpness_every", SHARPNESS_EVERY, "measure the sharpness (the top eigenvalue of the loss's Hessian on "
          "the first 1000 training examples; for adam and rmsprop also the preconditioned one) every N steps and at "
          "the last step", kind="int", low=1, high=MAX_COUNT, words=("off",)),
    Param("noise_every", NOISE_EVERY, "measure the gradient noise scale B_noise = tr(Sigma)/|G|^2 (from gradients "
          "at the batch size and four times it) every N steps and at the last step", kind="int", low=1,
          high=MAX_COUNT, words=("off",)),
))

SOLVER_PARAMS = ParamSet((
    Param("data_seed", 0, "the split of a built-in dataset (kept apart from the training seed)", kind="int",
          low=0, high=MAX_SEED),
    Param("num_iterations", None, "exactly this many update steps (the last epoch may be partial)", kind="int",
          low=1, high=MAX_COUNT, none_text="epochs x steps per epoch"),
))


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"100,100,100"`` -> ``(100, 100, 100)``; raises ParamError on anything else."""
    return NETWORK_PARAMS.get("hidden").parse(text)


def _default(name: str) -> Any:
    """A knob's default, as its Param spells it (the one spelling)."""
    for params in (NETWORK_PARAMS, SOLVER_PARAMS):
        if name in params.names():
            return params.get(name).default
    raise KeyError(name)


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = _default("dataset")
    rule: str = "sgd_momentum"
    schedule: str = "constant"
    rule_params: Mapping[str, Any] = field(default_factory=dict)
    schedule_params: Mapping[str, Any] = field(default_factory=dict)
    hidden: tuple[int, ...] = _default("hidden")
    weight_scale: float = _default("weight_scale")
    reg: float = _default("reg")
    dtype: str = _default("dtype")
    seed: int = _default("seed")
    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    num_train: int | None = _default("num_train")  # None: the whole training set
    data_seed: int = _default("data_seed")  # the split of a built-in dataset (kept apart from the training seed)
    log_acc_iteration: bool | int = False
    num_iterations: int | None = _default("num_iterations")  # None: epochs x steps per epoch; else exactly this many

    def validate(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check every field; return the resolved rule and schedule hyper-parameters."""
        rule_hp = get_rule(self.rule).hparams(normalise_config(self.rule_params))
        schedule_hp = get_schedule(self.schedule).hparams(self.schedule_params)
        NETWORK_PARAMS.resolve({name: getattr(self, name) for name in NETWORK_PARAMS.names()})
        SOLVER_PARAMS.resolve({name: getattr(self, name) for name in SOLVER_PARAMS.names()})
        if not isinstance(self.log_acc_iteration, bool):
            EXPERIMENT_PARAMS.get("log_every").validate(self.log_acc_iteration)
        return rule_hp, schedule_hp

    def load(self) -> Dataset:
        data = load_dataset(self.dataset, seed=self.data_seed)
        return data.subset(self.num_train) if self.num_train else data

    def check_fits(self, data: Dataset, rule_hp: Mapping[str, Any] | None = None,
                   num_train_samples: int | None = 1000) -> int:
        """Refuse (ParamError, one line) a batch larger than the training set or a network whose
        estimated memory exceeds the machine's; return the estimate in bytes."""
        n = int(data.X_train.shape[0])
        if int(self.batch_size) > n:
            raise ParamError(f"batch_size must be at most the number of training examples ({n} in {data.name}), "
                             f"got {self.batch_size}")
        rule = get_rule(self.rule)
        hp = rule.hparams(normalise_config(self.rule_params)) if rule_hp is None else rule_hp
        dims = [int(data.num_features), *(int(h) for h in self.hidden), int(data.num_classes)]
        n_val = int(data.X_val.shape[0])
        checks = (min(n, num_train_samples or n), n_val)  # the Solver's accuracy subsets
        need = net.estimate_bytes(dims, int(self.batch_size), self.dtype, state_arrays=net.state_arrays(rule, hp),
                                  eval_sets=checks, data_rows=n + n_val)
        have = net.available_memory()
        if have is not None and need > have:
            raise ParamError(f"the network needs about {net.format_bytes(need)} (hidden {','.join(map(str, dims[1:-1]))}, "
                             f"batch {self.batch_size}, {self.dtype}) but this machine has "
                             f"{net.format_bytes(have)} of memory")
        return need

    def build(self, data: Dataset | None = None, **solver_kw: Any) -> Solver:
        """A fresh model and Solver (raises ParamError or DatasetError, one line each)."""
        rule_hp, schedule_hp = self.validate()
        data = self.load() if data is None else data
        self.check_fits(data, rule_hp)
        model = FullyConnectedNet(self.hidden, data.num_features, data.num_classes,
                                  weight_scale=self.weight_scale, reg=self.reg, dtype=self.dtype, rng=self.seed)
        kw = dict(update_rule=self.rule, optim_config=rule_hp, lr_schedule=self.schedule,
                  schedule_config=schedule_hp, batch_size=self.batch_size, num_epochs=self.epochs,
                  seed=self.seed, log_acc_iteration=self.log_acc_iteration, num_iterations=self.num_iterations,
                  verbose=False, checked=True)
        kw.update(solver_kw)
        return Solver(model, data, **kw)

    # -- the record a file carries ------------------------------------------------------------
    def record(self, solver: Solver | None = None) -> dict[str, Any]:
        """Every knob, with the rule's and schedule's hyper-parameters resolved (JSON-ready)."""
        rule_hp, schedule_hp = (solver.hp, solver.schedule_hp) if solver is not None else self.validate()
        out: dict[str, Any] = {name: getattr(self, name) for name in NETWORK_PARAMS.names()}
        out.update(hidden=[int(h) for h in self.hidden], rule=get_rule(self.rule).name,
                   rule_params=_plain(rule_hp), schedule=get_schedule(self.schedule).name,
                   schedule_params=_plain(schedule_hp), data_seed=self.data_seed,
                   num_iterations=self.num_iterations, log_acc_iteration=self.log_acc_iteration)
        if solver is not None:
            out["num_train"] = int(solver.num_train)
        return out

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "TrainConfig":
        """The config a :meth:`record` describes (a file's ``settings``), validated."""
        names = set(NETWORK_PARAMS.names()) | {"rule", "schedule", "rule_params", "schedule_params", "data_seed",
                                                  "num_iterations", "log_acc_iteration"}
        values = {k: v for k, v in record.items() if k in names}
        for key in ("hidden",):
            if key in values:
                values[key] = tuple(values[key])
        for key in ("rule_params", "schedule_params"):
            values[key] = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(values.get(key, {})).items()}
        config = cls(**values)
        config.validate()
        return config


def _plain(hp: Mapping[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in hp.items()}


def summary_record(solver: Solver) -> dict[str, Any]:
    """How a training run ended, as ``descent-tui run``'s summary says it (JSON-ready)."""
    losses, train, val = solver.loss_history, solver.train_acc_history, solver.val_acc_history
    return {"final_loss": float(losses[-1]) if losses else None,
            "final_train_acc": float(train[-1]) if train else None,
            "final_val_acc": float(val[-1]) if val else None,
            "best_val_acc": float(solver.best_val_acc), "iterations": len(losses),
            "diverged_at": len(losses) - 1 if solver.diverged else None}
