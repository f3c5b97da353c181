"""Session references: one reader for the store, every command and the studio."""

from __future__ import annotations

from pathlib import Path

import pytest

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.session import Player, Session
from cymbalism.store import Store
from cymbalism.store.refs import is_session_ref, parse_session_ref


@pytest.mark.parametrize(
    ("token", "number"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("007", 7),
        (3, 3),
        ("last", None),
        ("LATEST", None),
        (" Last ", None),
    ],
)
def test_a_reference_is_a_session_number_or_a_word_for_the_newest(token, number) -> None:  # type: ignore[no-untyped-def]
    assert parse_session_ref(token) == number
    assert is_session_ref(token)


@pytest.mark.parametrize(
    "token", ["", "0", "-1", "+2", "1.5", "1_000", "yesterday", "take.mid", "١٢", 0, -3, True]
)
def test_anything_else_is_not_a_session(token) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="not a session"):
        parse_session_ref(token)
    assert not is_session_ref(token)


def test_the_store_and_the_studio_resolve_references_alike(
    tmp_path: Path, groove_chart: Chart
) -> None:
    from cymbalism.web.server import session_report_html

    duet = Session(
        groove_chart,
        (
            Player("Ana", hits=groove_chart.targets(Level.EXPERT)),
            Player("Bo", Level.BEGINNER, hits=groove_chart.targets(Level.BEGINNER)),
        ),
    )
    with Store(tmp_path / "refs.sqlite3") as store:
        with pytest.raises(NotFoundError, match="no sessions"):
            store.resolve("latest")
        first = store.save_session(duet)
        second = store.save_session(duet)
        assert store.resolve("last") == store.resolve(" LATEST ") == second
        assert store.resolve(str(first)) == store.resolve(first) == first
        assert f"Session {second} ·" in session_report_html(store, "latest")
        with pytest.raises(InputError, match="not a session"):
            session_report_html(store, "-1")
