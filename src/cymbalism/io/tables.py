"""Onset tables in and out: onsetsync's wide CSV and a long (player, onset_sec) CSV.

Wide format (onsetsync, the IEMP corpus): one row per slot of a metrical grid, one column
per player holding that player's onset in seconds at the slot, blank where the player has
no onset there; other columns describe the grid (``Label.SD``, ``SD``, ``CycleTime``,
``Isochronous.SD.Time``, ``Tempo``, a tala's ``Matra``, densities, peaks, ...). The player
columns are named with ``players=``, or picked by what they hold
(:func:`player_columns` says which were taken and why the others were not): onset
times in seconds, which never go back down from row to row (a beat count within a
cycle does), rarely repeat (a cycle number does), do not count up one by one (a row
number does) and stay within a session's length. A column named like one of onsetsync's
grid columns is never a player.

Long format: one row per onset, with columns ``player`` and ``onset_sec`` and, optionally,
``event`` (the grid slot or chart position the onset belongs to). With ``event`` the rows
pivot into a table directly; without it the players' onsets still have to be paired
(:func:`cymbalism.analysis.coupling.onset_table_from_onsets`).

Tables are UTF-8 (with or without a byte-order mark) or UTF-16 with one; a table in
another encoding gets one clear error naming the line.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.text import decode_text
from cymbalism.model.onsets import OnsetTable
from cymbalism.model.validate import MAX_PLAUSIBLE_SEC

__all__ = [
    "GRID_COLUMNS",
    "REFERENCE_COLUMNS",
    "PlayerColumns",
    "is_long_table",
    "player_columns",
    "read_csv",
    "read_long",
    "read_table",
    "read_wide",
    "write_long",
    "write_wide",
]

#: onsetsync / IEMP columns that describe the grid, never a player (compared lower-case).
GRID_COLUMNS = frozenset(
    c.lower()
    for c in (
        "Piece", "Label.SD", "SD", "SD.pos", "Beat.pos", "Section", "Virtual.SD", "Tactus",
        "Tempo", "Clave_.", "CycleTime", "Cycle", "Isochronous.SD.Time", "Session", "Tala",
        "Half.cycle", "Vibhag", "Half.beat", "Cadence", "Tabla.solo", "Virtual.beat",
        "label", "event", "slot", "reference_sec",
    )
)  # fmt: skip
#: Columns that hold the nominal grid time of each row, in order of preference.
REFERENCE_COLUMNS = ("reference_sec", "Isochronous.SD.Time", "Virtual.SD", "Virtual.beat")
#: Columns that label each row, in order of preference.
LABEL_COLUMNS = ("label", "Label.SD", "Beat.pos")


def read_csv(path: str | Path, *, what: str = "onset table") -> tuple[list[str], list[list[str]]]:
    """The header (names stripped) and the non-blank rows of a CSV file in UTF-8 (or UTF-16
    with a byte-order mark).

    Raises
    ------
    NotFoundError
        If there is no file (``what`` names what was expected).
    InputError
        If it is in another encoding, not CSV, empty, or a row is longer or shorter than
        the header.
    """
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"no {what} at {p}")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from None
    text = decode_text(raw, source=str(p), legacy=False)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        rows = [r for r in reader if any(cell.strip() for cell in r)]
    except csv.Error as exc:
        raise InputError(f"{p}: not a readable CSV table ({exc})") from None
    if not header:
        raise InputError(f"{p}: the table is empty (no header row)")
    header = [h.strip() for h in header]
    width = len(header)
    for k, row in enumerate(rows):
        if len(row) != width:
            raise InputError(f"{p}: row {k + 2} has {len(row)} cells but the header has {width}")
    return header, rows


def _open_columns(path: str | Path) -> tuple[list[str], dict[str, list[str]]]:
    """The header of a CSV table and its cells, column by column."""
    header, rows = read_csv(path)
    return header, {h: [r[k] for r in rows] for k, h in enumerate(header)}


def _numeric(values: Sequence[str]) -> np.ndarray | None:
    """Cells as float64 (blank or NA -> NaN), or None if any cell is not a number."""
    out = np.empty(len(values))
    for k, cell in enumerate(values):
        text = cell.strip()
        if text in ("", "NA", "NaN", "nan", "N"):
            out[k] = math.nan
            continue
        try:
            out[k] = float(text)
        except ValueError:
            return None
    return out


#: Of the steps between a player's successive onsets, at most this share may be zero
#: (two grid slots given the same onset); a count or a label repeats far more often.
_MAX_REPEATS = 0.05


def _why_not_onsets(values: np.ndarray) -> str | None:
    """Why a numeric column does not hold one player's onset times in seconds, or None
    if it does."""
    finite = values[np.isfinite(values)]
    if finite.size < 2 or np.ptp(finite) == 0:
        return "fewer than two different values"
    if finite.min() < 0:
        return f"negative values ({finite.min():g})"
    steps = np.diff(finite)
    down = int((steps < 0).sum())
    if down:
        times = "once" if down == 1 else f"{down} times"
        return f"goes back down {times} (a count or a label, not onsets in order)"
    if finite.max() > MAX_PLAUSIBLE_SEC:
        return (
            f"values up to {finite.max():g}, longer than any session "
            "(milliseconds instead of seconds?)"
        )
    if finite.size >= 4 and (steps == 1).all() and (finite == np.round(finite)).all():
        return "counts up one by one (a row or event number, not times in seconds)"
    if float(np.mean(steps == 0)) > _MAX_REPEATS:
        return f"repeats a value in {np.mean(steps == 0):.0%} of its steps"
    return None


@dataclass(frozen=True)
class PlayerColumns:
    """Which columns of a wide table hold players' onsets.

    Attributes
    ----------
    taken : tuple of str
        The player columns, in the table's order.
    skipped : dict of str to str
        Every other column, with why it is not a player.
    named : bool
        Whether the players were named by the user rather than picked by content.
    """

    taken: tuple[str, ...]
    skipped: dict[str, str] = field(default_factory=dict)
    named: bool = False

    def describe(self) -> str:
        """One line for people: the columns taken, and why the others were not."""
        how = "named" if self.named else "picked by their onset times"
        text = f"players ({how}): {', '.join(self.taken)}"
        if self.skipped and not self.named:
            # columns skipped for one reason are named together: "A, B (grid columns)"
            reasons: dict[str, list[str]] = {}
            for column, why in self.skipped.items():
                reasons.setdefault(why, []).append(column)
            text += "; not players: " + "; ".join(
                f"{', '.join(cols)} ({why if len(cols) == 1 else _PLURAL.get(why, why)})"
                for why, cols in reasons.items()
            )
        return text


#: A reason given for several columns at once.
_PLURAL = {"a grid column": "grid columns", "holds text": "hold text"}


def _pick_players(path: str | Path, header: list[str], cols: dict[str, list[str]]) -> PlayerColumns:
    taken: list[str] = []
    skipped: dict[str, str] = {}
    for h in header:
        if h.lower() in GRID_COLUMNS or h.endswith(("_Dens", "_Peak")):
            skipped[h] = "a grid column"
            continue
        values = _numeric(cols[h])
        why = "holds text" if values is None else _why_not_onsets(values)
        if why is None:
            taken.append(h)
        else:
            skipped[h] = why
    if not taken:
        reasons = "; ".join(f"{c}: {why}" for c, why in skipped.items())
        raise InputError(
            f"{path}: found no column of onset times in seconds ({reasons}); "
            "name the players with players= (--players A,B)"
        )
    return PlayerColumns(tuple(taken), skipped)


def player_columns(path: str | Path, *, players: Sequence[str] | None = None) -> PlayerColumns:
    """The player columns of a wide table: those named, or those holding onset times.

    Raises
    ------
    NotFoundError
        If the file does not exist.
    InputError
        If a named column is missing or holds text, or no column holds onset times.
    """
    header, cols = _open_columns(path)
    return _player_columns(path, header, cols, players)


def _player_columns(
    path: str | Path,
    header: list[str],
    cols: dict[str, list[str]],
    players: Sequence[str] | None,
) -> PlayerColumns:
    if players is None:
        return _pick_players(path, header, cols)
    for name in players:
        if name not in cols:
            raise InputError(f"{path}: no column {name!r}; columns: {', '.join(header)}")
        if _numeric(cols[name]) is None:
            raise InputError(f"{path}: column {name!r} holds text, not onset times in seconds")
    others = {h: "not named" for h in header if h not in players}
    return PlayerColumns(tuple(players), others, named=True)


def is_long_table(path: str | Path) -> bool:
    """Whether the CSV at ``path`` is in long format (has ``player`` and ``onset_sec``)."""
    header, _ = read_csv(path)
    lower = {h.lower() for h in header}
    return {"player", "onset_sec"} <= lower


def read_wide(
    path: str | Path,
    *,
    players: Sequence[str] | None = None,
    reference: str | None = None,
) -> OnsetTable:
    """Read onsetsync's wide table.

    Parameters
    ----------
    path : str or Path
        A CSV with one row per grid slot.
    players : sequence of str, optional
        The player columns. Default: the columns that hold onset times (see
        :func:`player_columns`, which also says why the others were not taken).
    reference : str, optional
        The column of nominal grid times. Default: the first of ``REFERENCE_COLUMNS``
        present, else none.

    Returns
    -------
    table : OnsetTable

    Raises
    ------
    NotFoundError
        If the file does not exist.
    InputError
        If a named column is missing or not numeric, or no player column is found.
    """
    header, cols = _open_columns(path)
    chosen = _player_columns(path, header, cols, players).taken
    data: dict[str, np.ndarray] = {}
    for name in chosen:
        values = _numeric(cols[name])
        assert values is not None  # checked by _player_columns
        data[name] = values
    ref_name = reference or next((c for c in REFERENCE_COLUMNS if c in cols), None)
    ref = None
    if ref_name is not None:
        if ref_name not in cols:
            raise InputError(f"{path}: no reference column {ref_name!r}")
        ref = _numeric(cols[ref_name])
        if ref is None or not np.isfinite(ref).all():
            if reference is not None:
                raise InputError(f"{path}: the reference column {ref_name!r} has gaps or text")
            ref = None
    label_name = next((c for c in LABEL_COLUMNS if c in cols), None)
    labels = None if label_name is None else cols[label_name]
    return OnsetTable.from_columns(data, reference_sec=ref, labels=labels)


def read_long(path: str | Path) -> OnsetTable | dict[str, np.ndarray]:
    """Read a long table of ``player, onset_sec[, event]`` rows.

    Returns
    -------
    table : OnsetTable or dict of str to np.ndarray
        With an ``event`` column, the table (rows in order of first appearance of each
        event, a player's repeated onsets at one event averaged). Without it, each
        player's sorted onsets [shape=(n,), float64, seconds], to be paired.

    Raises
    ------
    NotFoundError, InputError
    """
    header, rows = read_csv(path)
    lower = [h.lower() for h in header]
    if "player" not in lower or "onset_sec" not in lower:
        raise InputError(
            f"{path}: a long table needs the columns player and onset_sec, got {header}"
        )
    ip, io = lower.index("player"), lower.index("onset_sec")
    ie = lower.index("event") if "event" in lower else None
    onset = _numeric([r[io] for r in rows])
    if onset is None or not np.isfinite(onset).all():
        raise InputError(f"{path}: onset_sec must hold a number of seconds in every row")
    who = [r[ip].strip() for r in rows]
    if any(not w for w in who):
        raise InputError(f"{path}: every row needs a player name")
    names = list(dict.fromkeys(who))
    if ie is None:
        return {n: np.sort(onset[[w == n for w in who]]) for n in names}
    events = [r[ie].strip() for r in rows]
    order = list(dict.fromkeys(events))
    row_of = {e: k for k, e in enumerate(order)}
    sums = np.zeros((len(order), len(names)))
    counts = np.zeros((len(order), len(names)))
    for e, w, t in zip(events, who, onset, strict=True):
        sums[row_of[e], names.index(w)] += t
        counts[row_of[e], names.index(w)] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        table = np.where(counts > 0, sums / counts, np.nan)
    return OnsetTable.from_columns({n: table[:, j] for j, n in enumerate(names)}, labels=order)


def read_table(
    path: str | Path, *, players: Sequence[str] | None = None
) -> OnsetTable | dict[str, np.ndarray]:
    """Read a wide or long onset table, whichever ``path`` holds."""
    if is_long_table(path):
        long = read_long(path)
        if players is None:
            return long
        if isinstance(long, OnsetTable):
            return long.select(players)
        missing = [p for p in players if p not in long]
        if missing:
            raise InputError(f"{path}: no player {missing[0]!r}; players: {', '.join(long)}")
        return {p: long[p] for p in players}
    return read_wide(path, players=players)


def _fmt(value: float) -> str:
    return "" if not np.isfinite(value) else repr(float(value))


def write_wide(path: str | Path, table: OnsetTable) -> None:
    """Write ``table`` in wide format (``label``, ``reference_sec`` if known, players)."""
    header: list[str] = []
    if table.labels is not None:
        header.append("label")
    if table.reference_sec is not None:
        header.append("reference_sec")
    header += list(table.names)
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for k in range(table.n_events):
            row: list[str] = []
            if table.labels is not None:
                row.append(table.labels[k])
            if table.reference_sec is not None:
                row.append(_fmt(table.reference_sec[k]))
            row += [_fmt(v) for v in table.onset_sec[k]]
            w.writerow(row)


def write_long(path: str | Path, onsets: OnsetTable | Mapping[str, np.ndarray]) -> None:
    """Write one row per onset: ``player, onset_sec[, event]`` (event for tables)."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        if isinstance(onsets, OnsetTable):
            labels = onsets.labels or tuple(str(k) for k in range(onsets.n_events))
            w.writerow(["player", "onset_sec", "event"])
            for k in range(onsets.n_events):
                for j, name in enumerate(onsets.names):
                    if np.isfinite(onsets.onset_sec[k, j]):
                        w.writerow([name, _fmt(onsets.onset_sec[k, j]), labels[k]])
        else:
            w.writerow(["player", "onset_sec"])
            for name, values in onsets.items():
                for v in np.asarray(values, dtype=np.float64):
                    w.writerow([name, _fmt(v)])
