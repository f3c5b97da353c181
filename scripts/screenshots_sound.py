"""Screenshots of the studio page's sound: the song list with a library, and the mixer.

    .venv/bin/python scripts/screenshots_sound.py   # writes docs/screenshots/*.png

Runs the studio in this process with a small song library written to a temporary
folder (the browser tests' own: two song folders with a chart and a synthesised OGG),
and headless Chromium at 390 and 1280 px wide.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from cymbalism.io.library import scan_library
from cymbalism.web.app import create_app
from cymbalism.web.server import Studio, studio_config

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.web.conftest import write_song_library

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        library = write_song_library(Path(tmp) / "Songs", traps=False)
        records = scan_library(library, cache=False)
        config = studio_config(db=f"{tmp}/s.sqlite", library=records)
        studio = Studio(create_app(config), port=0)
        studio.start_in_thread()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                for width, height in ((390, 844), (1280, 800)):
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.goto(studio.url)
                    page.wait_for_selector(".song-row")
                    page.fill("#library-q", "drive")
                    page.wait_for_function(
                        "() => document.querySelectorAll('.song-row').length === 1"
                    )
                    page.fill("#library-q", "")
                    page.wait_for_function(
                        "() => document.querySelectorAll('.song-row').length > 2"
                    )
                    page.evaluate("() => document.querySelector('#library-card').scrollIntoView()")
                    path = OUT / f"library-{width}.png"
                    page.screenshot(path=str(path))
                    print(f"wrote {path}")
                    page.locator(".song-row", has_text="Night Drive").locator(
                        "[data-choose]"
                    ).click()
                    page.click("#create")
                    page.wait_for_selector("#lobby:not([hidden])")
                    page.click("[data-claim='0']")
                    page.wait_for_function(
                        "() => /drums muted|full mix|none/"
                        ".test(document.querySelector('#music-status').textContent)"
                    )
                    page.evaluate("() => scrollTo(0, 0)")
                    page.click("#mixer-box summary")
                    path = OUT / f"mixer-{width}.png"
                    page.screenshot(path=str(path))
                    print(f"wrote {path}")
                    page.close()
                browser.close()
        finally:
            studio.stop()


if __name__ == "__main__":
    main()
