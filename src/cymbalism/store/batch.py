"""One batch of a live session's rows, committed in one transaction, or kept as JSON.

A :class:`Batch` is what a :class:`~cymbalism.store.writer.SessionWriter` gathers
between two commits: hits, judgements, level changes, bars, presence, and the second a
stopped session stopped at. :func:`commit_batch` writes it; :meth:`Batch.to_json` and
:meth:`Batch.from_json` carry it through a file when the database refuses it (see
:mod:`cymbalism.store.unsaved`). Reading one back checks every row against the
session's seats and the tables' columns, so a damaged file is refused whole, never
half-stored.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import insert, update

from cymbalism.model.hits import Hits
from cymbalism.store.models import (
    Hit,
    Judgement,
    LevelChange,
    Presence,
    SessionBar,
    SessionPlayerRow,
    SessionRow,
    utcnow,
)

__all__ = ["Batch", "commit_batch", "forget_figures"]

# Each kind of row: its columns -> (type, may be None). Hits are kept as an array.
_ROWS: dict[str, dict[str, tuple[type, bool]]] = {
    "judgements": {
        "session_player_id": (int, False),
        "target_sec": (float, True),
        "lane": (int, False),
        "onset_sec": (float, True),
        "error_sec": (float, True),
        "verdict": (str, False),
        "level": (int, True),
    },
    "levels": {
        "session_player_id": (int, False),
        "at_sec": (float, False),
        "from_level": (int, False),
        "to_level": (int, False),
        "reason": (str, False),
    },
    "bars": {
        "session_id": (int, False),
        "idx": (int, False),
        "start_qn": (float, False),
        "end_qn": (float, False),
        "stretch": (float, False),
        "shift_sec": (float, False),
    },
    "presence": {
        "session_player_id": (int, False),
        "at_sec": (float, False),
        "present": (int, False),
    },
}
_LONGEST_TEXT = {"verdict": 12, "reason": 300}


@dataclass
class Batch:
    """Rows of one session waiting for one commit.

    Attributes
    ----------
    hits : np.ndarray [shape=(n, 4), float64]
        Rows ``(session_player_id, onset_sec, lane, velocity)``.
    judgements, levels, bars, presence : list of dict
        Rows of those tables, keyed by column.
    until : dict
        ``{"until_sec": float or None}`` once the session's stop is known, else empty.
    """

    hits: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    judgements: list[dict[str, Any]] = field(default_factory=list)
    levels: list[dict[str, Any]] = field(default_factory=list)
    bars: list[dict[str, Any]] = field(default_factory=list)
    presence: list[dict[str, Any]] = field(default_factory=list)
    until: dict[str, float | None] = field(default_factory=dict)

    @property
    def n_hits(self) -> int:
        """The number of hits in the batch."""
        return int(self.hits.shape[0])

    def what(self) -> str:
        """What the batch holds, for a sentence: "its last 15 hits", or "its end"."""
        if self.n_hits == 1:
            return "its last hit"
        return f"its last {self.n_hits} hits" if self.n_hits else "its end"

    def to_json(self) -> dict[str, Any]:
        """The batch as JSON-ready values."""
        return {
            "hits": self.hits.tolist(),
            "judgements": self.judgements,
            "levels": self.levels,
            "bars": self.bars,
            "presence": self.presence,
            "until": self.until,
        }

    @classmethod
    def from_json(cls, data: Any, *, session_id: int, seats: Collection[int]) -> Batch:
        """A batch read back from :meth:`to_json`, every row checked.

        Parameters
        ----------
        data : object
            The parsed JSON.
        session_id : int
            The session the rows must belong to.
        seats : collection of int
            The session's ``session_players.id`` values.

        Raises
        ------
        ValueError
            If any row is not one the tables take, naming the first such.
        """
        if not isinstance(data, Mapping):
            raise ValueError("not a batch of rows")
        seats = set(seats)
        hits = np.asarray(data.get("hits", []), dtype=np.float64)
        if hits.size == 0:
            hits = np.empty((0, 4))
        if hits.ndim != 2 or hits.shape[1] != 4:
            raise ValueError("hits are not rows of (seat, onset, lane, velocity)")
        if not set(hits[:, 0].tolist()) <= seats:
            raise ValueError("a hit belongs to no player of the session")
        Hits.from_arrays(hits[:, 1], hits[:, 2].astype(np.int64), hits[:, 3].astype(np.int64))
        rows: dict[str, list[dict[str, Any]]] = {}
        for kind, columns in _ROWS.items():
            given = data.get(kind, [])
            if not isinstance(given, list):
                raise ValueError(f"{kind} are not a list")
            rows[kind] = [_checked_row(kind, columns, row) for row in given]
            for row in rows[kind]:
                if "session_player_id" in row and row["session_player_id"] not in seats:
                    raise ValueError(f"one of the {kind} belongs to no player of the session")
                if "session_id" in row and row["session_id"] != session_id:
                    raise ValueError(f"one of the {kind} belongs to another session")
        until = data.get("until", {})
        if not isinstance(until, Mapping) or set(until) - {"until_sec"}:
            raise ValueError("the stop is not {'until_sec': seconds}")
        stop = until.get("until_sec")
        if stop is not None and not (
            isinstance(stop, (int, float)) and not isinstance(stop, bool) and math.isfinite(stop)
        ):
            raise ValueError(f"the stop is not a second of the song: {stop!r}")
        return cls(hits=hits, until=dict(until), **rows)


def _checked_row(kind: str, columns: Mapping[str, tuple[type, bool]], row: Any) -> dict[str, Any]:
    if not isinstance(row, Mapping) or set(row) != set(columns):
        raise ValueError(f"one of the {kind} has other columns than {sorted(columns)}")
    out: dict[str, Any] = {}
    for name, (kind_of, nullable) in columns.items():
        value = row[name]
        if value is None and nullable:
            out[name] = None
        elif kind_of is str and isinstance(value, str) and len(value) <= _LONGEST_TEXT[name]:
            out[name] = value
        elif kind_of is int and isinstance(value, int) and not isinstance(value, bool):
            out[name] = value
        elif (
            kind_of is float
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
        ):
            out[name] = float(value)
        else:
            raise ValueError(f"one of the {kind} has {name} = {value!r}")
    return out


def _insert_hits(conn: Any, block: np.ndarray) -> None:
    """Insert rows ``(session_player_id, onset_sec, lane, velocity)`` in bulk.

    PostgreSQL gets them through ``COPY`` (psycopg), the fastest way in; other databases
    through one executemany of a Core insert.
    """
    rows = [(int(sp), on, int(ln), int(v)) for sp, on, ln, v in block.tolist()]
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        with (
            raw.cursor() as cur,
            cur.copy("COPY hits (session_player_id, onset_sec, lane, velocity) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    conn.execute(
        insert(Hit),
        [
            {"session_player_id": sp, "onset_sec": on, "lane": ln, "velocity": v}
            for sp, on, ln, v in rows
        ],
    )


def forget_figures(conn: Any, session_id: int) -> None:
    """Forget a session's cached figures inside the open transaction ``conn``: its hits
    changed, and they are computed again when next asked for."""
    conn.execute(
        update(SessionPlayerRow)
        .where(SessionPlayerRow.session_id == session_id)
        .values(n_hits=None, hit_rate=None, level_reached=None)
    )
    conn.execute(update(SessionRow).where(SessionRow.id == session_id).values(sync_n=None))


def commit_batch(conn: Any, session_id: int, batch: Batch, *, finished: bool = False) -> None:
    """Write a batch inside the open transaction ``conn``, touch the session's row and
    forget its cached figures (:func:`forget_figures`): a session taken for cut short
    whose writer commits again, or whose kept end is stored, shows its figures anew.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        In a transaction (``engine.begin()``); the caller commits.
    session_id : int
    batch : Batch
    finished : bool
        Also mark the session finished (as :meth:`cymbalism.store.Store.finish` does).
    """
    if batch.n_hits:
        _insert_hits(conn, batch.hits)
    for table, rows in (
        (Judgement, batch.judgements),
        (LevelChange, batch.levels),
        (SessionBar, batch.bars),
        (Presence, batch.presence),
    ):
        if rows:
            conn.execute(insert(table), rows)
    now = utcnow()
    end = {"status": "finished", "ended_at": now, "writer_pid": None} if finished else {}
    forget_figures(conn, session_id)
    conn.execute(
        update(SessionRow)
        .where(SessionRow.id == session_id)
        .values(updated_at=now, **batch.until, **end)
    )
