"""``python -m tui`` is ``descent-tui``."""

from .cli import main

raise SystemExit(main())
