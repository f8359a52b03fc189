"""The command line: ``main`` parses and dispatches (:mod:`.main`), one flag builder for every
ParamSet (:mod:`.flags`), the settings flags (:mod:`.settings`), the sub-commands ``run``
(:mod:`.run`), ``train``/``experiment`` (:mod:`.network`) and ``data`` (:mod:`.data`), and what
they share (:mod:`.common`, :mod:`.output`). None of it imports Textual; the app is imported
lazily when the bare command opens it."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
