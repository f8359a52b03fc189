"""The one registry type: look-ups, aliases and the one unknown-name error."""

from __future__ import annotations

import pytest

from descent_engine.params import ParamError
from descent_engine.presets import PRESETS, get_preset
from descent_engine.problems import PROBLEMS, get_problem_spec
from descent_engine.registry import Registry
from descent_engine.schedules import SCHEDULES, get_schedule


def test_lookup_alias_and_error():
    reg: Registry[int] = Registry("colour")
    reg.register("red", 1, aliases=("r",))
    reg.register("blue", 2)
    assert reg.get("red") == 1 and reg.get("r") == 1 and reg["r"] == 1
    assert reg.canonical("r") == "red"
    assert list(reg) == ["red", "blue"] and len(reg) == 2
    assert "r" in reg and "green" not in reg
    assert reg.known() == ["red", "blue", "r"]
    with pytest.raises(ParamError) as err:
        reg.get("green")
    assert str(err.value) == "unknown colour 'green' (known: red, blue, r)"


def test_a_name_is_registered_once():
    reg: Registry[int] = Registry("colour")
    reg.register("red", 1, aliases=("r",))
    with pytest.raises(ValueError):
        reg.register("r", 3)
    reg.unregister("red")
    assert "r" not in reg and len(reg) == 0


def test_a_long_unknown_name_is_shortened():
    reg: Registry[int] = Registry("colour")
    with pytest.raises(ParamError) as err:
        reg.get("x" * 100_000)
    msg = str(err.value)
    assert len(msg) < 120 and "100000 characters" in msg


@pytest.mark.parametrize("lookup, kind, registry", [
    (get_schedule, "schedule", SCHEDULES),
    (get_problem_spec, "problem", PROBLEMS),
    (get_preset, "preset", PRESETS),
])
def test_every_engine_registry_says_the_same(lookup, kind, registry):
    with pytest.raises(ParamError) as err:
        lookup("nope")
    assert str(err.value) == f"unknown {kind} 'nope' (known: {', '.join(registry)})"
