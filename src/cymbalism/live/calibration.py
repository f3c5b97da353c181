"""Latency calibration: the player taps along to clicks; the median offset is the latency.

An e-kit's module, its USB link and the MIDI driver delay every hit by a few
milliseconds, the same each time. To measure it, the player taps a pad along with a
steady click; each tap is matched one-to-one to its click
(:func:`cymbalism.analysis.align.match_events`) and the median of ``tap - click`` becomes
that input's ``offset_sec``, subtracted from every hit it stamps from then on. The median
ignores the odd missed or doubled tap. The store keeps the offset per input name, so a kit
keeps its calibration across sessions.

A microphone needs no tapping when the clicks come from the room's speakers: it hears
them, and its "taps" are the clicks as it heard them. The offset then covers the way from
the output's clock through the speakers and the air to the microphone's stamps, so a
stroke played with what the speakers sound is judged on time. With headphones the
microphone hears the player's strokes instead, as a pad's taps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cymbalism.analysis.align import match_events
from cymbalism.errors import InputError
from cymbalism.live.clock import NS_PER_SEC, Clock
from cymbalism.live.inputs import Input
from cymbalism.live.metronome import ACCENT, CLICK, Output, Sound
from cymbalism.model.validate import validate_times

__all__ = [
    "Calibration",
    "calibrate_input",
    "estimate_latency",
]


@dataclass(frozen=True)
class Calibration:
    """The measured latency of an input.

    Attributes
    ----------
    offset_sec : float
        Median of tap - click (positive: hits arrive late); subtract it from stamps.
    spread_sec : float
        Median absolute deviation of tap - click: how steady the tapping was.
    n_taps : int
        Taps matched to a click.
    n_clicks : int
        Clicks played (after the lead-in).
    """

    offset_sec: float
    spread_sec: float
    n_taps: int
    n_clicks: int


def estimate_latency(
    tap_sec: np.ndarray,
    click_sec: np.ndarray,
    *,
    window_sec: float = 0.25,
    min_taps: int = 4,
) -> Calibration:
    """The latency of an input from taps along to clicks.

    Parameters
    ----------
    tap_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
        When the taps were stamped (with no latency removed).
    click_sec : np.ndarray [shape=(m,), float64, seconds, sorted]
        When the clicks sounded, on the same clock.
    window_sec : float
        A tap further than this from every click is ignored. Keep it below half the
        click interval.
    min_taps : int
        Fewer matched taps than this is an error.

    Returns
    -------
    Calibration

    Raises
    ------
    InputError
        If too few taps came near a click.
    """
    taps = validate_times(np.asarray(tap_sec, np.float64), "tap_sec")
    clicks = validate_times(np.asarray(click_sec, np.float64), "click_sec")
    ia, ib = match_events(taps, clicks, window_sec=window_sec)
    if len(ia) < min_taps:
        raise InputError(
            f"only {len(ia)} of {len(taps)} taps came within {window_sec * 1000:.0f} ms of a "
            f"click (need {min_taps}); tap along with the click, one tap per click"
        )
    diff = taps[np.asarray(ia)] - clicks[np.asarray(ib)]
    med = float(np.median(diff))
    return Calibration(
        offset_sec=med,
        spread_sec=float(np.median(np.abs(diff - med))),
        n_taps=len(ia),
        n_clicks=int(clicks.size),
    )


def calibrate_input(
    inp: Input,
    output: Output,
    clock: Clock,
    *,
    bpm: float = 100.0,
    n_clicks: int = 20,
    lead_in: int = 4,
    player: str | None = None,
) -> Calibration:
    """Play ``n_clicks`` clicks and measure ``inp``'s latency from the player's taps.

    The first ``lead_in`` clicks (one bar) only set the pulse and are not scored. The
    input must be started with no offset of its own. Blocks for the duration.
    """
    if inp.offset_sec != 0.0:
        raise InputError("calibrate an input with its offset at 0")
    if not 30 <= bpm <= 300:
        raise InputError(f"a click at {bpm} BPM is not useful for calibration; use 30-300")
    period_ns = round(60.0 / bpm * NS_PER_SEC)
    t0 = clock.now_ns() + NS_PER_SEC
    total = lead_in + n_clicks
    click_ns = [t0 + k * period_ns for k in range(total)]
    output.schedule(Sound(t, ACCENT if k % 4 == 0 else CLICK) for k, t in enumerate(click_ns))
    end_ns = click_ns[-1] + period_ns // 2
    taps: list[int] = []
    while True:
        now = clock.now_ns()
        taps.extend(h.t_ns for h in inp.poll(now) if player is None or h.player == player)
        if now >= end_ns:
            break
        clock.sleep_until(min(end_ns, now + 5_000_000))
    scored = np.asarray(click_ns[lead_in:], dtype=np.int64)
    # one tap heard as two drums at once (a microphone's click) is one tap
    tap_arr = np.unique(np.asarray(taps, dtype=np.int64))
    tap_arr = tap_arr[tap_arr >= scored[0] - period_ns // 2]
    window = 0.45 * 60.0 / bpm
    return estimate_latency(
        (tap_arr - t0) / NS_PER_SEC, (scored - t0) / NS_PER_SEC, window_sec=window
    )
