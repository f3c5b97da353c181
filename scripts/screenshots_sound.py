"""Screenshots of the studio page's sound: the mixer in the lobby, and the music line.

    .venv/bin/python scripts/screenshots_sound.py   # writes docs/screenshots/*.png

Runs the studio in this process and headless Chromium at 390 and 1280 px wide.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from cymbalism.web.app import create_app
from cymbalism.web.server import Studio, studio_config

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio(create_app(studio_config(db=f"{tmp}/s.sqlite")), port=0)
        studio.start_in_thread()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                for width, height in ((390, 844), (1280, 800)):
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(studio.url)
                    page.wait_for_function(
                        "() => window.cymbalismSound && window.studio.songs.length"
                    )
                    page.select_option("#song", "mirrorball")
                    page.click("#create")
                    page.wait_for_selector("#lobby:not([hidden])")
                    page.click("[data-claim='0']")
                    page.wait_for_function(
                        "() => /drums muted|full mix|none/"
                        ".test(document.querySelector('#music-status').textContent)"
                    )
                    page.click("#mixer-box summary")
                    page.fill("[data-channel='click']", "0.3")
                    page.dispatch_event("[data-channel='click']", "input")
                    path = OUT / f"mixer-{width}.png"
                    page.screenshot(path=str(path))
                    print(f"wrote {path}")
                    page.close()
                browser.close()
        finally:
            studio.stop()


if __name__ == "__main__":
    main()
