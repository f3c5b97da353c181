"""Onset tables in and out: onsetsync's wide CSV and a long (player, onset_sec) CSV.

Wide format (onsetsync, the IEMP corpus): one row per slot of a metrical grid, one column
per player holding that player's onset in seconds at the slot, blank where the player has
no onset there; other columns describe the grid (``Label.SD``, ``SD``, ``CycleTime``,
``Isochronous.SD.Time``, ``Tempo``, densities, peaks, ...). The player columns are named
with ``players=``, or found automatically: the numeric columns whose values rise through
the piece like onset times and that are not one of onsetsync's grid columns.

Long format: one row per onset, with columns ``player`` and ``onset_sec`` and, optionally,
``event`` (the grid slot or chart position the onset belongs to). With ``event`` the rows
pivot into a table directly; without it the players' onsets still have to be paired
(:func:`cymbalism.analysis.coupling.onset_table_from_onsets`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.onsets import OnsetTable

__all__ = [
    "GRID_COLUMNS",
    "REFERENCE_COLUMNS",
    "is_long_table",
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


def _open_rows(path: str | Path) -> tuple[list[str], list[list[str]]]:
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"no onset table at {p}")
    try:
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = [r for r in reader if any(cell.strip() for cell in r)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{p}: not a readable CSV table ({exc})") from exc
    if not header:
        raise InputError(f"{p}: the table is empty (no header row)")
    header = [h.strip() for h in header]
    width = len(header)
    for k, row in enumerate(rows):
        if len(row) != width:
            raise InputError(f"{p}: row {k + 2} has {len(row)} cells but the header has {width}")
    return header, rows


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


def _looks_like_onsets(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    if finite.size < 2 or np.ptp(finite) == 0:
        return False
    steps = np.diff(finite)
    return bool((steps >= 0).mean() >= 0.9 and finite.min() >= 0)


def is_long_table(path: str | Path) -> bool:
    """Whether the CSV at ``path`` is in long format (has ``player`` and ``onset_sec``)."""
    header, _ = _open_rows(path)
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
        The player columns. Default: every column that looks like onset times.
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
    header, rows = _open_rows(path)
    cols = {h: [r[k] for r in rows] for k, h in enumerate(header)}
    if players is None:
        chosen = []
        for h in header:
            if h.lower() in GRID_COLUMNS or h.endswith(("_Dens", "_Peak")):
                continue
            values = _numeric(cols[h])
            if values is not None and _looks_like_onsets(values):
                chosen.append(h)
        if not chosen:
            raise InputError(
                f"{path}: found no column of onset times; name the players with players="
            )
    else:
        chosen = list(players)
    data: dict[str, np.ndarray] = {}
    for name in chosen:
        if name not in cols:
            raise InputError(f"{path}: no column {name!r}; columns: {', '.join(header)}")
        values = _numeric(cols[name])
        if values is None:
            raise InputError(f"{path}: column {name!r} holds text, not onset times in seconds")
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
    header, rows = _open_rows(path)
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
