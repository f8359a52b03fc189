"""descent-tui serve: the lab over HTTP (textual-serve), on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tui.cli import build_parser, main
from tui.cli.serve import is_local, public_url
from tui.cli.settings import settings_from_args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fetch(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


#: the terminal's control sequences (CSI, OSC, charset), to read the text the app draws
_CONTROL = re.compile(r"\x1b\[[0-9;?$<>=]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>()][A-Za-z0-9]?")


def _text(data: bytes) -> str:
    return _CONTROL.sub("", data.decode("utf-8", "replace"))


async def _first_screen(url: str, budget: float, want: tuple[str, ...]) -> str:
    """Open the page's websocket as the browser does and read the app's screen until all of ``want``
    showed (the app paints in several frames)."""
    import aiohttp

    seen = b""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            end = time.monotonic() + budget
            while not all(w in _text(seen) for w in want) and time.monotonic() < end:
                try:
                    msg = await ws.receive(timeout=max(0.1, end - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if msg.type == aiohttp.WSMsgType.BINARY:
                    seen += msg.data
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
    return _text(seen)


def test_serve_answers_over_http_and_runs_the_app(tmp_path):
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    proc = subprocess.Popen([sys.executable, "-m", "tui", "serve", "--port", str(port), "--rule", "adam"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        html = _fetch(f"http://127.0.0.1:{port}/", time.monotonic() + 30)
        assert "textual.js" in html and f"ws://127.0.0.1:{port}/ws" in html
        assert "descent-tui" in html  # the page's title names the app
        screen = asyncio.run(_first_screen(f"ws://127.0.0.1:{port}/ws?width=100&height=30", 30, ("Landscape", "adam lr")))
        assert "Landscape" in screen and "adam lr" in screen  # the lab started, with the flags passed on
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"-m tui --rule=adam" in out.replace(b"\n", b"")
    assert b"warning" not in err  # 127.0.0.1: no warning


class FakeServer:
    made: list[dict] = []

    def __init__(self, command, host, port, title=None, public_url=None, **kw):
        FakeServer.made.append(dict(command=command, host=host, port=port, title=title, public_url=public_url))

    def serve(self):
        return None


@pytest.fixture
def fake_server(monkeypatch):
    FakeServer.made = []
    monkeypatch.setattr("textual_serve.server.Server", FakeServer)
    return FakeServer.made


@pytest.mark.parametrize("host, warns", [
    ("127.0.0.1", False), ("localhost", False), ("::1", False), ("127.0.0.2", False),
    ("0.0.0.0", True), ("::", True), ("192.0.2.7", True), ("2001:db8::1", True),
])
def test_a_warning_when_it_listens_beyond_this_machine(fake_server, capsys, monkeypatch, host, warns):
    monkeypatch.setattr("tui.cli.serve.check_can_listen", lambda host, port: None)  # addresses not on this machine
    assert main(["serve", "--host", host, "--port", "9001"]) == 0
    err = capsys.readouterr().err
    assert (err.startswith("descent-tui: warning: listening on ") and err.count("\n") == 1) if warns else err == ""
    assert fake_server[-1]["host"] == host and fake_server[-1]["port"] == 9001
    assert fake_server[-1]["title"] == "descent-tui"


def test_the_default_is_this_machine_only(fake_server, capsys):
    assert main(["serve"]) == 0
    assert fake_server[-1]["host"] == "127.0.0.1" and fake_server[-1]["port"] == 8000
    assert fake_server[-1]["public_url"] == "http://127.0.0.1:8000" and capsys.readouterr().err == ""


def test_the_settings_flags_reach_every_app_unchanged(fake_server):
    argv = ["--preset", "notes-gdm", "--lr", "2e-4", "--start=0.1,-0.2", "--schedule", "cosine", "--period", "50"]
    assert main(["serve", "--port", "9002", *argv]) == 0
    command = shlex.split(fake_server[-1]["command"])
    assert command[:3] == [sys.executable, "-m", "tui"]
    parser = build_parser()
    assert settings_from_args(parser.parse_args(command[3:])) == settings_from_args(parser.parse_args(argv))
    assert not any(a.startswith(("--port", "--host")) for a in command)


@pytest.mark.parametrize("argv, message", [
    (["--port", "0"], "--port must be in [1, 65535], got 0"),
    (["--port", "http"], "--port: cannot read 'http' as a whole number"),
    (["--host", ""], "--host: expected a name or a path, got an empty value"),
    (["--lr", "-1"], "--lr must be in (0, 1e+06], got -1"),
])
def test_bad_flags_are_one_line_before_anything_listens(fake_server, capsys, argv, message):
    assert main(["serve", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"descent-tui: error: {message}") and err.count("\n") == 1
    assert fake_server == []


def test_a_port_in_use_or_a_host_that_does_not_resolve_is_one_line(fake_server, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"descent-tui: error: cannot listen on 127.0.0.1 port {port}: ") and err.count("\n") == 1
    assert main(["serve", "--host", "no-such-host.invalid"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("descent-tui: error: cannot listen on no-such-host.invalid port 8000: ") and "warning" not in err
    assert fake_server == []


def test_is_local_and_public_url():
    assert is_local("localhost") and is_local("[::1]") and not is_local("0.0.0.0")
    assert public_url("::1", 80) == "http://[::1]:80"
    assert public_url("0.0.0.0", 8000) == f"http://{socket.gethostname()}:8000"


def test_print_config_prints_the_served_settings_and_serves_nothing(fake_server, capsys):
    assert main(["serve", "--rule", "adam", "--lr", "3e-3", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert 'rule = "adam"' in out and "lr = 0.003" in out and fake_server == []
