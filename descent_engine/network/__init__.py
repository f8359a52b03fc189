"""The network lab's engine: a NumPy fully-connected net, a Solver driven by the rule and schedule
registries, datasets that need no download, and the course note's three experiments.

Pure NumPy: nothing here imports Textual or plotext.
"""

from .data import Dataset, DatasetError, dataset_names, load_dataset, load_npz
from .net import FullyConnectedNet
from .solver import Solver, StepResult

__all__ = ["Dataset", "DatasetError", "FullyConnectedNet", "Solver", "StepResult", "dataset_names",
           "load_dataset", "load_npz"]
