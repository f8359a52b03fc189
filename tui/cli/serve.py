"""``descent-tui serve``: the lab in a browser, for a classroom (textual-serve).

Each browser tab that opens the page starts its own ``descent-tui`` (this Python, ``-m tui``)
with the settings flags given to ``serve``, drawn in the page by textual-serve's terminal over a
websocket. The server listens on 127.0.0.1 (this machine only) unless ``--host`` says otherwise;
when it listens beyond this machine (0.0.0.0, ::, a non-loopback address or name) a warning goes
to stderr: whoever reaches the port runs the lab on this machine. The settings are checked
before the server starts (a bad flag is one line, exit 2, as for the app).
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import socket
import sys
from typing import Any

from descent_engine.params import Param

from .common import CliError, shorten
from .flags import add_param_flags, param_actions, parse_flag
from .settings import active_preset, add_settings_arguments, settings_from_args

HOST = Param("host", "127.0.0.1", "address to listen on (0.0.0.0 or :: listens on every network of this machine)",
             kind="text")
PORT = Param("port", 8000, "TCP port to listen on", kind="int", low=1, high=65535)
PUBLIC_URL = Param("public_url", None, "the address browsers use to reach the server (behind a proxy, or for "
                   "a host that listens on every network)", kind="text",
                   none_text="http://HOST:PORT (this machine's name for 0.0.0.0 or ::)")
SERVE_PARAMS = (HOST, PORT, PUBLIC_URL)
#: the plain (non-Param) settings flags passed on to each app
_NAME_FLAGS = ("--preset", "--problem", "--rule", "--schedule")

DESCRIPTION = """\
Serve the lab in a web browser (one app per browser tab), for a classroom or a remote machine.
Settings flags (as for descent-tui itself) are passed on to every app.
Listens on 127.0.0.1 unless --host says otherwise; a warning is printed when it listens beyond
this machine: anyone who can reach the port can use the lab, which runs on this machine.
Examples:
  descent-tui serve                                   then open http://127.0.0.1:8000
  descent-tui serve --port 8080 --preset notes-compare
  descent-tui serve --host 0.0.0.0 --public-url http://lab.example.org:8000
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("serve", help="serve the lab in a web browser (textual-serve)", description=DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    add_param_flags(p.add_argument_group("server"), SERVE_PARAMS, prefix="serve_")
    add_settings_arguments(p)
    p.set_defaults(handler=serve_command, parser=p)
    return p


def is_local(host: str) -> bool:
    """True when ``host`` is reachable from this machine only (a loopback address or name)."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(name, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def public_url(host: str, port: int) -> str:
    name = host.strip("[]")
    if name in ("0.0.0.0", "::", ""):
        name = socket.gethostname()
    if ":" in name:  # an IPv6 literal
        name = f"[{name}]"
    return f"http://{name}:{port}"


def check_can_listen(host: str, port: int) -> None:
    """CliError (one line) when ``host:port`` cannot be listened on (a name that does not resolve,
    a port in use), before the server prints that it is serving."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
            probe.bind(address)
    except OSError as exc:
        raise CliError(f"cannot listen on {shorten(host)} port {port}: {exc.strerror or exc}") from None


def app_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """The settings flags given to ``serve``, as the app's command line (``--flag=value`` each)."""
    out: list[str] = []
    serve_dests = {"serve_" + p.name for p in SERVE_PARAMS}
    for flag, action in param_actions(parser).items():
        value = getattr(args, action.dest, None)
        if value is not None and action.dest not in serve_dests:
            out.append(f"{flag}={value}")
    for flag in _NAME_FLAGS:
        value = getattr(args, flag[2:], None)
        if value is not None:
            out.append(f"{flag}={value}")
    return out


def serve_command(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)  # bad settings: one line, before anything listens
    from ..app import check_lab_settings  # the served app is the lab: a problem it cannot draw is refused here

    check_lab_settings(settings)
    if args.print_config:
        from .session import to_toml

        sys.stdout.write(to_toml(settings, preset=active_preset(args)))
        return 0
    host = parse_flag(HOST, args.serve_host) if args.serve_host is not None else HOST.default
    port = parse_flag(PORT, args.serve_port) if args.serve_port is not None else PORT.default
    url = parse_flag(PUBLIC_URL, args.serve_public_url) if args.serve_public_url is not None else public_url(host, port)
    try:
        from textual_serve.server import Server
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise CliError(f"serve needs textual-serve ({exc}); install descent-tui with its dependencies") from None
    command = shlex.join([sys.executable, "-m", "tui", *app_arguments(args.parser, args)])
    check_can_listen(host, port)
    if not is_local(host):
        print(f"descent-tui: warning: listening on {shorten(host)} port {port}, beyond this machine: anyone who "
              "can reach it can use the lab, which runs here", file=sys.stderr)
    Server(command, host=host, port=port, title="descent-tui", public_url=url).serve()
    return 0
