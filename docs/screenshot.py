"""Regenerate docs/screenshot.svg: the app saves its own screen at 160x48.

Run: ``python docs/screenshot.py``. Deterministic: the engine is stepped by key presses, not
by the clock, as in the snapshot tests.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tui.app import DescentApp

OUT = Path(__file__).resolve().parent / "screenshot.svg"


async def main() -> None:
    app = DescentApp(autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(40):
            await pilot.press("n")
        await pilot.press("l")  # double lr: the previous run stays as a ghost
        for _ in range(60):
            await pilot.press("n")
        await pilot.pause()
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
