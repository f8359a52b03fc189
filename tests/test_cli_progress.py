"""The stderr progress bar: drawn on a terminal once work has taken over a second, never otherwise."""

import io
import os
import signal
import sys
import time

import pytest

from tui.cli import main
from tui.cli.common import Interrupted, Progress


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


# -- nothing of the bar is left on the terminal, however the work ends ----------------------------
def screen(text: str, width: int = 80) -> list[str]:
    """What a ``width``-column terminal shows after ``text``: \\r returns to column 0, \\n starts a
    new line, anything else overwrites the cell under the cursor; a character past the last column
    wraps to a new line (and \\r cannot get back from there)."""
    lines, col = [[]], 0
    for ch in text:
        if ch not in "\r\n" and col >= width:
            lines.append([])
            col = 0
        if ch == "\r":
            col = 0
        elif ch == "\n":
            lines.append([])
            col = 0
        else:
            line = lines[-1]
            line.extend(" " * (col + 1 - len(line)))
            line[col] = ch
            col += 1
    return ["".join(line) for line in lines]


def test_ctrl_c_leaves_a_blank_line():
    stream, clock = FakeTTY(), Clock()
    try:
        with Progress(100_000, "a long label", stream=stream, clock=clock) as bar:
            clock.t = 2.0
            bar.update(12_345)
            assert "12345/100000" in screen(stream.getvalue())[0]
            stream.write("^C")  # what the terminal echoes where the cursor is
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        stream.write("\n")  # main's newline before the prompt
    shown = screen(stream.getvalue())
    assert len(shown) == 2 and shown[0].strip() == "" and shown[1] == ""


def test_ctrl_c_after_a_full_width_bar_leaves_no_fragment():
    stream, clock = FakeTTY(), Clock()
    with Progress(12_345, "compare-rules", stream=stream, clock=clock) as bar:
        clock.t = 2.0
        bar.update(12_345)  # the whole text is 80 characters: as wide as the terminal
        stream.write("^C")
    stream.write("\n")
    assert all(line.strip() == "" for line in screen(stream.getvalue(), width=80))


def test_a_shorter_redraw_covers_the_longer_one():
    stream, clock = FakeTTY(), Clock()
    bar = Progress(1_000_000, "x", stream=stream, clock=clock)
    clock.t = 2.0
    bar.update(999_999)
    bar.total = 10  # experiments learn their total as they go
    clock.t = 3.0
    bar.update(1)
    assert screen(stream.getvalue())[0].rstrip().endswith("1/10  eta  27.0s")  # 3 s for 1/10: 27 s left


def test_the_bar_never_wraps_a_narrow_terminal(monkeypatch):
    class NarrowTTY(FakeTTY):
        def fileno(self):
            return 99

    monkeypatch.setattr("os.get_terminal_size",
                        lambda fd: os.terminal_size((40, 24)) if fd == 99 else os.terminal_size((80, 24)))
    stream, clock = NarrowTTY(), Clock()
    bar = Progress(1000, "a label", stream=stream, clock=clock)
    clock.t = 2.0
    bar.update(500)
    # 37 columns: room for the "^C" a Ctrl-C echoes, and the cursor stays on the bar's line
    assert [len(line) for line in screen(stream.getvalue())] == [37]
    bar.close()
    assert screen(stream.getvalue())[0].strip() == ""


@pytest.mark.parametrize("interrupt,status", [(KeyboardInterrupt, 130), (Interrupted(signal.SIGTERM), 143),
                                              (Interrupted(signal.SIGHUP), 129)], ids=["INT", "TERM", "HUP"])
@pytest.mark.parametrize("argv", [
    ["train", "--dataset", "blobs", "--epochs", "3", "--hidden", "8", "--quiet"],
    ["experiment", "overfit", "--dataset", "blobs", "--quiet", "--out", "{tmp}"],
], ids=["train", "experiment"])
def test_an_interrupted_command_leaves_no_fragment(argv, interrupt, status, tmp_path, monkeypatch, capsys):
    stream = FakeTTY()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(Progress.__init__, "__defaults__", ("", None, 0.0, time.monotonic))  # draw at once
    real_update = Progress.update

    def update_then_interrupt(self, done):
        real_update(self, done)
        if "]" in stream.getvalue():  # the bar is on the screen: Ctrl-C (or a signal) now
            stream.write("^C")
            raise interrupt

    monkeypatch.setattr(Progress, "update", update_then_interrupt)
    assert main([a.replace("{tmp}", str(tmp_path / "exp")) for a in argv]) == status
    text = stream.getvalue()
    assert "[" in text and "]" in text  # the bar was drawn
    assert all(line.strip() == "" for line in screen(text)), screen(text)
    assert text.endswith("\n") and "Traceback" not in text
    assert capsys.readouterr().out == ""
