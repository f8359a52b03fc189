"""Regenerate docs/serve.png: ``descent-tui serve`` as a browser shows it (headless Chromium).

Run: ``python docs/serve_screenshot.py`` (needs a ``chromium`` on PATH, e.g. Debian's package).
It starts the server on a free port, opens the page in headless Chromium through the DevTools
protocol, waits (real time: the terminal is drawn by JavaScript over a websocket, which a
``--virtual-time-budget`` does not wait for) and saves the page. Not deterministic: the run is
live, so the step count differs from one run to the next.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp  # a dependency of textual-serve

OUT = Path(__file__).resolve().parent / "serve.png"
WIDTH, HEIGHT, WAIT = 1280, 800, 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 30.0):
    end = time.monotonic() + seconds
    while True:
        try:
            return urllib.request.urlopen(url, timeout=2).read()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


async def capture(devtools_ws: str, page: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.ws_connect(devtools_ws, max_msg_size=0) as ws:
        ids = iter(range(1, 1000))

        async def call(method: str, **params):
            n = next(ids)
            await ws.send_json({"id": n, "method": method, "params": params})
            while (reply := await ws.receive_json()).get("id") != n:
                pass
            return reply

        await call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
        await call("Page.navigate", url=page)
        await asyncio.sleep(WAIT)
        shot = await call("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["result"]["data"])


def main() -> None:
    port, debug = free_port(), free_port()
    server = subprocess.Popen([sys.executable, "-m", "tui", "serve", "--port", str(port), *sys.argv[1:]],
                              stdout=subprocess.DEVNULL)
    browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                f"--remote-debugging-port={debug}", f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/")
        tabs = json.loads(wait_for(f"http://127.0.0.1:{debug}/json"))
        devtools = next(t for t in tabs if t["type"] == "page")["webSocketDebuggerUrl"]
        OUT.write_bytes(asyncio.run(capture(devtools, f"http://127.0.0.1:{port}/?fontsize=14")))
        print(f"wrote {OUT}")
    finally:
        browser.terminate()
        server.terminate()
        browser.wait()
        server.wait()


if __name__ == "__main__":
    main()
