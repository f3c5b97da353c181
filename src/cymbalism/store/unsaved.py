"""The end of a session the database refused, kept in a file until the database takes it.

A session's last commit can fail: another program holds the SQLite file longer than its
busy timeout, or the PostgreSQL server went away. The writer then keeps what was
waiting (hits, judgements, bars, the finished mark) in
``<data folder>/unsaved/session-<id>-<database>-<time>.json`` (:func:`keep_unsaved`),
and :func:`recover_unsaved` stores it the next time this database is opened for
playing: by any command that opens the store, by the studio as it starts and before
each song. Hits already played are never lost to a busy database.

Each file names its database (the URL, password hidden) and is taken by one process
only (renamed before it is read). A file that cannot be read is set aside as
``.unreadable`` with a warning; the rest are stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from cymbalism.io.datadir import data_dir
from cymbalism.store.batch import Batch, commit_batch
from cymbalism.store.models import SessionPlayerRow, SessionRow

if TYPE_CHECKING:
    from cymbalism.store.store import Store

__all__ = [
    "UNSAVED_FOLDER",
    "keep_unsaved",
    "recover_unsaved",
    "unsaved_files",
    "waiting_sessions",
]

#: The folder, in cymbalism's data folder, that keeps the ends of sessions not stored.
UNSAVED_FOLDER = "unsaved"
_FORMAT = 1


def _database_key(store: Store) -> str:
    return hashlib.sha256(store.url.encode()).hexdigest()[:12]


def _in_memory(store: Store) -> bool:
    url = store.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _files(store: Store, suffix: str) -> list[Path]:
    """The files of ``store``'s database whose names end in ``suffix``."""
    folder = data_dir(UNSAVED_FOLDER)
    if not folder.is_dir():
        return []
    return list(folder.glob(f"session-*-{_database_key(store)}-*{suffix}"))


def unsaved_files(store: Store) -> list[Path]:
    """The files keeping rows for ``store``'s database, oldest first."""
    return sorted(_files(store, ".json"), key=lambda p: int(p.stem.rsplit("-", 1)[-1]))


def _taken(store: Store) -> list[Path]:
    """The files of ``store``'s database that a process is storing now."""
    return _files(store, ".json.*.taken")


def waiting_sessions(store: Store) -> set[int]:
    """The sessions of ``store``'s database whose ends wait in files (or are being
    stored from one right now)."""
    return {int(p.name.split("-")[1]) for p in [*unsaved_files(store), *_taken(store)]}


def _take_back_abandoned(store: Store) -> None:
    """Files taken by a process that died before it stored them wait again."""
    from cymbalism.store.store import _pid_alive

    for claim in _taken(store):
        pid = claim.name.rsplit(".", 2)[-2]
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                os.replace(claim, claim.with_name(claim.name.rsplit(".", 2)[0]))


def keep_unsaved(
    store: Store,
    session_id: int,
    batch: Batch,
    *,
    finished: bool,
    started_at: datetime | None = None,
) -> Path | None:
    """Keep a batch the database refused in a file; its path, or None if it cannot be
    kept (a database in memory dies with the process; a folder that cannot be written).

    ``started_at``, when given, names the session with its id: the batch is stored only
    into the session of that id that started then."""
    if _in_memory(store):
        return None
    folder = data_dir(UNSAVED_FOLDER)
    stamp = time.time_ns()
    path = folder / f"session-{session_id}-{_database_key(store)}-{stamp}.json"
    payload = {
        "format": _FORMAT,
        "database": store.url,
        "session_id": int(session_id),
        "finished": bool(finished),
        "started_at": None if started_at is None else started_at.astimezone(UTC).isoformat(),
        "batch": batch.to_json(),
    }
    part = path.with_name(path.name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(part, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, path)
    except OSError:
        part.unlink(missing_ok=True)
        return None
    return path


def _warn(message: str) -> None:
    from cymbalism.store.store import StoreWarning

    warnings.warn(message, StoreWarning, stacklevel=3)


def _read(store: Store, path: Path) -> tuple[int, Batch, bool] | None:
    """The session, batch and finished mark a file keeps; None if its session is gone.

    Raises ValueError (or OSError) if the file is not one :func:`keep_unsaved` wrote for
    this database.
    """
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise ValueError("not a file of unsaved rows")
    if data.get("database") != store.url:
        raise ValueError("it was kept for another database")
    session_id, finished = data.get("session_id"), data.get("finished")
    if not isinstance(session_id, int) or not isinstance(finished, bool):
        raise ValueError("it names no session")
    with store.engine.connect() as conn:
        began = conn.scalar(select(SessionRow.started_at).where(SessionRow.id == session_id))
        if began is None:
            return None
        if data.get("started_at") is not None and not _same_time(data["started_at"], began):
            raise ValueError(
                f"it was kept for a session {session_id} that started at "
                f"{data['started_at']}, not this one (was the database made anew?)"
            )
        seats = conn.scalars(
            select(SessionPlayerRow.id).where(SessionPlayerRow.session_id == session_id)
        ).all()
    batch = Batch.from_json(data.get("batch"), session_id=session_id, seats=seats)
    return session_id, batch, finished


def _same_time(kept: Any, stored: datetime) -> bool:
    """Whether a kept ISO time and a stored one (naive from SQLite: UTC) are one moment."""
    if not isinstance(kept, str):
        raise ValueError(f"its start is not a time: {kept!r}")
    from cymbalism.store.store import _aware

    moment = datetime.fromisoformat(kept)
    return abs((moment - (_aware(stored) or stored)).total_seconds()) < 1e-3


def recover_unsaved(store: Store) -> list[int]:
    """Store every batch kept for ``store``'s database, and remove its file.

    Each is said in one warning (stored; dropped because its session was deleted; set
    aside because it cannot be read). A database that still refuses keeps the file for
    the next time.

    Returns
    -------
    session_ids : list of int
        The sessions whose rows were stored now.
    """
    stored: list[int] = []
    _take_back_abandoned(store)
    for path in unsaved_files(store):
        claim = path.with_name(f"{path.name}.{os.getpid()}.taken")
        try:
            os.replace(path, claim)  # one process takes each file
        except OSError:
            continue
        try:
            found = _read(store, claim)
        except SQLAlchemyError:
            os.replace(claim, path)  # the database is still busy: next time
            continue
        except (OSError, ValueError, TypeError) as exc:
            bad = path.with_name(path.name.removesuffix(".json") + ".unreadable")
            os.replace(claim, bad)
            _warn(f"{path} cannot be read ({exc}); it is set aside as {bad.name}")
            continue
        if found is None:
            claim.unlink()
            _warn(f"the rows kept in {path.name} are dropped: their session was deleted")
            continue
        session_id, batch, finished = found
        try:
            with store.engine.begin() as conn:
                commit_batch(conn, session_id, batch, finished=finished)  # forgets figures
        except SQLAlchemyError:
            os.replace(claim, path)
            continue
        claim.unlink()
        stored.append(session_id)
        _warn(
            f"session {session_id}: {batch.what()}, kept in {path.name} when the database "
            "refused it, stored now"
        )
    return stored
