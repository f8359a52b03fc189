"""The stderr progress bar: drawn on a terminal once work has taken over a second, never otherwise."""

import io

from tui.cli_common import Progress


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_silent_for_the_first_second_then_drawn_and_cleared():
    stream, clock = FakeTTY(), Clock()
    bar = Progress(1000, "run", stream=stream, clock=clock)
    clock.t = 0.5
    bar.update(100)
    assert stream.getvalue() == ""
    clock.t = 1.5
    bar.update(500)
    out = stream.getvalue()
    assert "50.0%" in out and "500/1000" in out and out.startswith("\rrun [")
    bar.close()
    assert stream.getvalue().endswith("\r")


def test_redraws_at_most_ten_times_a_second():
    stream, clock = FakeTTY(), Clock()
    bar = Progress(1000, stream=stream, clock=clock)
    clock.t = 2.0
    bar.update(1)
    clock.t = 2.05
    bar.update(2)
    assert stream.getvalue().count("\r") == 1
    clock.t = 2.2
    bar.update(3)
    assert stream.getvalue().count("\r") == 2


def test_nothing_when_stderr_is_not_a_terminal():
    stream, clock = io.StringIO(), Clock()
    bar = Progress(10, stream=stream, clock=clock)
    clock.t = 5.0
    bar.update(5)
    bar.close()
    assert stream.getvalue() == ""


def test_a_short_job_leaves_the_terminal_untouched():
    stream, clock = FakeTTY(), Clock()
    bar = Progress(10, stream=stream, clock=clock)
    bar.update(10)
    bar.close()
    assert stream.getvalue() == ""
