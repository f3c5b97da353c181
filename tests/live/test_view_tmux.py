"""The terminal view of `cymbalism play` as a person sees it: in tmux, at 80 and 160
columns, with two simulated drummers playing the built-in song."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("cymbalism"))


def _screen(cols: int, wait_sec: float = 0.8) -> list[str]:
    """The tmux pane a few seconds into a duet of simulated drummers."""
    assert shutil.which("tmux"), "tmux is missing: run `make system`"
    server = f"cymbalism-{uuid.uuid4().hex[:8]}"
    cmd = (
        # the terminal's own size, not one the test runner's environment may pin
        f"env -u COLUMNS -u LINES {CLI} play mirrorball -p Ana:sim-expert "
        "-p Benedetta:sim-beginner:beginner --click none --store none --seconds 8 "
        "--count-in 0; sleep 10"
    )
    tmux = ["tmux", "-L", server]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(cols), "-y", "45", cmd], check=True)
    capture = [*tmux, "capture-pane", "-p"]
    try:
        deadline = time.monotonic() + 30.0
        while "bar 1/" not in (
            out := subprocess.run(capture, capture_output=True, text=True).stdout
        ):
            assert time.monotonic() < deadline, out  # started and playing
            time.sleep(0.1)
        time.sleep(wait_sec)
        # a capture can fall between two halves of a redraw: take one with the whole
        # frame, down to its last line
        while "everything played is kept" not in (
            out := subprocess.run(capture, check=True, capture_output=True, text=True).stdout
        ):
            assert time.monotonic() < deadline + 10.0, out
            time.sleep(0.05)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    return out.splitlines()


@pytest.mark.parametrize(
    ("cols", "kick_tab"),
    [(80, "BD |o-o-o-o-|o-o-o-o-|"), (160, "BD |o---o---o---o---|o---o---o---o---|")],
)
def test_the_view_shows_what_is_coming_and_the_beat_without_cutting_words(
    cols: int, kick_tab: str
) -> None:
    lines = _screen(cols)
    text = "\n".join(lines)
    assert all(len(line) <= cols for line in lines)
    assert "…" not in text, text  # nothing cut off
    assert "Ana · Expert" in text and "Benedetta · Beginner" in text, text
    # the next bars of each part as a drum tab, as fine as the width allows: the full
    # part has a kick on every beat, in eighths at 80 columns and sixteenths at 160
    assert sum(kick_tab in line for line in lines) == 1, text
    assert len(re.findall(r"\|\d+ +\|\d+ +\|\d+", text)) == 2, text  # bar numbers
    assert len(re.findall(r"│ +v +│", text)) == 2, text  # where now is in the bar
    beat = next(line for line in lines if line.startswith("beat "))
    assert beat.count("●") == 1 and beat.count("○") == 3, beat
    assert "hit" in text and "miss" in text and "spread" in text


def test_an_error_in_a_terminal_wraps_between_words() -> None:
    """On a narrow terminal a long message breaks between words, not inside one."""
    server = f"cymbalism-{uuid.uuid4().hex[:8]}"
    cmd = f"env -u COLUMNS -u LINES {CLI} songs show mirrorball --level expert+; sleep 10"
    tmux = ["tmux", "-L", server]
    subprocess.run([*tmux, "new-session", "-d", "-x", "50", "-y", "20", cmd], check=True)
    try:
        deadline = time.monotonic() + 30.0
        while "Expert\n" not in (
            out := subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True
            ).stdout
        ):
            assert time.monotonic() < deadline, out
            time.sleep(0.1)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    lines = out[out.index("error:") :].strip().splitlines()
    assert len(lines) > 2 and all(len(line) <= 50 for line in lines), out
    said = "error: the chart 'Mirrorball Nights' has no Expert+ part (no double-kick notes);"
    assert " ".join(lines).startswith(said) and " ".join(lines).endswith(
        "it has: Beginner, Easy, Medium, Hard, Expert"
    ), out
    assert not any(line.startswith(" ") for line in lines), out
