"""One registry type for everything that is looked up by name: rules, schedules, problems,
presets and datasets.

A :class:`Registry` is a read-only mapping from canonical names to entries, with aliases (``sgd``
for ``gd``) and one error for an unknown name::

    unknown rule 'adma' (known: gd, momentum, ..., sgd)

so every command, screen and palette says the same thing. Entries are registered once, at import
time of the module that defines them; ``register`` refuses a name that is taken.
"""

from __future__ import annotations

from typing import Generic, Iterator, Mapping, Sequence, TypeVar

from .params import ParamError, shorten

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Named entries of one kind (``kind`` names it in errors: "rule", "schedule", ...)."""

    def __init__(self, kind: str, *, hint: str = "") -> None:
        self.kind = kind
        #: appended to the list of known names in the unknown-name error (e.g. "or a path to an .npz")
        self.hint = hint
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    # -- building ---------------------------------------------------------------------------------
    def register(self, name: str, item: T, aliases: tuple[str, ...] = ()) -> T:
        for key in (name, *aliases):
            if key in self._items or key in self._aliases:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
        self._items[name] = item
        for alias in aliases:
            self._aliases[alias] = name
        return item

    def unregister(self, name: str) -> None:
        """Remove ``name`` and its aliases (for tests that register a temporary entry)."""
        self._items.pop(name)
        self._aliases = {a: n for a, n in self._aliases.items() if n != name}

    # -- looking up -------------------------------------------------------------------------------
    def canonical(self, name: str) -> str:
        """The canonical name for ``name`` or one of its aliases; ParamError if unknown."""
        key = self._aliases.get(name, name)
        if key not in self._items:
            raise ParamError(self.unknown_message(name))
        return key

    def get(self, name: str) -> T:  # type: ignore[override]
        """The entry called ``name`` (or an alias of it); ParamError with the one message if unknown."""
        return self._items[self.canonical(name)]

    def unknown_message(self, name: object) -> str:
        known = ", ".join(self.known())
        extra = f", {self.hint}" if self.hint else ""
        return f"unknown {self.kind} {shorten(name)} (known: {known}{extra})"

    def names(self) -> list[str]:
        """Canonical names in registration order."""
        return list(self._items)

    def aliases(self) -> dict[str, str]:
        """alias -> canonical name."""
        return dict(self._aliases)

    def known(self) -> list[str]:
        """Every name a user may type: canonical names, then aliases."""
        return list(self._items) + list(self._aliases)

    # -- Mapping ------------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> T:
        return self._items[self._aliases.get(name, name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._aliases

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"


def cycle(names: Sequence[str], current: str, direction: int) -> str:
    """The name ``direction`` places after ``current`` in ``names``, wrapping around (a name not in
    the list counts as just before the first): the keys' next/previous rule, schedule, problem."""
    names = list(names)
    if not names:
        raise ValueError("nothing to cycle through")
    i = names.index(current) if current in names else (-1 if direction > 0 else 0)
    return names[(i + direction) % len(names)]
