"""The research figures of an ensemble: onsetsync's pairwise asynchrony, coupling, lead/lag.

One place that turns what a researcher has (an onset table, a set of MIDI files on one
timeline) into an :class:`~cymbalism.model.onsets.OnsetTable`, and the table into figures.
The command line (``cymbalism sync``, ``cymbalism coupling``), the corpus runner and the
evaluation scripts all use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.analysis.coupling import (
    CHORD_SEC,
    PAIR_WINDOW_SEC,
    CouplingFit,
    beat_events,
    fit_phase_correction,
    lead_lag,
    onset_table_from_onsets,
    windowed_phase_correction,
)
from cymbalism.analysis.sync import Asynchrony, sync_stats
from cymbalism.errors import InputError
from cymbalism.io.midi import NoteOnsets
from cymbalism.io.performance import default_names
from cymbalism.io.tables import PlayerColumns
from cymbalism.model.onsets import OnsetTable
from cymbalism.model.tempo import TempoMap

__all__ = [
    "TABLE_SUFFIXES",
    "LoadedOnsets",
    "all_pairs",
    "bar_edges_sec",
    "cycle_edges_sec",
    "load_onsets",
    "load_session_onsets",
    "pair_asynchrony",
    "pair_figures",
    "plot_windowed",
    "windowed_figures",
]

#: File suffixes read as onset tables; anything else is read as MIDI.
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass(frozen=True)
class LoadedOnsets:
    """An onset table and, when the source had one, its tempo map (for bars); for a wide
    table, which of its columns were taken as players and why the others were not; for
    performances, each player's, and how recordings were put on one clock (``align``:
    the clock alignments and the hits left out, as :func:`~cymbalism.io.performance.
    on_one_clock` and :func:`~cymbalism.io.performance.leave_out_other_kits` give them)."""

    table: OnsetTable
    tempo_map: TempoMap | None = None
    columns: PlayerColumns | None = None
    performances: tuple[Any, ...] = ()
    sources: tuple[str, ...] = ()
    clocks: tuple[list[Any], dict[str, int]] | None = None
    #: Whether the table pairs the players' strokes without a grid (performances, a long
    #: table of onsets), rather than holding events a table gave.
    paired: bool = False

    def _drum_hits(self) -> list[Any]:
        """The hits of each performance that has drums (not a keyboard's note onsets)."""
        return [p.hits for p in self.performances if not isinstance(p, NoteOnsets)]

    def coupling_table(self) -> OnsetTable:
        """The table phase correction and lead/lag are read on: strokes paired without a
        grid, only those on the beat (:func:`~cymbalism.analysis.coupling.beat_events`,
        at the tempo the hits' drums and accents give); any other table as it is."""
        if not self.paired:
            return self.table
        from cymbalism.analysis.tempo import estimate_tempo
        from cymbalism.model.hits import Hits

        bpm = None
        hits = self._drum_hits()
        if any(len(h) for h in hits):
            heard = Hits.concat(hits)
            try:
                bpm = estimate_tempo(
                    heard.onset_sec, weight=heard.velocity.astype(float), lane=heard.lane
                )
            except InputError:
                bpm = None  # beat_events finds it from the strokes, or leaves them
        return beat_events(self.table, bpm=bpm)

    def bars_tempo_map(self) -> TempoMap | None:
        """The tempo map that windows of bars are counted by: the source's, else the
        click that the recordings' hits follow together (None for a table, and for
        recordings too sparse to show one)."""
        if self.tempo_map is not None or not self.performances:
            return self.tempo_map
        from cymbalism.analysis.tempo import players_clicks

        hits = self._drum_hits()
        if not any(len(h) for h in hits):
            return None
        clicks, _ = players_clicks(hits, [None] * len(hits))
        return clicks[0]


def load_onsets(
    paths: Sequence[str | Path],
    *,
    players: Sequence[str] | None = None,
    window_sec: float = PAIR_WINDOW_SEC,
    merge_sec: float = CHORD_SEC,
    kit: str | None = None,
    align: bool = False,
) -> LoadedOnsets:
    """Read one onset table, or one performance per player on one timeline.

    Parameters
    ----------
    paths : sequence of path
        One CSV table (wide or long); or a performance per player, as
        :func:`~cymbalism.io.performance.load_performance` reads them: MIDI files, a MIDI
        file's drum parts (``duet.mid:1 duet.mid:2``), recordings and their channels
        (``take.wav:L take.wav:R``). A MIDI file without drums gives every note's onset
        (a keyboard part). One MIDI file that holds two kits or more is read as its kits,
        one player each.
    players : sequence of str, optional
        For a table, the player columns to use; for performances, the players' names
        (default: :func:`~cymbalism.io.performance.default_names`).
    window_sec, merge_sec : float
        How unaligned onsets are paired (see
        :func:`~cymbalism.analysis.coupling.onset_table_from_onsets`).
    kit : str, optional
        An e-kit's note map for MIDI files, a calibrated kit for recordings.
    align : bool
        Put recordings made on separate devices on the first one's clock by their sound
        (:func:`~cymbalism.io.performance.on_one_clock`), leaving out the other kit heard
        across the room.

    Returns
    -------
    LoadedOnsets
        For performances, the first MIDI file's tempo map (recordings have none; see
        :meth:`LoadedOnsets.bars_tempo_map`).

    Raises
    ------
    InputError, NotFoundError
        For unreadable files, one performance, or a wrong number of names.
    """
    files = [str(p) for p in paths]
    if not files:
        raise InputError("give an onset table or two or more performances")
    if len(files) == 1 and Path(files[0]).suffix.lower() in TABLE_SUFFIXES:
        from cymbalism.io.tables import is_long_table, player_columns, read_table

        read = read_table(files[0], players=players)
        if isinstance(read, OnsetTable):
            wide = not is_long_table(files[0])
            return LoadedOnsets(
                read, columns=player_columns(files[0], players=players) if wide else None
            )
        return LoadedOnsets(
            onset_table_from_onsets(read, window_sec=window_sec, merge_sec=merge_sec),
            paired=True,
        )
    files, performances = _players(files, kit=kit)
    clocks = None
    if align:
        from cymbalism.io.performance import leave_out_other_kits, on_one_clock

        performances, moved = on_one_clock(performances)  # type: ignore[arg-type]
        performances, left_out = leave_out_other_kits(performances, moved)  # type: ignore[arg-type]
        clocks = (moved, left_out)
    names = list(players) if players else default_names(performances)
    if len(names) != len(performances):
        raise InputError(f"{len(names)} names for {len(performances)} players")
    if len(set(names)) != len(names):
        names = [f"{n} ({k + 1})" for k, n in enumerate(names)]
    onsets = {name: _onsets(p) for name, p in zip(names, performances, strict=True)}
    table = onset_table_from_onsets(onsets, window_sec=window_sec, merge_sec=merge_sec)
    known = [p.tempo_map for p in performances if p.tempo_map is not None]
    return LoadedOnsets(
        table,
        known[0] if known else None,
        performances=tuple(performances),
        sources=tuple(files),
        clocks=clocks,
        paired=True,
    )


def _players(files: list[str], *, kit: str | None) -> tuple[list[str], list[Any]]:
    """What was read and one performance per player; one MIDI file of two kits or more
    is read as its kits (``duet.mid`` as ``duet.mid:1`` and ``duet.mid:2``)."""
    from cymbalism.io.midi import MidiPerformance

    performances = [_player(f, kit=kit) for f in files]
    if len(performances) > 1:
        return files, performances
    (only,) = performances
    kits = only.kits if isinstance(only, MidiPerformance) and only.part is None else []
    if len(kits) >= 2:
        specs = [f"{files[0]}:{k + 1}" for k, p in enumerate(only.drum_parts) if p in kits]
        return specs, [_player(f, kit=kit) for f in specs]
    what = "MIDI file" if isinstance(only, MidiPerformance | NoteOnsets) else "recording"
    more = (
        f"; if its channels are the two players, give {only.name}:L {only.name}:R"
        if what == "recording" and getattr(only, "channel", None) is None
        else ""
    )
    raise InputError(f"{files[0]}: one {what} is one player; give two or more{more}")


def _player(spec: str, *, kit: str | None) -> Any:
    """A player's performance; a MIDI file without drums, every note (a keyboard part)."""
    from cymbalism.io.midi import read_note_onsets
    from cymbalism.io.performance import MIDI_SUFFIXES, load_performance, split_channel

    path, part = split_channel(spec)
    try:
        return load_performance(spec, kit=kit)
    except InputError:
        if path.suffix.lower() not in MIDI_SUFFIXES or part is not None:
            raise
        return read_note_onsets(path)


def _onsets(performance: Any) -> np.ndarray:
    """A player's onset times: a performance's hits, or a keyboard part's notes."""
    if isinstance(performance, NoteOnsets):
        return performance.onset_sec
    return np.asarray(performance.hits.onset_sec, dtype=np.float64)


def load_session_onsets(token: str, *, db: str | None = None) -> LoadedOnsets:
    """The onset table of a stored session (``token``: its number or ``"last"``).

    Each player is aligned to their part as the live engine and the report align them
    (:func:`cymbalism.report.analysis.judge_session`); the table has one row per chart
    position and the notes' times as reference.
    """
    from cymbalism.analysis.coupling import onset_table_from_alignments
    from cymbalism.report.analysis import judge_session
    from cymbalism.store import Store

    with Store(db) as store:
        stored = store.load(store.resolve(token))
    report = judge_session(stored.session, level_changes=stored.level_changes)
    alignments = {p.name: p.alignment for p in report.players}
    tempo_map = stored.chart.tempo_map.scaled(stored.session.settings.tempo_scale)
    return LoadedOnsets(onset_table_from_alignments(alignments), tempo_map)


def pair_asynchrony(table: OnsetTable, a: str, b: str) -> Asynchrony:
    """onsetsync's asynchrony ``a - b`` over the events where both have an onset."""
    ta, tb = table.column(a), table.column(b)
    both = np.isfinite(ta) & np.isfinite(tb)
    when = table.event_time_sec()[both]
    order = np.argsort(when, kind="stable")
    return Asynchrony(time_sec=when[order], asynchrony_sec=(ta - tb)[both][order])


def _ms(value: float) -> float | None:
    return round(float(value) * 1e3, 3) if np.isfinite(value) else None


def pair_figures(
    table: OnsetTable,
    a: str,
    b: str,
    *,
    coupling: bool = True,
    coupling_table: OnsetTable | None = None,
) -> dict[str, Any]:
    """Pairwise figures of players ``a`` and ``b``.

    The asynchrony is read on ``table``; the coupling on ``coupling_table`` (default:
    ``table``; :meth:`LoadedOnsets.coupling_table` gives the strokes on the beat).

    Returns
    -------
    figures : dict
        ``a``, ``b``, ``n``, ``mean_ms``, ``sd_ms``, ``mean_abs_ms`` (onsetsync's
        pairwise asynchrony ``a - b``); with ``coupling``, also ``alpha_ab`` (``a``'s
        correction toward ``b``), ``alpha_ba``, ``sigma_t_ms``/``sigma_m_ms`` of each,
        ``n_coupling``, ``bgls_leader`` (who leads: adapts less, by bGLS; None when the
        fit cannot be read), ``bgls_problems`` (why not, in words) and ``lead_lag``
        (cross-correlation and Granger tests of the intervals, with its own
        ``xcorr_leader``). Unknown figures are None.
    """
    stats = sync_stats(pair_asynchrony(table, a, b))
    out: dict[str, Any] = {
        "a": a,
        "b": b,
        "n": int(stats.n),
        "mean_ms": _ms(stats.mean_sec),
        "sd_ms": _ms(stats.sd_sec),
        "mean_abs_ms": _ms(stats.mean_abs_sec),
    }
    if not coupling:
        return out
    events = table if coupling_table is None else coupling_table
    fit = fit_phase_correction(events, players=[a, b], sources=[a, b])
    ab, ba = fit.gain(a, b), fit.gain(b, a)
    out.update(
        {
            "alpha_ab": None if not np.isfinite(ab) else round(ab, 4),
            "alpha_ba": None if not np.isfinite(ba) else round(ba, 4),
            "sigma_t_ms": [_ms(v) for v in fit.sigma_t_sec],
            "sigma_m_ms": [_ms(v) for v in fit.sigma_m_sec],
            "n_coupling": [int(v) for v in fit.n_events],
            **_leader(fit, a, b),
        }
    )
    ll = lead_lag(events, a, b)
    out["lead_lag"] = ll.to_dict()
    return out


def all_pairs(table: OnsetTable, players: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Every pair of the given players (default: all), in table order."""
    names = list(players) if players else list(table.names)
    for n in names:
        table.index(n)
    if len(names) < 2:
        raise InputError(f"need at least two players, got {names}")
    return list(combinations(names, 2))


def bar_edges_sec(tempo_map: TempoMap, *, bars: int, end_sec: float) -> np.ndarray:
    """Window edges every ``bars`` bars from the start to past ``end_sec``.

    Returns
    -------
    edges_sec : np.ndarray [shape=(n_windows + 1,), float64, seconds, increasing]
    """
    if bars < 1:
        raise InputError(f"a window of {bars} bars is not usable; give 1 or more")
    end_qn = float(tempo_map.sec_to_qn(end_sec))
    lines_qn = np.asarray(tempo_map.bar_lines_qn(end_qn + 16.0 * bars), dtype=np.float64)
    edges = np.asarray(tempo_map.qn_to_sec(lines_qn[::bars]), dtype=np.float64)
    past = np.flatnonzero(edges > end_sec)
    return edges[: past[0] + 1] if past.size else edges


def cycle_edges_sec(table: OnsetTable, *, cycles: int) -> np.ndarray:
    """Window edges every ``cycles`` metrical cycles of an onsetsync table.

    The cycle of each row is the number before ``:`` or ``|`` in its label (onsetsync's
    ``Label.SD``, such as ``"12:3"``); a window starts at the first row of its cycle.

    Raises
    ------
    InputError
        If the table has no labels, or a label does not start with a cycle number.
    """
    if cycles < 1:
        raise InputError(f"a window of {cycles} cycles is not usable; give 1 or more")
    if table.labels is None:
        raise InputError("the table has no cycle labels (Label.SD) to count bars by")
    try:
        labels = [str(lab).replace("|", ":") for lab in table.labels]
        if not all(":" in lab for lab in labels):
            raise ValueError
        cycle = np.array([int(lab.split(":")[0]) for lab in labels])
    except ValueError:
        raise InputError(
            f"cannot read a cycle number from labels such as {table.labels[0]!r}"
        ) from None
    when = table.event_time_sec()
    first = cycle.min()
    group = (cycle - first) // cycles
    starts = [
        np.nanmin(when[group == g]) for g in np.unique(group) if np.isfinite(when[group == g]).any()
    ]
    last = float(np.nanmax(when)) + 1e-6
    return np.array([*starts, last])


def windowed_figures(
    table: OnsetTable, a: str, b: str, *, edges_sec: np.ndarray
) -> list[dict[str, Any]]:
    """bGLS gains of ``a`` and ``b`` toward each other, and who led, in each window:
    ``start_sec``, ``end_sec``, ``alpha_ab``, ``alpha_ba``, ``n`` (the fewer intervals of
    the two), ``bgls_leader`` and ``bgls_problems`` as :func:`pair_figures` gives them."""
    w = windowed_phase_correction(table, edges_sec=edges_sec, players=[a, b], sources=[a, b])
    out = []
    for k, fit in enumerate(w.fits):
        ab, ba = fit.gain(a, b), fit.gain(b, a)
        out.append(
            {
                "start_sec": round(float(w.start_sec[k]), 3),
                "end_sec": round(float(w.end_sec[k]), 3),
                "alpha_ab": None if not np.isfinite(ab) else round(ab, 4),
                "alpha_ba": None if not np.isfinite(ba) else round(ba, 4),
                "n": int(min(fit.n_events)),
                **_leader(fit, a, b),
            }
        )
    return out


def _leader(fit: CouplingFit, a: str, b: str) -> dict[str, Any]:
    """Who leads by bGLS (None when the fit cannot be read) and why it cannot be."""
    problems = fit.problems(a, b)
    return {"bgls_leader": None if problems else fit.leader(a, b), "bgls_problems": problems}


def plot_windowed(windows: Sequence[dict[str, Any]], a: str, b: str, path: str | Path) -> Path:
    """Draw each window's gains of ``a`` toward ``b`` and back, and who led, to a PNG/SVG/PDF.

    Parameters
    ----------
    windows : sequence of dict
        As returned by :func:`windowed_figures`.
    a, b : str
    path : str or Path
        The image to write (format from the suffix).

    Returns
    -------
    path : Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    mid = np.array([(w["start_sec"] + w["end_sec"]) / 2 for w in windows])
    width = np.array([w["end_sec"] - w["start_sec"] for w in windows])
    ab = np.array([np.nan if w["alpha_ab"] is None else w["alpha_ab"] for w in windows])
    ba = np.array([np.nan if w["alpha_ba"] is None else w["alpha_ba"] for w in windows])
    fig, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    start = np.array([w["start_sec"] for w in windows])
    end = np.array([w["end_sec"] for w in windows])
    # each window's gain across that window only: a window with none shows none
    ax.hlines(ab, start, end, label=f"{a} adapts to {b}", color="tab:blue")
    ax.hlines(ba, start, end, label=f"{b} adapts to {a}", color="tab:orange")
    top = float(np.nanmax(np.concatenate([ab, ba, [0.5]])))
    for m, w, win in zip(mid, width, windows, strict=True):
        if win["bgls_leader"] is not None:
            ax.text(m, top * 1.08, f"{win['bgls_leader']} leads", ha="center", fontsize=7)
            shade = "k" if win["bgls_leader"] == a else "w"
            ax.axvspan(m - w / 2, m + w / 2, alpha=0.06, color=shade)
    ax.set_ylim(min(0.0, float(np.nanmin(np.concatenate([ab, ba, [0.0]])))), top * 1.2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("phase-correction gain (bGLS)")
    ax.set_title(f"Who adapts to whom: {a} and {b}")
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(path)
    plt.close(fig)
    return path
