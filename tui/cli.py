"""``descent-tui``: the command line. The bare command opens the lab; sub-commands run headless.

* ``descent-tui [settings flags]`` opens the Textual app (imported lazily, only here) through
  ``tui.app.run_app(settings)``.
* ``descent-tui run ...`` runs headless (:mod:`tui.cli_run`); ``train`` and ``experiment`` come
  from :mod:`tui.cli_network` when it is installed.

Sub-commands register with ``set_defaults(handler=fn)``, ``fn(args) -> int``. Errors a user can
fix (:class:`CliError`, :class:`ParamError`) print ``descent-tui: error: <message>`` on stderr
and exit 2 without a traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from descent_engine.params import ParamError

from . import cli_run
from .cli_common import CliError
from .cli_settings import add_settings_arguments, settings_from_args

PROG = "descent-tui"

DESCRIPTION = """\
A terminal laboratory for gradient-descent optimizers.

  descent-tui [settings]          open the lab (default: the note's momentum run, preset notes-gdm)
  descent-tui run [settings] ...  run headless and print or write CSV/JSON/NPZ (see: descent-tui run --help)
  descent-tui run --list          every problem, rule, schedule, flag, default and range
"""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the full usage lists dozens of flags)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message} (see: {self.prog} --help)\n")


def version() -> str:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("descent-tui")
    except Exception:  # not installed (running from a source tree)
        from descent_engine import __version__

        return __version__


def _register_network(subparsers) -> None:
    try:
        cli_network = importlib.import_module("tui.cli_network")
    except ModuleNotFoundError as exc:
        if exc.name != "tui.cli_network":
            raise
        return
    cli_network.register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=DESCRIPTION, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    cli_run.register(sub)
    _register_network(sub)
    add_settings_arguments(parser)
    return parser


def _open_app(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        from .app import run_app
    except ImportError as exc:
        print(f"{PROG}: the app is not available ({exc}); use '{PROG} run' for headless runs", file=sys.stderr)
        return 2
    status = run_app(settings)
    return int(status) if status is not None else 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def join_negative_values(argv: list[str]) -> list[str]:
    """``--lr -1e-3`` -> ``--lr=-1e-3``: argparse takes ``-1e-3`` for an option, not a value."""
    out: list[str] = []
    for token in argv:
        if (out and token.startswith("-") and _is_number(token) and out[-1].startswith("--")
                and "=" not in out[-1]):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _dispatch(argv: list[str]) -> int:
    argv = join_negative_values(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return _open_app(args)
    where = argv.index(args.command)
    if where > 0:
        raise CliError(f"settings go after the sub-command: {PROG} {args.command} {' '.join(argv[:where])} ...")
    handler = getattr(args, "handler", None) or getattr(args, "func", None)
    if handler is None:  # pragma: no cover - a sub-command registered without a handler
        raise CliError(f"sub-command {args.command!r} has no handler")
    status = handler(args)
    return int(status) if status is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except SystemExit as exc:  # argparse: --help/--version (0) and usage errors (2)
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except (CliError, ParamError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `descent-tui run --out - | head`
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
