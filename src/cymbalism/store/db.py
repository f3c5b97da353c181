"""Where the session store lives and how it is opened: URLs, engines, migrations.

The database is chosen, first match wins, by

1. the ``url`` given (the ``--db`` option): a SQLAlchemy URL such as
   ``postgresql://user@host/cymbalism`` or ``sqlite:///path``, or a plain file path;
2. the ``CYMBALISM_DB`` environment variable, in the same forms;
3. ``cymbalism.sqlite3`` in the user's data directory (``platformdirs``).

SQLite runs in WAL mode with ``synchronous=FULL``: a committed batch of hits survives a
crash or a power cut, and readers (a report, the web studio) never block the writer.
Every open runs the Alembic migrations up to :data:`~cymbalism.store.models.SCHEMA_VERSION`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from cymbalism.errors import DeviceError, InputError
from cymbalism.store.models import SCHEMA_VERSION

__all__ = [
    "DB_ENV",
    "current_revision",
    "database_reason",
    "default_url",
    "make_engine",
    "refused_as_device_error",
    "resolve_url",
    "upgrade",
]

#: The environment variable that names the database.
DB_ENV = "CYMBALISM_DB"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: How long SQLite waits for another process's lock before it gives up.
_BUSY_TIMEOUT_MS = 10_000
#: The PostgreSQL advisory lock held while the schema is migrated ("cymb" in ASCII).
_MIGRATION_LOCK_KEY = 0x63796D62


def default_url() -> str:
    """The SQLite file in the user's data directory."""
    import platformdirs

    folder = Path(platformdirs.user_data_dir("cymbalism", appauthor=False))
    return f"sqlite:///{folder / 'cymbalism.sqlite3'}"


def resolve_url(url: str | os.PathLike[str] | None = None) -> str:
    """The database URL to use: ``url``, else ``$CYMBALISM_DB``, else :func:`default_url`.

    A plain path (no ``://``) means a SQLite file; ``postgres://`` is read as
    ``postgresql+psycopg://`` and ``postgresql://`` uses psycopg 3.
    """
    raw = os.fspath(url) if url is not None else os.environ.get(DB_ENV) or default_url()
    raw = raw.strip()
    if not raw:
        raise InputError(f"an empty database URL was given (check --db or ${DB_ENV})")
    if "://" not in raw:
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def database_reason(exc: SQLAlchemyError) -> str:
    """Why the database refused a statement, in its own words (``database is locked``),
    without the statement, its parameters or the database's address."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def refused_as_device_error(doing: str) -> Iterator[None]:
    """Raise what the database refuses inside as one DeviceError: ``"{doing}: {reason}"``
    (see :func:`database_reason`)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise DeviceError(f"{doing}: {database_reason(exc)}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
    # Turning WAL on takes the file's lock and does not wait for it (SQLite calls no busy
    # handler there): a new file opened by two processes at once needs a few tries.
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cur.execute("PRAGMA journal_mode=WAL")  # an in-memory database stays "memory"
            break
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str | os.PathLike[str] | None = None) -> Engine:
    """An engine on the store's database (not yet migrated; see :func:`upgrade`).

    Raises
    ------
    InputError
        If the URL cannot be parsed or names an unknown database kind.
    MissingExtraError
        If PostgreSQL is asked for without the ``postgres`` extra.
    """
    resolved = resolve_url(url)
    try:
        parsed = make_url(resolved)
    except ArgumentError as exc:
        raise InputError(f"cannot read the database URL {resolved!r}: {exc}") from None
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000}
    elif parsed.get_backend_name() == "postgresql":
        from cymbalism.errors import require

        require("psycopg", "postgres")
        kwargs["pool_pre_ping"] = True
    else:
        raise InputError(
            f"the database {parsed.get_backend_name()!r} is not supported; "
            "use a SQLite file or a postgresql:// URL"
        )
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError as exc:
        raise InputError(f"cannot use the database URL {resolved!r}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config(connection: Connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database, or None if it has no cymbalism tables."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _lock_for_migration(conn: Connection) -> None:
    """Make ``conn``'s transaction the only one that may migrate the database.

    Two processes opening a new database at once would otherwise both see no schema and
    both create it. SQLite takes the database's write lock (``BEGIN EXCLUSIVE``, waiting
    up to the busy timeout); PostgreSQL a transaction-level advisory lock.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN EXCLUSIVE")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema up to ``revision`` (the newest by default).

    Safe when several processes open a new database at once: the migration runs in one
    transaction that holds the database's lock, and the revision is read again inside it
    (see :func:`_lock_for_migration`), so exactly one process creates the schema.

    Raises
    ------
    DeviceError
        If the database cannot be reached (server down, file not writable).
    InputError
        If the database holds a newer schema than this version of cymbalism knows.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    try:
        have = current_revision(engine)
        if revision == "head" and have == SCHEMA_VERSION:
            return
        with engine.begin() as conn:
            _lock_for_migration(conn)
            have = MigrationContext.configure(conn).get_current_revision()
            if revision == "head" and have == SCHEMA_VERSION:
                return  # another process migrated it while this one waited
            _check_migratable(engine, conn, have, revision)
            command.upgrade(_alembic_config(conn), revision)
    except OperationalError as exc:
        raise DeviceError(
            f"cannot open the session database {engine.url.render_as_string()}: "
            f"{database_reason(exc)}"
        ) from exc


def _check_migratable(engine: Engine, conn: Connection, have: str | None, revision: str) -> None:
    known = {p.name.split("_", 1)[0] for p in (_MIGRATIONS / "versions").glob("*.py")}
    if have is not None and have not in known:
        raise InputError(
            f"the session database {engine.url.render_as_string()} has schema version "
            f"{have}, newer than this cymbalism knows ({SCHEMA_VERSION}); upgrade cymbalism"
        )
    if have is None and revision == "head":
        tables = set(inspect(conn).get_table_names())
        if "hits" in tables or "sessions" in tables:
            raise InputError(
                f"the database {engine.url.render_as_string()} has tables but no schema "
                "version; it was not made by cymbalism"
            )
