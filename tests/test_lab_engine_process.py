"""The 2-D lab's engine process: its steps are the lab's own, bit for bit, and a change on the
screen's side drops a reply computed before it (a real child process; no wall clock asserted)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from descent_engine.run import Run, Settings
from tui.lab.engine_process import EngineProcess
from tui.lab.model import Lab, SPEEDS

MINI_BATCH = Settings("notes-ls", "momentum", problem_params={"batch_size": 20},
                      rule_params={"lr": 1e-4, "beta": 0.4, "init": "first"})
FIELDS = ("step", "lr", "loss", "w", "grad", "avg", "ewa_step", "ewa", "ewa_corrected")


def test_a_run_continues_bit_for_bit_from_its_exported_state():
    first, ref = Run(MINI_BATCH, capacity=64), Run(MINI_BATCH, capacity=64)
    first.step(300)  # past the capacity: the history has halved
    other = Run(MINI_BATCH, capacity=64)
    other.adopt_state(first.export_state())
    other.step(200)
    ref.step(500)
    for key, value in ref.history.arrays().items():
        np.testing.assert_array_equal(other.history.arrays()[key], value)
    np.testing.assert_array_equal(other.w, ref.w)


def _max_speed_lab(settings=(MINI_BATCH,), max_steps=None) -> Lab:
    lab = Lab(list(settings), max_steps=max_steps)
    lab.running = True
    lab.set_speed(len(SPEEDS) - 1)
    return lab


def _advance_until(engine: EngineProcess, lab: Lab, done, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < end, f"the engine process gave nothing (error: {engine.error})"
        taken = engine.advance(lab)
        assert engine.error is None
        if taken is None:
            time.sleep(0.02)  # the child is starting
        time.sleep(0.01)


@pytest.fixture
def engine():
    e = EngineProcess()
    yield e
    e.close()


def test_the_steps_of_the_process_are_the_labs_own(engine):
    compare = (MINI_BATCH, MINI_BATCH.with_rule_param("lr", 5e-5))
    lab = _max_speed_lab(compare)
    lab.step(7)  # progress made on the screen's side is handed over
    _advance_until(engine, lab, lambda: lab.k > 2000)
    ref = Lab(list(compare))
    ref.step(lab.k)
    for ours, theirs in zip(lab.traces, ref.traces):
        a, b = ours.data(), theirs.data()
        for f in FIELDS:
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def test_the_process_stops_where_the_lab_stops(engine):
    lab = _max_speed_lab(max_steps=500)
    _advance_until(engine, lab, lambda: lab.done)
    assert lab.k == 500


def test_a_change_on_the_screen_drops_the_reply_and_a_new_session_starts_from_it(engine):
    lab = _max_speed_lab()
    _advance_until(engine, lab, lambda: lab.k > 0)
    lab.apply([MINI_BATCH.with_rule_param("lr", 2e-4)])  # a key: new runs from step 0
    assert lab.k == 0
    _advance_until(engine, lab, lambda: lab.k > 1000)
    ref = Lab([MINI_BATCH.with_rule_param("lr", 2e-4)])
    ref.step(lab.k)
    np.testing.assert_array_equal(lab.traces[0].data().w, ref.traces[0].data().w)


def test_not_at_max_speed_the_lab_steps_itself(engine):
    lab = _max_speed_lab()
    lab.set_speed(0)
    assert engine.advance(lab) is None
    lab.running = False
    lab.set_speed(len(SPEEDS) - 1)
    assert engine.advance(lab) is None


def test_the_process_stops_exactly_where_a_run_converges(engine):
    full_batch = Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4, "init": "first"})
    lab = _max_speed_lab((full_batch,))
    _advance_until(engine, lab, lambda: lab.done)
    assert lab.traces[0].converged_at is not None and lab.k == lab.traces[0].converged_at
