"""A session's hits and judgements as a table: CSV, JSON or Parquet, one row per hit.

Columns (seconds throughout; error = played - target, positive = late):

``session_id, player, seat, onset_sec, lane, lane_name, velocity, verdict,
target_sec, error_sec, level``

``verdict`` is ``"hit"`` (the hit matched a note), ``"roll"`` (it matched a note under
a drum roll: hit, but its timing not judged), ``"roll stroke"`` (a stroke of a roll that
matched no note, not an extra hit), ``"extra"`` (it matched none), ``"not judged"`` (a
hit no note of the part can ask for: the hi-hat pedal where the part has no pedal note)
or ``"miss"``: missed notes are added as rows with an empty
``onset_sec`` and ``velocity`` (leave them out with ``misses=False``), so the hit rate
can be counted from the file. ``level`` is the level of the part the player was on at
that moment (``beginner`` .. ``expert``, ``expert_plus`` for the double-kick part).
Rows are sorted by player, then time. CSV and JSON need nothing beyond Python;
Parquet needs ``pyarrow`` (the ``export`` extra). pandas reads all three directly
(``pd.read_csv``, ``pd.read_json``, ``pd.read_parquet``).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import InputError, require
from cymbalism.model.chart import Level
from cymbalism.model.lanes import Lane
from cymbalism.report.analysis import SessionAnalysis, level_at

__all__ = ["COLUMNS", "FORMATS", "export_rows", "hit_table", "write_export"]

COLUMNS = (
    "session_id",
    "player",
    "seat",
    "onset_sec",
    "lane",
    "lane_name",
    "velocity",
    "verdict",
    "target_sec",
    "error_sec",
    "level",
)
FORMATS = ("csv", "json", "parquet")
_LANE_NAMES = np.array([lane.short for lane in Lane], dtype=object)
_LEVEL_NAMES = np.array([lv.name.lower() for lv in Level], dtype=object)


def hit_table(analysis: SessionAnalysis, *, misses: bool = True) -> dict[str, np.ndarray]:
    """The table as columns: ``{name: np.ndarray}``, NaN (or None) where empty."""
    cols: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}
    for seat, p in enumerate(analysis.players):
        al = p.alignment
        matched = al.target_index >= 0
        safe = np.maximum(al.target_index, 0)
        verdict = np.where(matched, np.where(al.roll[safe], "roll", "hit"), "extra")
        verdict[al.roll_index] = "roll stroke"
        blocks = [  # the judged hits, those no note asks for, and the notes missed
            _rows(
                al.hits.onset_sec,
                np.where(matched, al.targets.onset_sec[safe], np.nan),
                np.where(matched, al.error_sec[safe], np.nan),
                al.hits.lane,
                al.hits.velocity,
                verdict,
            ),
            _rows(
                p.unjudged.onset_sec,
                None,
                None,
                p.unjudged.lane,
                p.unjudged.velocity,
                "not judged",
            ),
        ]
        if misses:
            miss = ~al.matched
            blocks.append(
                _rows(None, al.targets.onset_sec[miss], None, al.targets.lane[miss], None, "miss")
            )
        onset, target, error, lane, velocity, verdict = (
            np.concatenate(column) for column in zip(*blocks, strict=True)
        )
        when = np.where(np.isnan(onset), target, onset)
        order = np.argsort(when, kind="stable")
        n = order.size
        levels = level_at(p.start_level, p.level_changes, when[order])
        cols["session_id"].append(np.full(n, analysis.session_id or 0, dtype=np.int64))
        cols["player"].append(np.full(n, p.name, dtype=object))
        cols["seat"].append(np.full(n, seat, dtype=np.int64))
        cols["onset_sec"].append(onset[order])
        cols["lane"].append(lane[order])
        cols["lane_name"].append(_LANE_NAMES[lane[order]])
        cols["velocity"].append(velocity[order])
        cols["verdict"].append(verdict[order])
        cols["target_sec"].append(target[order])
        cols["error_sec"].append(error[order])
        cols["level"].append(_LEVEL_NAMES[levels])
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in cols.items()}


def _rows(
    onset: np.ndarray | None,
    target: np.ndarray | None,
    error: np.ndarray | None,
    lane: np.ndarray,
    velocity: np.ndarray | None,
    verdict: np.ndarray | str,
) -> tuple[np.ndarray, ...]:
    """Rows of the table as columns (onset, target, error, lane, velocity, verdict); a
    column given as None is empty (NaN), a verdict given as a word is every row's."""
    n = len(lane)

    def number(x: np.ndarray | None) -> np.ndarray:
        return np.full(n, np.nan) if x is None else np.asarray(x, dtype=np.float64)

    words = np.full(n, verdict, dtype=object) if isinstance(verdict, str) else verdict
    return (
        number(onset),
        number(target),
        number(error),
        np.asarray(lane, dtype=np.int64),
        number(velocity),
        np.asarray(words, dtype=object),
    )


def _py(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def export_rows(analysis: SessionAnalysis, *, misses: bool = True) -> list[dict[str, Any]]:
    """The table as a list of dicts (None where empty), one per row."""
    table = hit_table(analysis, misses=misses)
    lists = {k: v.tolist() for k, v in table.items()}
    rows = []
    for i in range(len(lists["player"])):
        row = {k: _py(lists[k][i]) for k in COLUMNS}
        if row["velocity"] is not None:
            row["velocity"] = int(row["velocity"])
        rows.append(row)
    return rows


def write_export(
    analysis: SessionAnalysis, path: str | Path, *, fmt: str | None = None, misses: bool = True
) -> Path:
    """Write the table to ``path`` as CSV, JSON or Parquet (by ``fmt`` or the suffix).

    Raises
    ------
    InputError
        If the format is unknown.
    MissingExtraError
        For Parquet without ``pyarrow``.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if path.parent != Path():
        path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pa = require("pyarrow", "export")
        pq = require("pyarrow.parquet", "export")
        table = hit_table(analysis, misses=misses)
        arrays = {
            k: pa.array(v, from_pandas=True)
            if v.dtype != object
            else pa.array(v.tolist(), type=pa.string())
            for k, v in table.items()
        }
        arrays["velocity"] = pa.array(table["velocity"], from_pandas=True).cast(pa.int16())
        pq.write_table(pa.table(arrays), path)
        return path
    rows = export_rows(analysis, misses=misses)
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(["" if row[c] is None else row[c] for c in COLUMNS] for row in rows)
    else:
        with path.open("w", encoding="utf-8") as fh:
            json.dump(rows, fh, separators=(",", ":"))
    return path
