"""Per-dataset settings that train: what the network lab and ``train`` start from on each bundled
dataset (rule, lr, weight scale, ...), as overrides of :data:`~.config.NETWORK_PARAMS` and the
rule's hyper-parameters. A dataset not listed trains at the note's settings."""

from __future__ import annotations

from typing import Any

#: dataset name -> TrainConfig field overrides (filled per dataset by measurement; see the tests)
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {}


def dataset_defaults(name: str) -> dict[str, Any]:
    """The overrides for ``name`` (a copy; empty for a file or an unlisted dataset)."""
    return dict(DATASET_DEFAULTS.get(name, {}))
