"""The store keeps what it can read: writes are checked as reads are, one bad session never
hides the others, and two processes may create a new database at once."""

from __future__ import annotations

import multiprocessing
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Session
from cymbalism.model.validate import MAX_PLAUSIBLE_SEC
from cymbalism.report.history import player_history, session_summaries
from cymbalism.store import Store, StoreWarning


def _players() -> list[Player]:
    return [Player("Ana", Level.EXPERT), Player("Bo", Level.BEGINNER)]


@pytest.mark.parametrize(
    ("onset", "lane", "velocity", "words"),
    [
        (MAX_PLAUSIBLE_SEC + 3.0, Lane.SNARE, 90, "longer than any session"),
        (50_003.0, Lane.SNARE, 90, "longer than any session"),  # under the old 1-day bound
        (-MAX_PLAUSIBLE_SEC - 1.0, Lane.SNARE, 90, "longer than any session"),
        (float("inf"), Lane.SNARE, 90, "non-finite"),
        (float("nan"), Lane.SNARE, 90, "non-finite"),
        (1.0, len(Lane), 90, "lane"),
        (1.0, Lane.SNARE, 0, "velocity"),
    ],
)
def test_the_writer_refuses_what_loading_would_refuse(
    db_url: str, groove_chart: Chart, onset: float, lane: int, velocity: int, words: str
) -> None:
    with Store(db_url) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.add_hits("Ana", 0.5, Lane.KICK, 100)
        with pytest.raises(InputError, match=words):
            writer.add_hits("Ana", onset, lane, velocity)
        with pytest.raises(InputError, match="longer than any session"):
            writer.level_change("Bo", 50_003.0, Level.EASY)
        session_id = writer.finish()
        stored = store.load(session_id)  # readable, with the one good hit
        assert stored.session.player("Ana").hits.onset_sec.tolist() == [0.5]
        assert len(session_summaries(store, store.sessions())) == 1


