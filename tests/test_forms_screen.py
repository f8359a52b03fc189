"""The momentum forms panel: the lab's current setting in three forms, numbers from the engine,
checked here against the forms' own algebra."""

from __future__ import annotations

import numpy as np

from descent_engine.presets import PRESETS
from descent_engine.run import Settings
from tui.app import DescentApp
from tui.screens.forms import FormsScreen


async def test_f_shows_the_note_momentum_in_three_forms_and_escape_returns():
    app = DescentApp(autorun=False)  # the note's momentum: EWA beta 0.4, lr 1e-4, init first
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, FormsScreen)
        forms = {f.name: f for f in screen.forms.forms}
        # heavy ball: v = mu v + g, w -= alpha v with mu = beta and alpha = (1 - beta) lr
        assert forms["heavy_ball"].hparams["mu"] == 0.4
        np.testing.assert_allclose(forms["heavy_ball"].hparams["alpha"], 0.6 * 1e-4, rtol=1e-12)
        # the EWA form's bound on a quadratic: lr < 2 (1 + beta) / ((1 - beta) lambda_max)
        lam = np.linalg.eigvalsh(PRESETS["notes-gdm"].settings.resolved().problem.hessian())[-1]
        np.testing.assert_allclose(forms["ewa"].stable_below, 2 * 1.4 / (0.6 * lam), rtol=1e-9)
        np.testing.assert_allclose(screen.forms.noise_factor, 0.6 / 1.4, rtol=1e-12)
        text = str(screen.query_one("#forms-body").render())
        assert "0.429" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FormsScreen)


async def test_a_rule_without_momentum_says_so():
    app = DescentApp(Settings("notes-ls", "adam"), autorun=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        assert app.screen.forms is None
        assert "has no momentum" in str(app.screen.query_one("#forms-table").render())
