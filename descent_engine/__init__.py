"""descent_engine: the pure-NumPy core of descent-tui (rules, schedules, EWA, problems, theory, runs).

It never imports Textual or plotext.
"""

__version__ = "0.1.0"
