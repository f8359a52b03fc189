"""Named starting points, as plain data, shared by the CLI (``--preset``) and the app.

``notes-gd`` and ``notes-gdm`` are the course note's two least-squares runs (``runGD`` and
``runGDM``: lr 1e-4, 100 iterations). The note's GDM writes ``s = (1 - b) s + b g`` with
``b = 0.6`` weighing the *new* gradient; in this package's EWA convention (beta weighs the
past) that is ``beta = 1 - 0.6 = 0.4``, with ``v`` starting at the first gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registry import Registry
from .rules import note_momentum_beta
from .run import Settings

#: the note's GDM "beta = 0.6" (weight of the new gradient)
NOTE_GDM_BETA = 0.6


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    settings: Settings
    steps: int = 100
    #: rules run side by side in compare mode (empty: a single run)
    compare: tuple[str, ...] = ()
    #: compare every rule at the preset's lr (the note's figures) rather than each at its own
    same_lr: bool = False

    def compare_set(self) -> list[Settings]:
        """The runs of this preset: its settings, or one per compared rule."""
        if not self.compare:
            return [self.settings]
        from .adjust import compare_set

        return compare_set(self.settings, self.compare, same_lr=self.same_lr)


PRESETS: Registry[Preset] = Registry("preset")
for _preset in (
    Preset(
        "notes-gd", "the note's runGD: plain GD on its least squares, lr 1e-4, 100 iterations",
        Settings("notes-ls", "gd", rule_params={"lr": 1e-4}),
    ),
    Preset(
        "notes-gdm",
        "the note's runGDM: momentum with its beta = 0.6 (EWA beta 0.4), v starts at the first gradient,"
        " lr 1e-4, 100 iterations",
        Settings("notes-ls", "momentum", rule_params={
            "lr": 1e-4, "beta": note_momentum_beta(NOTE_GDM_BETA), "init": "first",
        }),
    ),
    Preset(
        "notes-compare",
        "the note's GD vs momentum figure: notes-gd and notes-gdm side by side at the same lr 1e-4",
        Settings("notes-ls", "momentum", rule_params={
            "lr": 1e-4, "beta": note_momentum_beta(NOTE_GDM_BETA), "init": "first",
        }),
        compare=("gd", "momentum"), same_lr=True,
    ),
):
    PRESETS.register(_preset.name, _preset)

#: what ``descent-tui`` and ``descent-tui run`` start from when no --preset, --problem or --rule is given
DEFAULT_PRESET = "notes-gdm"


def get_preset(name: str) -> Preset:
    return PRESETS.get(name)
