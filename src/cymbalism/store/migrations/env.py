"""Alembic environment of the cymbalism session store.

Migrations run through :func:`cymbalism.store.db.upgrade`, which hands over an open
connection in ``config.attributes["connection"]``; the ``alembic`` command line can use
them too with ``-x url=sqlite:///path``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from cymbalism.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
