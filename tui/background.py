"""Timing shared by the app's screens: how often a live screen redraws."""

from __future__ import annotations

#: redraws per second at most while a screen trains or runs
FRAME_RATE = 10
