"""Per-dataset settings that train: what the network lab and ``train`` start from on each bundled
dataset (rule, lr, weight scale, ...), as overrides of :data:`~.config.NETWORK_PARAMS` and the
rule's hyper-parameters. A dataset not listed (or a file) trains at the note's settings.

Measured (``tests/test_network_dataset_defaults.py`` keeps them honest): at the note's settings
(sgd_momentum lr 1e-2, hidden [100]*5, weight scale 5e-2, 5 epochs of batch 100) ``digits`` reaches
a training accuracy of 0.98, but ``spirals`` and ``blobs`` learn nothing (0.35 and 0.26). Their two
features are of order 1, where digits' 64 are on the 8-bit scale: through five layers of 100 at
weight scale 5e-2 the signal shrinks about threefold a layer (sqrt(100 / 2) x 0.05 = 0.35) and the
gradients with it. At weight scale 0.2 (about He's sqrt(2 / 100) = 0.14) and 20 epochs (140 and
160 steps), with the rule and lr unchanged, both train: 0.975 to 0.988 (spirals) and 0.934 to 0.956
(blobs) over seeds 0 to 4.
"""

from __future__ import annotations

from typing import Any

#: dataset name -> TrainConfig field overrides ("rule", "rule_params" and any NETWORK_PARAMS name)
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {},  # the note's settings train it
    "spirals": {"weight_scale": 0.2, "epochs": 20},
    "blobs": {"weight_scale": 0.2, "epochs": 20},
}


def dataset_defaults(name: str) -> dict[str, Any]:
    """The overrides for ``name`` (a copy; empty for a file or an unlisted dataset)."""
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in DATASET_DEFAULTS.get(name, {}).items()}


def apply_dataset_defaults(values: dict[str, Any], given: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``values`` (TrainConfig fields, ``rule_params`` a dict) with the dataset's overrides put in
    wherever the user did not set the knob (``given``: the field names, and for the rule's
    hyper-parameters ``"rule_params.<name>"``); the rule's overrides apply only when the rule is
    the dataset's. Returns (new values, the overrides applied)."""
    from .config import TrainConfig

    name = values.get("dataset", TrainConfig.dataset)
    out, applied = dict(values), {}
    over = dataset_defaults(name)
    if "rule" in over and "rule" not in given:
        out["rule"] = applied["rule"] = over["rule"]
    rule_over = over.pop("rule_params", {})
    over.pop("rule", None)
    if rule_over and out.get("rule", TrainConfig.rule) == DATASET_DEFAULTS[name].get("rule", TrainConfig.rule):
        hp = dict(out.get("rule_params", {}))
        for k, v in rule_over.items():
            if f"rule_params.{k}" not in given:
                hp[k] = v
                applied[f"rule_params.{k}"] = v
        out["rule_params"] = hp
    for k, v in over.items():
        if k not in given:
            out[k] = applied[k] = v
    return out, applied
