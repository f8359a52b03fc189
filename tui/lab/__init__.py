"""The 2-D lab: the model (:mod:`.model`: runs, ghost, speeds), the screen (:mod:`.screen`: keys,
state, messages), its charts (:mod:`.plots`), its text lines (:mod:`.text`) and its one timer
(:mod:`.ticker`)."""

from .screen import LabScreen, check_lab_settings, lab_problems

__all__ = ["LabScreen", "check_lab_settings", "lab_problems"]
