"""``descent-tui``: the command line. The bare command opens the lab; sub-commands run headless.

* ``descent-tui [settings flags]`` opens the Textual app (imported lazily, only here) through
  ``tui.app.run_app(settings)``.
* ``descent-tui run ...`` runs headless (:mod:`tui.cli.run`); ``train`` and ``experiment`` come
  from :mod:`tui.cli.network`, ``data`` from :mod:`tui.cli.data`.

Sub-commands register with ``set_defaults(handler=fn)``, ``fn(args) -> int``. Errors a user can
fix (:class:`CliError`, :class:`ParamError`) print ``descent-tui: error: <message>`` on stderr
and exit 2 without a traceback; so does an OSError that reaches the top (a name the file system
refuses, a full disk), as ``descent-tui: error: PATH: <strerror>``. An unknown flag is reported by
the sub-command's own parser (``see: descent-tui run --help``).

Ctrl-C exits 130. During a sub-command SIGTERM and SIGHUP are handled the same way: the signal is
raised as :class:`~tui.cli.common.Interrupted` where the program is, so temporary files are removed
on the way out, and the exit status is 128 + the signal (143, 129). The app (no sub-command) keeps
the default handlers: Textual has its own.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator, Sequence

from descent_engine import adjust
from descent_engine.adjust import MAX_COMPARE
from descent_engine.params import Param, ParamError, ParamSet
from descent_engine.rules import RULES

from . import data as cli_data, network as cli_network, ratemap as cli_ratemap, run as cli_run, serve as cli_serve
from .common import CliError, Interrupted, quiet_stdout, shorten
from .flags import add_param_flags, parse_flag
from .session import Session
from .settings import active_preset, add_settings_arguments, settings_from_args

PROG = "descent-tui"

DESCRIPTION = """\
A terminal laboratory for gradient-descent optimizers.

  descent-tui [settings]          open the lab (default: the note's momentum run, preset notes-gdm)
  descent-tui run [settings] ...  run headless and print or write CSV/JSON/NPZ (see: descent-tui run --help)
  descent-tui run --list          every problem, rule, schedule, flag, default and range
  descent-tui train / experiment  the note's network and its three experiments (see their --help)
  descent-tui data import|fetch   CIFAR-10 as the .npz that --dataset reads
  descent-tui serve [settings]    the lab in a web browser, on 127.0.0.1:8000 unless --host/--port
  descent-tui [settings] --print-config > s.toml; descent-tui --config s.toml   save and replay a session
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


SCREENSHOT_DIR = Param("screenshot_dir", None, "where the s key saves SVG screenshots", kind="text",
                       none_text="the current directory")
#: the lab's own knobs (besides the settings flags every command shares)
LAB_PARAMS = ParamSet((
    Param("compare", None, "open compare mode with these rules (comma-separated, at most "
          f"{MAX_COMPARE}), each at its own suggested lr, e.g. gd,momentum,adam", kind="text",
          none_text="one run (a compare preset: its rules)"),
    Param("steps", None, "stop the runs at this step (space runs on); runs also stop when they converge",
          kind="int", low=1, high=10**9, none_text="the preset's, else at convergence"),
    SCREENSHOT_DIR,
))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=DESCRIPTION, allow_abbrev=False,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    cli_run.register(sub)
    cli_network.register(sub)
    cli_data.register(sub)
    cli_serve.register(sub)
    cli_ratemap.register(sub)
    add_settings_arguments(parser)
    add_param_flags(parser.add_argument_group("the lab"), LAB_PARAMS, prefix="app_")
    parser.subcommands = sub.choices  # type: ignore[attr-defined]  # for _parse's error messages
    return parser


def _open_app(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    preset = active_preset(args)
    compare = preset is not None and bool(preset.compare) and settings == preset.settings
    rule_names: tuple[str, ...] = ()
    if getattr(args, "app_compare", None) is not None:  # --compare gd,momentum,adam
        rule_names = tuple(r.name for r in compare_rules_named(parse_flag(LAB_PARAMS.get("compare"), args.app_compare)))
    shots = getattr(args, "app_screenshot_dir", None)
    if shots is not None:
        shots = parse_flag(SCREENSHOT_DIR, shots)
    if shots is None and isinstance(preset, Session):  # a session's own screenshot directory
        shots = preset.screenshot_dir
    if getattr(args, "print_config", False):
        from .session import to_toml

        sys.stdout.write(to_toml(settings, preset=preset, steps=_lab_steps(args, preset),
                                 compare=rule_names or (preset.compare if compare else ()),
                                 same_lr=bool(compare and not rule_names and preset.same_lr), screenshot_dir=shots))
        return 0
    from ..app import run_app

    options: dict = {}
    if shots is not None:
        if not os.path.isdir(shots):
            raise CliError(f"--screenshot-dir {shorten(shots)}: not a directory")
        options["screenshot_dir"] = shots
    if rule_names:
        options["compare_set"] = compare_rules(",".join(rule_names), settings)
    elif compare:
        options["compare_set"] = preset.compare_set()  # a compare preset (or session) opens compare mode
    steps = _lab_steps(args, preset)
    if steps is not None:
        options["max_steps"] = steps
    status = run_app(settings, **options)
    return int(status) if status is not None else 0


def _lab_steps(args: argparse.Namespace, preset) -> int | None:
    """Where the lab's runs stop: --steps, else a preset's steps (the note's runs are its 100
    iterations; a session's only when its file names them), else None (at convergence)."""
    steps = getattr(args, "app_steps", None)
    if steps is not None:
        return parse_flag(LAB_PARAMS.get("steps"), steps)
    if preset is None or (isinstance(preset, Session) and not preset.steps_given):
        return None
    return preset.steps


def compare_rules_named(text: str) -> list:
    """``gd,momentum,adam`` -> the rules (checked: known, none twice, at most MAX_COMPARE)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise CliError("--compare: name at least one rule, e.g. --compare gd,momentum")
    canonical = [RULES.canonical(n) for n in names]  # an unknown name: one line with the known ones
    if len(set(canonical)) != len(canonical):
        raise CliError(f"--compare {shorten(text)}: a rule is named twice")
    if len(canonical) > MAX_COMPARE:
        raise CliError(f"--compare: at most {MAX_COMPARE} rules side by side, got {len(canonical)}")
    return [RULES.get(n) for n in canonical]


def compare_rules(text: str, base) -> list:
    """``gd,momentum,adam`` -> the engine's compare set (each rule at its own suggested lr)."""
    return adjust.compare_set(base, [r.name for r in compare_rules_named(text)], limit=MAX_COMPARE)


def _is_number(text: str) -> bool:
    """A number, or numbers separated by commas and colons (``-1.5,2``: a --start; ``-2:2,-1:3``: --bounds)."""
    try:
        for item in text.replace(":", ",").split(","):
            float(item)
    except ValueError:
        return False
    return True


def join_negative_values(argv: list[str]) -> list[str]:
    """``--lr -1e-3`` -> ``--lr=-1e-3``, ``--start -1,2`` -> ``--start=-1,2`` (and ``--bounds -2:2,-1:3``):
    argparse takes a value that starts with ``-`` for an option."""
    out: list[str] = []
    for token in argv:
        if (out and token.startswith("-") and _is_number(token) and out[-1].startswith("--")
                and "=" not in out[-1]):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parse_args``, but an unknown flag after a sub-command is reported by that sub-command."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        message = f"unrecognized arguments: {shorten(' '.join(extras))}"
        command = getattr(args, "command", None)
        sub = getattr(parser, "subcommands", {}).get(command)
        if sub is not None and _after(argv, extras[0], command):
            sub.error(message)
        parser.error(message)
    return args


def _after(argv: list[str], token: str, command: str) -> bool:
    try:
        return argv.index(command) < argv.index(token)
    except ValueError:
        return False


def _dispatch(argv: list[str]) -> int:
    argv = join_negative_values(argv)
    parser = build_parser()
    args = _parse(parser, argv)
    if args.command is None:
        return _open_app(args)
    where = argv.index(args.command)
    if where > 0:
        raise CliError(f"settings go after the sub-command: {PROG} {args.command} "
                       f"{shorten(' '.join(argv[:where]))} ...")
    handler = getattr(args, "handler", None) or getattr(args, "func", None)
    if handler is None:  # pragma: no cover - a sub-command registered without a handler
        raise CliError(f"sub-command {args.command!r} has no handler")
    with _signals_as_interrupts():
        status = handler(args)
    return int(status) if status is not None else 0


_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_interrupted(signum: int, frame: object) -> None:
    for sig in _SIGNALS:  # a second signal must not cut the cleanup short
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


@contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Interrupted` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_interrupted) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _newline() -> None:
    """After Ctrl-C ("^C" echoed) or a signal: the shell prompt starts on a line of its own."""
    try:
        print(file=sys.stderr, flush=True)
    except (OSError, ValueError):  # SIGHUP: the terminal is gone
        pass


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
    except Interrupted as exc:
        _newline()
        return 128 + exc.signum
    except KeyboardInterrupt:
        _newline()
        return 130
    except BrokenPipeError:  # e.g. `descent-tui run --out - | head`
        quiet_stdout()
        return 141
    except OSError as exc:  # the last resort: a fault of the machine, not of the program
        where = f"{shorten(exc.filename)}: " if exc.filename is not None else ""
        print(f"{PROG}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