def _corrupt(store: Store, session_id: int, onset_sec: float) -> None:
    """What an older version let through: a hit the reader refuses."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE hits SET onset_sec = :t WHERE id = (SELECT min(h.id) FROM hits h "
                "JOIN session_players sp ON sp.id = h.session_player_id "
                "WHERE sp.session_id = :s)"
            ),
            {"t": onset_sec, "s": session_id},
        )


def test_one_unreadable_session_is_left_out_with_one_warning_naming_it(
    db_url: str, groove_chart: Chart
) -> None:
    with Store(db_url) as store:
        ids = []
        for _ in range(3):
            ps = [replace(p, hits=groove_chart.targets(p.level)) for p in _players()]
            ids.append(store.save_session(Session(groove_chart, tuple(ps))))
        _corrupt(store, ids[1], 50_003.0)
        with pytest.raises(InputError, match=f"session {ids[1]} cannot be read"):
            store.load(ids[1])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            listed = session_summaries(store, store.sessions())
            rows = player_history(store, "Bo")
        assert [s.id for s in listed] == [ids[0], ids[2]]
        assert [r.session_id for r in rows] == [ids[0], ids[2]]
        mine = [w for w in caught if issubclass(w.category, StoreWarning)]
        assert len(mine) == 2  # one per listing, each naming the session
        assert all(f"session {ids[1]}" in str(w.message) for w in mine)


@pytest.mark.parametrize("token", ["99999999999999999999", str(2**63)])
def test_session_ids_out_of_range_are_not_found(tmp_path: Path, token: str) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        with pytest.raises(NotFoundError):
            store.info(int(token))
        with pytest.raises(NotFoundError):
            store.load(store.resolve(token))


def test_session_references_that_are_not_numbers_are_input_errors(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        for token in ("²", "١٢", "1e3", "", "12abc", "-1", "1_0", "0"):
            with pytest.raises(InputError, match="is not a session"):
                store.resolve(token)


# ---------------------------------------------------------------- two processes, one new file
def _import_one(url: str, name: str, barrier: object, queue: object) -> None:
    from cymbalism.model.chart import Part
    from cymbalism.model.tempo import TempoMap

    chart = Chart(
        "Race", TempoMap.constant(120.0), {Level.EXPERT: Part.from_arrays([0.0, 1.0], 0, 100)}
    )
    player = Player(name, Level.EXPERT, hits=chart.targets(Level.EXPERT))
    try:
        barrier.wait(timeout=30)  # type: ignore[attr-defined]
        with Store(url) as store:
            queue.put(("ok", store.save_session(Session(chart, (player,)))))  # type: ignore[attr-defined]
    except BaseException as exc:  # reported to the test, which fails with it
        queue.put(("error", f"{type(exc).__name__}: {exc}"))  # type: ignore[attr-defined]


def test_two_processes_create_a_new_database_at_once_20_times(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for trial in range(20):
        url = f"sqlite:///{tmp_path / f'race{trial}.sqlite3'}"
        barrier, queue = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_import_one, args=(url, name, barrier, queue))
            for name in ("Ana", "Bo")
        ]
        for p in procs:
            p.start()
        results = [queue.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert all(kind == "ok" for kind, _ in results), (trial, results)
        with Store(url) as store:
            assert sorted(s.player_names[0] for s in store.sessions()) == ["Ana", "Bo"]
            assert sorted(int(v) for _, v in results) == [1, 2]


#: Rows that another program, an older version or a damaged file may leave in a SQLite
#: store (which keeps any value in any column), each put into one session of three.
_ODD_ROWS = {
    "a level no version has": "UPDATE session_players SET level = 99 WHERE session_id = :s",
    "a level reached that is text": (
        "UPDATE session_players SET level_reached = 'x' WHERE session_id = :s"
    ),
    "a start that is no date": "UPDATE sessions SET started_at = 'garbage' WHERE id = :s",
    "an update that is a number": "UPDATE sessions SET updated_at = 12345 WHERE id = :s",
    "a sync count that is text": "UPDATE sessions SET sync_n = 'abc' WHERE id = :s",
    "a player that is gone": (
        "UPDATE session_players SET player_id = 999 WHERE session_id = :s AND seat = 1"
    ),
    "a song that is gone": "UPDATE sessions SET song_id = 999 WHERE id = :s",
    "a chart nested too deep": (
        "INSERT INTO songs (id, title, artist, digest, bpm, end_sec, chart_json) VALUES "
        f"(99, 'Deep', '', 'deep', 120, 8, '{'[' * 100_000}{']' * 100_000}');"
        "UPDATE sessions SET song_id = 99 WHERE id = :s"
    ),
}


@pytest.mark.parametrize("odd", list(_ODD_ROWS))
def test_one_odd_row_leaves_every_other_session_readable_and_can_be_deleted(
    tmp_path: Path, groove_chart: Chart, odd: str
) -> None:
    import sqlite3

    path = tmp_path / "sessions.sqlite3"
    with Store(path) as store:
        ids = []
        for _ in range(3):
            ps = [replace(p, hits=groove_chart.targets(p.level)) for p in _players()]
            ids.append(store.save_session(Session(groove_chart, tuple(ps))))
    with sqlite3.connect(path) as db:  # as another program would, foreign keys off
        db.execute("UPDATE session_players SET level_reached = NULL")  # nothing cached
        db.executescript(_ODD_ROWS[odd].replace(":s", str(ids[1])))
    with Store(path) as store:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert {ids[0], ids[2]} <= {s.id for s in store.sessions()}
            listed = session_summaries(store, store.sessions())
            rows = player_history(store, "Bo")
        assert [s.id for s in listed] == [ids[0], ids[2]]
        assert [r.session_id for r in rows] == [ids[0], ids[2]]
        mine = [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]
        assert mine and all(f"session {ids[1]}" in m for m in mine)
        with pytest.raises(InputError, match=f"session {ids[1]} cannot be read"):
            store.load(ids[1])
        store.delete(ids[1])
        with warnings.catch_warnings():
            warnings.simplefilter("error", StoreWarning)
            assert [s.id for s in session_summaries(store, store.sessions())] == [ids[0], ids[2]]


@pytest.mark.parametrize("odd", ["'abc'", "1e308", "-5.0"])
def test_a_latency_the_store_would_refuse_is_passed_over_when_recalled(
    tmp_path: Path, odd: str
) -> None:
    import sqlite3

    path = tmp_path / "sessions.sqlite3"
    with Store(path) as store:
        store.add_calibration("browser keys1", 0.012, player="Ana")
    with sqlite3.connect(path) as db:  # a later row, as another program may leave it
        db.execute(
            "INSERT INTO calibrations (player_id, input, offset_sec, n, measured_at) "
            f"VALUES (1, 'browser keys1', {odd}, 3, '2999-01-01 00:00:00')"
        )
    with Store(path) as store:
        assert store.calibration("browser keys1", player="Ana") == 0.012
        assert store.calibration("browser keys1") == 0.012
