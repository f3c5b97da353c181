"""A session in plain words and tables: for the top of the report, the terminal and the
studio's end-of-song summary.

Light to import (numpy only): the studio uses :func:`gap_sentence` without loading the
plots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from cymbalism.analysis.sync import TOGETHER_GAP_SEC, TOGETHER_SD_SEC, together_from_start
from cymbalism.model.lanes import Lane
from cymbalism.report.format import clock, counted, listed, ms, sentence

if TYPE_CHECKING:
    from cymbalism.analysis.sync import SyncStats
    from cymbalism.report.analysis import PlayerAnalysis, SessionAnalysis

__all__ = [
    "EVEN_SEC",
    "TOGETHER_MS",
    "behind_phrase",
    "gap_sentence",
    "heard_as_sentence",
    "leader_phrase",
    "ms",
    "player_table_rows",
    "presence_phrase",
    "print_summary",
    "summary_sentences",
    "together_phrase",
]

#: The asynchrony spread under which a duet counts as together, in ms (the analysis').
TOGETHER_MS = TOGETHER_SD_SEC * 1000.0
#: A mean offset smaller than this is told as none: a player "right on the beat", or
#: neither player "usually behind" the other.
EVEN_SEC = 0.002


def _when(sec: float) -> str:
    if abs(sec) < EVEN_SEC:
        return "right on the beat on average"
    value = sec * 1000
    return f"on average {abs(value):.0f} ms {'late' if value > 0 else 'early'}"


def _levels(p: PlayerAnalysis) -> str:
    text = f"{p.start_level.label.lower()} part"
    if p.level_changes:
        moves = ", ".join(
            f"{'up' if s.to_level > s.from_level else 'down'} to {s.to_level.label.lower()} "
            f"at {clock(s.at_sec)}"
            for s in p.level_changes
        )
        text += f", moved {moves}"
    return text


def presence_phrase(p: PlayerAnalysis) -> str:
    """``" Cleo left at 0:09."`` (and came back), or ``""`` for a player there throughout."""
    moves = []
    for i, (a, b) in enumerate(p.present):
        if i > 0 and np.isfinite(a):
            moves.append(f"came back at {clock(a)}")
        if np.isfinite(b):
            moves.append(f"left at {clock(b)}")
    if not p.present:
        moves.append("was not there")
    if not moves:
        return ""
    return f" {p.name} {', '.join(moves)}, and is judged only while there."


def heard_as_sentence(name: str, kit: str, counts: dict[tuple[Lane, Lane], int]) -> str | None:
    """Say which of a player's strokes were taken for a drum their kit's templates cannot
    name: ``counts`` from :func:`~cymbalism.analysis.align.named_counts`; None if none."""
    if not counts:
        return None
    said = [
        f"{counted(n, 'stroke')} heard as the {h.label} fell on {d.label} notes"
        for (h, d), n in counts.items()
    ]
    missing = sorted({d for _, d in counts}, key=int)
    return (
        f"{name}'s recording was read with the {kit} kit, which has no "
        f"{' or '.join(x.label for x in missing)} of its own: {' and '.join(said)} of "
        f"the part, and count for {'it' if len(missing) == 1 else 'them'}, as the kit "
        "cannot tell them apart."
    )


def unjudged_sentence(name: str, n: int) -> str:
    """Say that ``n`` of a player's hi-hat pedal strokes were not judged, because the
    part has no pedal note (:meth:`~cymbalism.model.chart.Chart.hit_lanes`)."""
    verb = "is" if n == 1 else "are"
    strokes = counted(n, "hi-hat pedal stroke")
    return f"{name}'s {strokes} {verb} not judged: the part has no pedal."


def _player_sentence(p: PlayerAnalysis, *, on_grid: bool = False) -> str:
    s = p.stats
    part = "against the click grid" if on_grid else _levels(p)
    away = presence_phrase(p)
    if s.n_notes == 0:
        return f"{p.name} ({part}) had no notes to play.{away}"
    if s.n_hit == 0:
        return f"{p.name} ({part}) hit none of the {s.n_notes} notes.{away}"
    extra = f" and played {counted(s.n_extra, 'extra hit')}" if s.n_extra else ""
    spread = f" with a spread of {ms(s.sd_error_sec)}" if np.isfinite(s.sd_error_sec) else ""
    pedal = f" {unjudged_sentence(p.name, len(p.unjudged))}" if len(p.unjudged) else ""
    timing = (  # every note hit lies under a drum roll: none is timed
        _when(s.mean_error_sec)
        if np.isfinite(s.mean_error_sec)
        else "none of them outside a drum roll, so none was timed"
    )
    return (
        f"{p.name} ({part}) hit {s.hit_rate:.0%} of {s.n_notes} notes{extra}, "
        f"{timing}{spread}.{_roll_phrase(p)}{pedal}{away}"
    )


def _roll_phrase(p: PlayerAnalysis) -> str:
    """How the notes under drum rolls went, which are hit or missed but never timed."""
    al = p.alignment
    n = int(al.roll.sum())
    if not n:
        return ""
    hit = int(np.count_nonzero(al.matched & al.roll))
    return f" In the drum rolls: {hit} of {n} notes (rolled at {p.name}'s own rate, not timed)."


def together_phrase(analysis: SessionAnalysis) -> str:
    """When the duet came together, in words."""
    t = analysis.came_together_sec
    asy = analysis.asynchrony
    if analysis.sync is None or analysis.sync.n == 0 or asy is None:
        return "The players shared no notes, so their sync could not be measured."
    gone = [p for p in analysis.players[:2] if p.left_sec is not None]
    end = f"until {gone[0].name} left" if gone else "to the end"
    if t is None:
        from cymbalism.analysis.summary import pair_together

        a, b = analysis.players[0], analysis.players[1]
        _, why = pair_together(asy, a.stats, b.stats, names=(a.name, b.name))
        return sentence(why or "")
    steady = (
        f"their gap stayed within {TOGETHER_GAP_SEC * 1000:.0f} ms, its spread under "
        f"{TOGETHER_MS:.0f} ms,"
    )
    if together_from_start(asy, t):
        return f"They were together from the start: {steady} {end}."
    return f"They came together at {clock(t)}: from then on {steady} {end}."


def summary_sentences(analysis: SessionAnalysis) -> list[str]:
    """The session in a few plain sentences, figures from the analysis."""
    names = [p.name for p in analysis.players]
    who = listed(names)
    date = analysis.started_at.strftime("%-d %b %Y")
    out = [f"{who} played “{analysis.title}” ({clock(analysis.duration_sec)}) on {date}."]
    on_grid = analysis.judged_against == "grid"
    out += [_player_sentence(p, on_grid=on_grid) for p in analysis.players]
    if analysis.sync is not None and analysis.sync.n:
        out.append(gap_sentence(analysis.sync, names[0], names[1]))
        out.append(together_phrase(analysis))
        lead = leader_phrase(analysis)
        if lead:
            out.append(lead)
    return out


def behind_phrase(a: str, b: str, mean_sec: float) -> str:
    """``", A usually behind"`` for a mean asynchrony A - B (seconds) of at least
    :data:`EVEN_SEC` either way; ``""`` when it is smaller."""
    if not abs(mean_sec) >= EVEN_SEC:
        return ""
    return f", {a if mean_sec > 0 else b} usually behind"


def gap_sentence(sync: SyncStats, a: str, b: str, *, opening: str = "Between them") -> str:
    """The gap between two players in one sentence: its mean, who is usually behind, its
    spread (``sync`` is the asynchrony A - B)."""
    return (
        f"{opening} the gap averaged {ms(abs(sync.mean_sec))}"
        f"{behind_phrase(a, b, sync.mean_sec)}, with a spread of {ms(sync.sd_sec)} over "
        f"{sync.n} shared notes."
    )


def leader_phrase(analysis: SessionAnalysis) -> str:
    """Who led and who followed, in words (from the phase-correction gains), or that
    neither clearly led; "" without a fit."""
    leader = analysis.leader
    problems = analysis.coupling_problems
    if problems:
        return f"Who led cannot be told from this session: {'; '.join(problems)}."
    if analysis.coupling is None:
        return ""
    a, b = analysis.players[0].name, analysis.players[1].name
    fit = analysis.coupling

    def gain(p: str, q: str) -> str:
        half = 1.96 * fit.gain_se(p, q)
        sure = f" (±{half:.0%})" if np.isfinite(half) else ""
        return f"{max(fit.gain(p, q), 0.0):.0%}{sure}"

    if leader is None:
        return (
            f"Neither clearly led: {a} corrected {gain(a, b)} of each gap toward {b}, "
            f"{b} {gain(b, a)} toward {a}, too close to tell apart."
        )
    follower = b if leader == a else a
    return (
        f"{leader} led and {follower} followed: {follower} corrected {gain(follower, leader)} "
        f"of each gap toward {leader}, {leader} {gain(leader, follower)} toward {follower}."
    )


def player_table_rows(analysis: SessionAnalysis) -> list[dict[str, Any]]:
    """One row per player for tables: names, parts and figures formatted for people."""
    rows = []
    for p in analysis.players:
        s = p.stats
        rows.append(
            {
                "Player": p.name,
                "Part": p.start_level.label
                + (f" → {p.level_reached.label}" if p.level_reached != p.start_level else ""),
                "Notes": str(s.n_notes),
                "Hit": f"{s.hit_rate:.0%}" if np.isfinite(s.hit_rate) else "–",
                "Missed": str(s.n_miss),
                "Extra": str(s.n_extra),
                "Accuracy (mean)": ms(s.mean_error_sec, signed=True),
                "Precision (SD)": ms(s.sd_error_sec),
                "Mean |error|": ms(s.mean_abs_error_sec),
            }
        )
    return rows


#: The player table's headers in a terminal, short enough for 80 columns.
_SHORT_HEADERS = {
    "Missed": "Miss",
    "Accuracy (mean)": "Mean",
    "Precision (SD)": "SD",
    "Mean |error|": "|Error|",
}


def print_summary(analysis: SessionAnalysis, console: Any) -> None:
    """Print the session to a rich console: the words, a table of players, the duet."""
    from rich.panel import Panel
    from rich.table import Table

    from cymbalism.report.plots import player_colour

    title = f"[bold]{analysis.title}[/]"
    if analysis.session_id is not None:
        title = f"Session {analysis.session_id}: " + title
    console.print(Panel("\n".join(summary_sentences(analysis)), title=title, expand=False))
    rows = player_table_rows(analysis)
    table = Table(
        title="Players (timing error = played - target; + is late)",
        caption="Mean: accuracy; SD: precision",
    )
    longest = max((len(p.name) for p in analysis.players), default=6)
    for key in rows[0] if rows else []:
        table.add_column(
            _SHORT_HEADERS.get(key, key),
            justify="left" if key in {"Player", "Part"} else "right",
            overflow="fold",
            min_width=min(longest, 16) if key == "Player" else None,
        )
    for i, row in enumerate(rows):
        values = list(row.values())
        values[0] = f"[bold {player_colour(i)}]{values[0]}[/]"
        table.add_row(*values)
    console.print(table)
    if analysis.sync is not None and analysis.sync.n:
        s = analysis.sync
        a, b = analysis.players[0].name, analysis.players[1].name
        t = analysis.came_together_sec
        console.print(
            f"Gap {a} − {b}: mean {ms(s.mean_sec, signed=True)}, SD {ms(s.sd_sec)}, "
            f"mean |gap| {ms(s.mean_abs_sec)} over {s.n} shared notes; came together: "
            + (f"[bold green]{clock(t)}[/]" if t is not None else "[yellow]not yet[/]")
        )
