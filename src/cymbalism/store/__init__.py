"""Sessions, players and hits in SQL: SQLite by default, PostgreSQL by URL.

- :class:`Store` opens the database (migrating it) and reads and lists sessions.
- :class:`SessionWriter` adds a live session's hits in batches as they are played.
- :mod:`cymbalism.store.importer` stores a duet read from files.
- :mod:`cymbalism.store.refs` reads session references (``12``, ``last``).
"""

from cymbalism.store.db import DB_ENV, default_url, resolve_url
from cymbalism.store.models import SCHEMA_VERSION
from cymbalism.store.refs import LATEST_WORDS, is_session_ref, parse_session_ref
from cymbalism.store.store import (
    DuetSummary,
    LevelStep,
    PlayerSummary,
    SeatInfo,
    SessionInfo,
    Store,
    StoredSession,
    StoreWarning,
    skip_unreadable,
)
from cymbalism.store.writer import SessionWriter

__all__ = [
    "DB_ENV",
    "LATEST_WORDS",
    "SCHEMA_VERSION",
    "DuetSummary",
    "LevelStep",
    "PlayerSummary",
    "SeatInfo",
    "SessionInfo",
    "SessionWriter",
    "Store",
    "StoreWarning",
    "StoredSession",
    "default_url",
    "is_session_ref",
    "parse_session_ref",
    "resolve_url",
    "skip_unreadable",
]
