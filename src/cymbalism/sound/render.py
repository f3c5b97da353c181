"""Rendering to a file: what the room heard, and practice tracks.

- :func:`render_session` renders a stored session: the music at the tempo it was played
  (following the duo where the click followed it, looping where it looped: the
  session's bar layout), each player's hits as drum sounds panned apart, and the click
  only if asked.
- :func:`render_practice` renders a song's music with one level's part played by the
  sampled kit (the drum stems muted), for a beginner to listen to before playing.

Both fill a :class:`~cymbalism.sound.mixer.Mixer` and mix it block by block, exactly as
the sound card's callback does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cymbalism.model.chart import EXCERPT_OF_BARS, Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.session import BarLayout, Session
from cymbalism.model.tempo import TempoMap
from cymbalism.sound.audio import SongAudio
from cymbalism.sound.kit import CHOKED_BY, SampleKit
from cymbalism.sound.mixer import Mixer, Placed
from cymbalism.sound.music import MusicTrack

__all__ = [
    "CHOKE_SEC",
    "HitVoices",
    "Rendered",
    "as_written",
    "click_times",
    "player_pans",
    "render_practice",
    "render_session",
]

#: How fast a choked sound (an open hi-hat closed by the pedal) dies away.
CHOKE_SEC = 0.008


def player_pans(n: int) -> list[float]:
    """Pans that set ``n`` players apart: one player in the middle, two at -0.5 and 0.5."""
    if n <= 1:
        return [0.0] * n
    return [float(x) for x in np.linspace(-0.5, 0.5, n)]


class HitVoices:
    """Turns strokes into kit samples on a mixer, with the open hi-hat choked.

    Parameters
    ----------
    mixer : Mixer
    kit : SampleKit
        At the mixer's sample rate.
    """

    def __init__(self, mixer: Mixer, kit: SampleKit) -> None:
        self.mixer = mixer
        self.kit = kit
        self._ringing: dict[tuple[str, int], Placed] = {}
        self._choke = max(1, round(CHOKE_SEC * mixer.sample_rate))
        self._chokers = {int(c): int(lane) for lane, chokers in CHOKED_BY.items() for c in chokers}

    def strike(
        self,
        frame: int,
        lane: int,
        velocity: int,
        *,
        player: str = "",
        channel: str = "own",
        pan: float = 0.0,
    ) -> Placed:
        """Place one stroke's sample on ``frame``."""
        data, gain = self.kit.voice(lane, velocity)
        choked = self._chokers.get(int(lane))
        if choked is not None:
            ringing = self._ringing.pop((player, choked), None)
            if ringing is not None:
                ringing.cut(frame, self._choke)
        placed = self.mixer.add(Placed(frame, data, channel, gain=gain, pan=pan))
        if int(lane) in {int(x) for x in CHOKED_BY}:
            self._ringing[(player, int(lane))] = placed
        return placed

    def strike_all(
        self, hits: Hits, *, player: str = "", channel: str = "own", pan: float = 0.0
    ) -> None:
        """Place every hit (song seconds) of one player."""
        sr = self.mixer.sample_rate
        for t, lane, v in zip(hits.onset_sec, hits.lane, hits.velocity, strict=True):
            self.strike(
                round(float(t) * sr), int(lane), int(v), player=player, channel=channel, pan=pan
            )


def as_written(chart: Chart, *, from_bar: int = 0) -> list[BarLayout]:
    """The bar layout of a song played as written, bar by bar (stretch 1)."""
    tm = chart.tempo_map
    out = []
    for bar in range(from_bar, chart.n_bars):
        q0 = float(tm.bar_to_qn(bar))
        q1 = min(float(tm.bar_to_qn(bar + 1)), max(chart.end_qn, q0))
        out.append(BarLayout(q0, q1))
    return out


