"""The studio's part chooser offers Expert+ (double kick) for a library song that has it,
and only for such a song, in headless Chromium at 1280 and 390 px.

Screenshots of the chooser are written to ``$CYMBALISM_SCREENSHOTS`` (the README's
``docs/screenshots/`` when it is set so), or to a temporary folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cymbalism.model.chart import LADDER, Level
from cymbalism.web.server import Studio

pytestmark = pytest.mark.browser

SIZES = [(1280, 800), (390, 844)]


@pytest.fixture(scope="module")
def double_kick_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    """A studio whose library holds one song with double kicks (``Double Time``)."""
    from cymbalism.io.charts import save_chart
    from cymbalism.io.library import scan_library
    from cymbalism.songs import get_song
    from cymbalism.web.app import create_app
    from cymbalism.web.server import studio_config
    from tests.test_expert_plus import with_double_kicks

    root = tmp_path_factory.mktemp("library") / "Songs"
    folder = root / "The Testers" / "Double Time"
    save_chart(folder / "notes.chart", with_double_kicks(get_song("mirrorball")))
    (folder / "song.ini").write_text("[song]\nname = Double Time\nartist = The Testers\n")
    records = scan_library(root, cache=False)
    db = tmp_path_factory.mktemp("studio") / "sessions.sqlite"
    server = Studio(
        create_app(studio_config(db=str(db), library=records)), port=0
    ).start_in_thread()
    yield server
    server.stop()


def _options(page: Any, select: str) -> list[tuple[str, str]]:
    return [
        tuple(x)
        for x in page.evaluate(
            f"() => [...document.querySelectorAll('{select} option')]"
            ".map((o) => [o.value, o.textContent])"
        )
    ]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_part_chooser_offers_expert_plus_only_for_a_song_with_double_kicks(
    double_kick_studio: Studio, browser: Any, shots: Path, width: int, height: int
) -> None:
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(double_kick_studio.url)
    page.wait_for_selector(".song-row")
    ladder = [(lv.label, lv.label) for lv in LADDER]
    assert _options(page, "#level0") == ladder  # a built-in song: no double kicks

    page.fill("#library-q", "double")
    page.wait_for_function("() => document.querySelectorAll('.song-row').length === 1")
    assert "E M H X X+" in page.inner_text(".song-row")  # the levels charted
    page.click(".song-row [data-choose]")
    page.wait_for_function("() => document.querySelector('#song').value.startsWith('lib-')")
    song = page.input_value("#song")
    offered = [*ladder, ("Expert+", "Expert+ (double kick)")]
    assert _options(page, "#level0") == _options(page, "#level1") == offered
    # the double-kick part is for one who asks for it: the default is still Expert
    assert (page.input_value("#level0"), page.input_value("#level1")) == ("Expert", "Beginner")
    assert page.inner_text("#song-info").endswith("parts: " + ", ".join(v for v, _ in offered))

    page.select_option("#level0", "Expert+")
    page.select_option("#song", "mirrorball")  # a song without: Expert+ is not kept
    assert _options(page, "#level0") == ladder and page.input_value("#level0") == "Expert"
    page.select_option("#song", song)
    page.select_option("#level0", "Expert+")
    page.fill("#name0", "Dae")
    page.fill("#name1", "Eun")
    page.evaluate("() => document.querySelector('#level0').scrollIntoView({block: 'center'})")
    page.screenshot(path=str(shots / f"expert-plus-{width}.png"))

    page.uncheck("#lesson")
    page.click("#create")
    page.wait_for_selector("#lobby:not([hidden])")
    assert "Dae (Expert+) with Eun (Beginner)" in page.inner_text("#lobby-title")
    code = page.inner_text("#room-code")
    room = double_kick_studio.app.state.rooms.get(code)  # type: ignore[attr-defined]
    assert [s.level for s in room.slots] == [Level.EXPERT_PLUS, Level.BEGINNER]
    assert len(room.chart.part(Level.EXPERT_PLUS)) > len(room.chart.part(Level.EXPERT))
    assert errors == []
    page.context.close()
