"""Widgets below the screens: they know nothing of the labs (``plot/`` holds the charts)."""