def click_times(
    layouts: Sequence[BarLayout], base_map: TempoMap, *, count_in_bars: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The click of a laid-out song: every beat, the downbeats accented, and the count-in.

    Returns
    -------
    song_sec : np.ndarray [shape=(n,), float64, seconds, sorted]
    accent : np.ndarray [shape=(n,), bool]
    """
    times: list[float] = []
    accents: list[bool] = []
    if layouts and count_in_bars > 0:
        first = layouts[0]
        rel, bar_sec = base_map.count_in(first.start_qn)
        start = first.start_sec(base_map)
        for k in range(count_in_bars, 0, -1):
            for j, r in enumerate(rel):
                times.append(start - k * bar_sec + float(r))
                accents.append(j == 0)
    for b in layouts:
        beats = base_map.beat_grid_qn(b.end_qn, b.start_qn)
        bar_start = float(
            base_map.bar_to_qn(int(base_map.qn_to_bar_beat(np.float64(b.start_qn))[0]))
        )
        for q in beats:
            times.append(float(base_map.qn_to_sec(q)) * b.stretch + b.shift_sec)
            accents.append(abs(float(q) - bar_start) < 1e-9)
    order = np.argsort(times, kind="stable")
    return np.asarray(times)[order], np.asarray(accents, dtype=bool)[order]


@dataclass
class Rendered:
    """A render: stereo frames, where they start on song time, and what to tell people.

    Attributes
    ----------
    frames : np.ndarray [shape=(n, 2), float32]
        The mix, clipped to -1..1.
    sample_rate : int
    start_sec : float
        The song second of ``frames[0]`` (negative: the count-in).
    messages : list of str
    stems : dict of str -> np.ndarray [shape=(n, 2), float32]
        What makes up the mix, one part each, on the same frames (they sum to the mix
        before it is clipped): ``music`` (the recording, with the guide drums if they
        were asked for), ``click``, and ``drums-NAME`` for each player (a practice
        track: ``drums``). Empty unless asked for.
    """

    frames: np.ndarray
    sample_rate: int
    start_sec: float
    messages: list[str] = field(default_factory=list)
    stems: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """The render's length."""
        return self.frames.shape[0] / self.sample_rate

    def frame_of(self, song_sec: float) -> int:
        """The index in :attr:`frames` of a song second."""
        return round(song_sec * self.sample_rate) - round(self.start_sec * self.sample_rate)


def _mix_down(
    parts: Mapping[str, Mixer], start_sec: float, messages: list[str], *, stems: bool
) -> Rendered:
    """Mix every part from ``start_sec`` to the end of the last sound, and sum them."""
    sample_rate = next(iter(parts.values())).sample_rate
    start = round(start_sec * sample_rate)
    stop = max(start, *(m.last_frame() for m in parts.values()))
    mixed = {name: m.render_span(start, stop, clip=False) for name, m in parts.items()}
    frames = np.zeros((stop - start, 2), np.float32)
    for x in mixed.values():
        frames += x
    np.clip(frames, -1.0, 1.0, out=frames)
    return Rendered(frames, sample_rate, start / sample_rate, messages, mixed if stems else {})


def _place_click(mixer: Mixer, kit: SampleKit, times: np.ndarray, accent: np.ndarray) -> None:
    for t, a in zip(times, accent, strict=True):
        mixer.add(Placed(mixer.frame_of(float(t)), kit.click(bool(a)), "click"))


def _music(
    mixer: Mixer,
    audio: SongAudio | None,
    chart: Chart,
    layouts: Sequence[BarLayout],
    *,
    tempo_scale: float,
    start_sec: float,
) -> None:
    """The recording along the layout; it runs on to its end only if the whole song was
    played to its end (a session cut short, a loop, or the first bars of a song played
    as a song of their own stop the music where they stopped)."""
    if audio is None or not layouts:
        return
    track = MusicTrack(
        audio,
        mixer,
        chart_map=chart.tempo_map,
        tempo_scale=tempo_scale,
        guide=mixer.gains.get("guide", 0.0) > 0.0,
        start_sec=start_sec,
    )
    track.add_bars(layouts)
    if layouts[-1].end_qn >= chart.end_qn - 1e-6 and EXCERPT_OF_BARS not in chart.metadata:
        track.finish()


def _count_in_start(layouts: Sequence[BarLayout], base_map: TempoMap, count_in_bars: int) -> float:
    times, _ = click_times(layouts, base_map, count_in_bars=count_in_bars)
    first = layouts[0].start_sec(base_map) if layouts else 0.0
    return min(float(times[0]) if times.size else first, first)


def render_session(
    session: Session,
    audio: SongAudio | None,
    *,
    gains: Mapping[str, float] | None = None,
    click: bool = False,
    stems: bool = False,
    sample_rate: int = 44_100,
) -> Rendered:
    """Render what the room heard in a session.

    Parameters
    ----------
    session : Session
        Its bar layout (or, if it has none, the song as written at its tempo scale),
        every player's hits (song seconds) and settings.
    audio : SongAudio, optional
        The song's recording at ``sample_rate``; None renders hits (and click) only.
    gains : Mapping[str, float], optional
        Channel gains (:data:`~cymbalism.sound.mixer.DEFAULT_GAINS`).
    click : bool
        Include the click (with the count-in).
    stems : bool
        Also keep each part on its own (:attr:`Rendered.stems`: ``music``, ``click``,
        ``drums-NAME`` per player).

    Returns
    -------
    Rendered
        From the count-in (or the first sound) to the last sound's end.
    """
    g = dict(gains or {})
    if not click:
        g["click"] = 0.0
    kit = SampleKit(sample_rate)
    chart = session.chart
    base = chart.tempo_map.scaled(session.settings.tempo_scale)
    layouts = list(session.layout) or as_written(chart)
    start_sec = _count_in_start(layouts, base, session.settings.count_in_bars)
    messages = [] if audio is None else list(audio.messages)
    if audio is None:
        messages.append("no recording: the render has the hits only")
    parts = {"music": Mixer(sample_rate, g)}
    _music(
        parts["music"],
        audio,
        chart,
        layouts,
        tempo_scale=session.settings.tempo_scale,
        start_sec=start_sec,
    )
    if click:
        parts["click"] = Mixer(sample_rate, g)
        times, accents = click_times(layouts, base, count_in_bars=session.settings.count_in_bars)
        _place_click(parts["click"], kit, times, accents)
    pans = player_pans(len(session.players))
    for i, (player, pan) in enumerate(zip(session.players, pans, strict=True)):
        mixer = parts[f"drums-{player.name}"] = Mixer(sample_rate, g)
        HitVoices(mixer, kit).strike_all(
            player.hits, player=player.name, channel="own" if i == 0 else "partner", pan=pan
        )
        if len(player.hits):
            start_sec = min(start_sec, float(player.hits.onset_sec[0]))
    return _mix_down(parts, start_sec, messages, stems=stems)


def render_practice(
    chart: Chart,
    level: Level | str | int,
    audio: SongAudio | None,
    *,
    tempo_scale: float = 1.0,
    gains: Mapping[str, float] | None = None,
    click: bool = False,
    count_in_bars: int = 1,
    stems: bool = False,
    sample_rate: int = 44_100,
) -> Rendered:
    """Render a practice track: the music with one level's part played as drums.

    The drum stems stay muted (``guide`` 0): the part is what the player will play. The
    part sounds in the middle, on the ``own`` channel. With ``stems``, the parts are
    kept apart too (``music``, ``click``, ``drums``).
    """
    g = {**(gains or {}), "guide": 0.0}
    if not click:
        g["click"] = 0.0
    kit = SampleKit(sample_rate)
    base = chart.tempo_map.scaled(tempo_scale)
    layouts = as_written(chart)
    start_sec = _count_in_start(layouts, base, count_in_bars)
    messages = [] if audio is None else [m for m in audio.messages if "drums are in it" not in m]
    if audio is None:
        messages.append("no recording: the track has the drums only")
    elif audio.drums_in_music:
        messages.append("the recording is a full mix: its own drums play along with the part")
    parts = {"music": Mixer(sample_rate, g)}
    _music(parts["music"], audio, chart, layouts, tempo_scale=tempo_scale, start_sec=start_sec)
    if click:
        parts["click"] = Mixer(sample_rate, g)
        _place_click(parts["click"], kit, *click_times(layouts, base, count_in_bars=count_in_bars))
    part = chart.part(level)
    notes = Hits(base.qn_to_sec(part.qn), part.lane.copy(), part.velocity.copy())
    parts["drums"] = Mixer(sample_rate, g)
    HitVoices(parts["drums"], kit).strike_all(notes, player="part")
    return _mix_down(parts, start_sec if math.isfinite(start_sec) else 0.0, messages, stems=stems)
