"""Key press to judgement on the page, in headless Chromium, against a bare WebSocket echo.

The studio runs in this process on a free loopback port; the page is the real studio
page with one player on the computer keys. Each key press is stamped by the page
(``KeyboardEvent.timeStamp``), sent over the WebSocket, put on the server's clock,
judged by the live engine, recorded by the store's writer, and sent back; the page
notes when it has shown the judgement (DOM updated) and when the next frame is drawn.
The baseline, in the same page and the same run, is a bare WebSocket echo round trip
to the same server.

    .venv/bin/python benchmarks/web_latency.py [--presses 400] [--interval-ms 50]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi import WebSocket, WebSocketDisconnect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

ECHO_JS = """async (n) => {
  const ws = new WebSocket(`ws://${location.host}/bench-echo`);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const out = [];
  for (let k = 0; k < n; k++) {
    const t0 = performance.now();
    await new Promise((r) => { ws.onmessage = r; ws.send(JSON.stringify({type: "ping", k})); });
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  ws.close();
  return out;
}"""


def _stats(name: str, ms: np.ndarray, base_p50: float) -> str:
    p50, p99 = np.percentile(ms, [50, 99])
    return (
        f"| {name:<44} | {ms.size:5d} | {p50:7.2f} | {p99:7.2f} | {ms.max():7.2f} "
        f"| {p50 / base_p50:6.1f}x |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=400)
    ap.add_argument("--interval-ms", type=float, default=50.0)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from cymbalism.web.app import create_app
    from cymbalism.web.server import Studio, studio_config

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(studio_config(db=str(Path(tmp) / "bench.sqlite")))

        async def echo(ws: WebSocket) -> None:
            await ws.accept()
            with contextlib.suppress(WebSocketDisconnect):
                while True:
                    await ws.send_text(await ws.receive_text())

        app.add_api_websocket_route("/bench-echo", echo)
        studio = Studio(app, port=0).start_in_thread()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(studio.url)
                page.select_option("#song", "click")
                page.click("#create")
                page.wait_for_selector("#lobby:not([hidden])")
                page.wait_for_function("() => window.studio.offsetSec !== null")
                echo_ms = np.asarray(page.evaluate(ECHO_JS, args.presses))
                page.click("[data-claim='0']")
                page.select_option("[data-input='1']", "keys2")
                page.click("[data-claim='1']")
                page.wait_for_function("() => window.studio.room.players.every(p => p.claimed)")
                page.click("#start")
                page.wait_for_selector("#play:not([hidden])")
                time.sleep(3.0)  # past the count-in
                for k in range(args.presses):
                    page.keyboard.press("f" if k % 2 == 0 else "j")
                    time.sleep(args.interval_ms / 1000.0)
                time.sleep(0.5)
                shown = np.asarray(page.evaluate("() => window.studio.latencies"))
                painted = np.asarray(page.evaluate("() => window.studio.paintLatencies"))
                page.click("#stop")
                browser.close()
        finally:
            studio.stop()

    base = float(np.percentile(echo_ms, 50))
    print(
        f"web latency, headless Chromium on loopback, {args.presses} presses "
        f"every {args.interval_ms:g} ms (two players alternating)"
    )
    print(
        "| path                                         |     n | p50 ms  | p99 ms  | max ms  "
        "| vs echo |"
    )
    print(
        "|----------------------------------------------|------:|--------:|--------:|--------:"
        "|--------:|"
    )
    print(_stats("bare WebSocket echo round trip (baseline)", echo_ms, base))
    print(_stats("key press -> judgement shown (DOM)", shown, base))
    print(_stats("key press -> next frame with the judgement", painted, base))
    lost = args.presses - shown.size
    print(f"judgements missing: {lost}")


if __name__ == "__main__":
    main()
