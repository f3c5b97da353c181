"""A database that refuses a session's end loses nothing: the rows wait while the song
plays, are kept in a file at its end, and are stored when the database is opened again."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cymbalism.errors import DeviceError
from cymbalism.io.datadir import data_dir
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player
from cymbalism.store import Store, StoreWarning
from cymbalism.store.batch import Batch
from cymbalism.store.unsaved import keep_unsaved, unsaved_files


@pytest.fixture
def quick_to_give_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives up on a database another program holds after 0.1 s, not 10 s."""
    monkeypatch.setattr("cymbalism.store.db._BUSY_TIMEOUT_MS", 100)


def _hold(path: Path) -> sqlite3.Connection:
    """Another program holding the database, until its ``rollback()``."""
    other = sqlite3.connect(path)
    other.execute("BEGIN EXCLUSIVE")
    return other


def _dead_pid() -> int:
    """The process id of a process that has ended (a writer that died)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def _players() -> list[Player]:
    return [Player("Ana", Level.EXPERT), Player("Bo", Level.BEGINNER)]


def _strokes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    onset = np.sort(rng.uniform(0.0, 8.0, n))
    lane = rng.choice([int(Lane.KICK), int(Lane.SNARE), int(Lane.HIHAT_CLOSED)], n)
    return onset, lane, rng.integers(1, 128, n)


def test_the_end_of_a_session_the_database_refuses_is_stored_when_it_is_free(
    tmp_path: Path, groove_chart: Chart, quick_to_give_up: None
) -> None:
    db = tmp_path / "sessions.sqlite3"
    onset, lane, vel = _strokes(40, 1)
    with Store(db) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0, flush_hits=1000)
        writer.add_hits("Ana", onset[:25], lane[:25], vel[:25])
        writer.level_change("Bo", 4.0, Level.EASY, reason="grew")  # commits the 25
        writer.add_hits("Ana", onset[25:], lane[25:], vel[25:])
        writer.add_judgements("Bo", [0.5, 1.0], Lane.KICK, [0.01, np.nan])
        writer.stopped(7.5)
        other = _hold(db)
        with pytest.raises(DeviceError, match=r"last 15 hits kept in .*session-1-") as err:
            writer.finish()
        assert "database is locked" in str(err.value)
        assert "INSERT" not in str(err.value)
        other.rollback()
        (kept,) = unsaved_files(store)
        assert kept.parent == data_dir("unsaved")
        before = store.load(writer.session_id)
        assert len(before.session.player("Ana").hits) == 25  # only what was committed
        assert before.info.status == "recording"

    with pytest.warns(StoreWarning, match="session 1: its last 15 hits"), Store(db) as store:
        assert store.recover_unsaved() == [1]
        stored = store.load(1)
        assert stored.session.player("Ana").hits == Hits.from_arrays(onset, lane, vel)
        assert stored.info.status == "finished"
        assert stored.session.until_sec == 7.5
        assert [s.to_level for s in stored.level_changes["Bo"]] == [Level.EASY]
        assert store.judgements(1)["Bo"]["verdict"].tolist() == ["hit", "miss"]
        assert unsaved_files(store) == []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert store.recover_unsaved() == []  # once only


def test_a_busy_database_while_playing_holds_up_nothing_and_loses_nothing(
    tmp_path: Path, groove_chart: Chart, quick_to_give_up: None
) -> None:
    db = tmp_path / "sessions.sqlite3"
    onset, lane, vel = _strokes(60, 2)
    with Store(db) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=20, flush_hits=4)
        other = _hold(db)
        t0 = time.monotonic()
        for i in range(0, 40, 2):  # every second call asks for a commit
            writer.add_hits("Ana", onset[i : i + 2], lane[i : i + 2], vel[i : i + 2])
        writer.presence("Bo", 1.0, present=False)
        assert time.monotonic() - t0 < 0.1  # never waits for the database
        deadline = time.monotonic() + 5
        while writer.trouble is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert "database is locked" in writer.trouble
        assert writer.pending == 40
        other.rollback()
        writer.add_hits("Ana", onset[40:], lane[40:], vel[40:])
        while writer.pending:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert writer.trouble is None
        writer.finish()
        stored = store.load(writer.session_id)
        assert stored.session.player("Ana").hits == Hits.from_arrays(onset, lane, vel)


@pytest.mark.parametrize("finished", [True, False])
def test_a_kept_batch_is_stored_once(db_url: str, groove_chart: Chart, finished: bool) -> None:
    onset, lane, vel = _strokes(30, 3)
    with Store(db_url) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.add_hits("Bo", onset[:10], lane[:10], vel[:10])
        writer.flush()
        seat = writer._seat("Bo")
        rows = np.column_stack([np.full(20, seat), onset[10:], lane[10:], vel[10:]])
        batch = Batch(hits=rows.astype(float))
        writer.close()
        assert keep_unsaved(store, writer.session_id, batch, finished=finished) is not None
        other = Store(db_url)  # two openers at once: each file is taken by one
        with pytest.warns(StoreWarning, match="its last 20 hits"):
            assert store.recover_unsaved() + other.recover_unsaved() == [writer.session_id]
        other.close()
        stored = store.load(writer.session_id)
        assert stored.session.player("Bo").hits == Hits.from_arrays(onset, lane, vel)
        assert stored.info.status == ("finished" if finished else "recording")


def test_a_damaged_file_is_set_aside_and_the_rest_are_stored(
    tmp_path: Path, groove_chart: Chart
) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.close()
        seat = writer._seat("Ana")
        good = keep_unsaved(
            store, 1, Batch(hits=np.array([[seat, 1.0, int(Lane.KICK), 90.0]])), finished=True
        )
        bad = keep_unsaved(store, 1, Batch(hits=np.empty((0, 4))), finished=True)
        assert good is not None and bad is not None
        data = json.loads(bad.read_text())
        data["batch"]["hits"] = [[seat + 99, 1.0, 36, 90]]  # a seat of no player here
        bad.write_text(json.dumps(data))
        with pytest.warns(StoreWarning) as said:
            assert store.recover_unsaved() == [1]
        messages = [str(w.message) for w in said]
        assert any("belongs to no player" in m and "set aside" in m for m in messages)
        assert not bad.exists() and bad.with_name(bad.stem + ".unreadable").exists()
        assert len(store.load(1).session.player("Ana").hits) == 1
        assert store.sessions()[0].status == "finished"


def test_a_file_whose_session_was_deleted_is_dropped(tmp_path: Path, groove_chart: Chart) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.close()
        kept = keep_unsaved(store, writer.session_id, Batch(), finished=True)
        assert kept is not None
        store.delete(writer.session_id)
        with pytest.warns(StoreWarning, match="their session was deleted"):
            assert store.recover_unsaved() == []
        assert not kept.exists()


def test_another_database_s_files_are_left_alone(tmp_path: Path, groove_chart: Chart) -> None:
    with Store(tmp_path / "a.sqlite3") as a, Store(tmp_path / "b.sqlite3") as b:
        writer = a.start_session(groove_chart, _players(), flush_ms=0)
        writer.close()
        kept = keep_unsaved(a, writer.session_id, Batch(), finished=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert b.recover_unsaved() == []
        assert kept is not None and kept.exists()


def test_a_database_in_memory_keeps_nothing_in_files(groove_chart: Chart) -> None:
    with Store("sqlite://") as store:
        assert keep_unsaved(store, 1, Batch(), finished=True) is None


_row = st.fixed_dictionaries(
    {
        "session_player_id": st.sampled_from([3, 4]),
        "target_sec": st.none() | st.floats(0, 1e4),
        "lane": st.integers(0, 20),
        "onset_sec": st.none() | st.floats(0, 1e4),
        "error_sec": st.none() | st.floats(-1, 1),
        "verdict": st.sampled_from(["hit", "miss", "extra", "roll"]),
        "level": st.none() | st.integers(0, 3),
    }
)


@settings(max_examples=60, deadline=None)
@given(
    hits=st.lists(
        st.tuples(
            st.sampled_from([3, 4]),
            st.floats(0, 1e4),
            st.sampled_from([int(Lane.KICK), int(Lane.SNARE)]),
            st.integers(1, 127),
        ),
        max_size=8,
    ),
    judgements=st.lists(_row, max_size=4),
    until=st.none() | st.floats(0, 1e4),
    column=st.sampled_from(["target_sec", "lane", "verdict", "session_player_id"]),
    junk=st.sampled_from([float("nan"), "x" * 13, 7, None, [1], True]),
)
def test_a_batch_reads_back_exactly_and_a_damaged_row_refuses_the_whole(
    hits: list[tuple[int, float, int, int]],
    judgements: list[dict[str, object]],
    until: float | None,
    column: str,
    junk: object,
) -> None:
    batch = Batch(
        hits=np.array(hits, dtype=float).reshape(-1, 4),
        judgements=judgements,
        until={"until_sec": until},
    )
    back = Batch.from_json(json.loads(json.dumps(batch.to_json())), session_id=1, seats={3, 4})
    np.testing.assert_array_equal(back.hits, batch.hits)
    assert back.judgements == judgements and back.until == {"until_sec": until}
    if judgements:
        data = batch.to_json()
        spoiled = dict(data["judgements"][0])
        spoiled[column] = junk
        if spoiled != data["judgements"][0] and not _fits(column, junk):
            data["judgements"] = [spoiled]
            with pytest.raises(ValueError, match="one of the judgements"):
                Batch.from_json(data, session_id=1, seats={3, 4})


def _fits(column: str, value: object) -> bool:
    """Whether ``value`` is one the column takes (then nothing is damaged)."""
    if column == "target_sec":
        return value is None or (type(value) in (int, float) and value == value)
    if column == "lane":
        return type(value) is int
    if column == "verdict":
        return isinstance(value, str) and len(value) <= 12
    return value in (3, 4) and type(value) is int


def test_a_file_being_stored_still_waits_and_one_a_dead_process_took_is_taken_back(
    tmp_path: Path, groove_chart: Chart
) -> None:
    """While one request stores a session's end, another must not take the session as
    whole (it reported half a session); a file whose taker died is stored by the next."""
    from cymbalism.store.unsaved import waiting_sessions

    with Store(tmp_path / "s.sqlite3") as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.close()
        seat = writer._seat("Ana")
        kept = keep_unsaved(
            store, 1, Batch(hits=np.array([[seat, 1.0, int(Lane.KICK), 90.0]])), finished=True
        )
        assert kept is not None and waiting_sessions(store) == {1}
        dead = _dead_pid()
        taken = kept.with_name(f"{kept.name}.{dead}.taken")
        kept.rename(taken)  # as a process storing it right now leaves it
        assert unsaved_files(store) == [] and waiting_sessions(store) == {1}
        with pytest.warns(StoreWarning, match="session 1: its last hit,"):
            assert store.recover_unsaved() == [1]  # its taker is gone: stored here
        assert waiting_sessions(store) == set() and not taken.exists()
        assert len(store.load(1).session.player("Ana").hits) == 1


def test_an_end_kept_for_a_database_made_anew_goes_to_no_other_session(
    tmp_path: Path, groove_chart: Chart, quick_to_give_up: None
) -> None:
    db = tmp_path / "sessions.sqlite3"
    with Store(db) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.add_hits("Ana", 1.0, Lane.KICK, 90)
        other = _hold(db)
        with pytest.raises(DeviceError, match="kept in"):
            writer.finish()
        other.rollback()
    for f in tmp_path.glob("sessions.sqlite3*"):
        f.unlink()  # the database is made anew; its session 1 is another one
    time.sleep(0.01)
    with Store(db) as store:
        new = store.start_session(groove_chart, _players(), flush_ms=0)
        new.finish()
        with pytest.warns(StoreWarning, match="was the database made anew"):
            assert store.recover_unsaved() == []
        assert len(store.load(1).session.player("Ana").hits) == 0
        (aside,) = data_dir("unsaved").glob("*.unreadable")  # kept, not lost
        assert json.loads(aside.read_text())["batch"]["hits"] == [[1.0, 1.0, int(Lane.KICK), 90.0]]


def test_a_cut_short_session_s_figures_are_kept_until_its_hits_change(
    tmp_path: Path, groove_chart: Chart
) -> None:
    """History computed a cut-short session's figures anew on every asking (a second
    or two each in the studio); they are kept now, and forgotten when it changes."""
    from sqlalchemy import update

    from cymbalism.report.history import session_summaries
    from cymbalism.store.models import SessionRow

    onset, lane, vel = _strokes(20, 4)
    with Store(tmp_path / "s.sqlite3") as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.add_hits("Ana", onset[:10], lane[:10], vel[:10])
        writer.close()
        dead = _dead_pid()
        with store.engine.begin() as conn:  # its writer died (a crash, a kill)
            conn.execute(update(SessionRow).values(writer_pid=dead))
        (info,) = store.sessions()
        assert info.cut_short and not info.has_summary
        (shown,) = session_summaries(store, [info])
        assert shown.players[0].summary.n_hits == 10
        assert store.info(1).has_summary  # kept

        seat = writer._seat("Ana")
        rows = np.column_stack([np.full(10, seat), onset[10:], lane[10:], vel[10:]])
        keep_unsaved(store, 1, Batch(hits=rows.astype(float)), finished=True)
        with pytest.warns(StoreWarning, match="its last 10 hits"):
            store.recover_unsaved()
        assert not store.info(1).has_summary  # the figures of half the session are gone
        (shown,) = session_summaries(store, store.sessions())
        assert shown.players[0].summary.n_hits == 20


def test_a_cut_short_session_whose_writer_commits_again_shows_its_new_figures(
    tmp_path: Path, groove_chart: Chart
) -> None:
    """A session of another computer is taken for cut short after ten quiet minutes, and
    its figures are kept; if its writer then commits again, they were shown stale."""
    from sqlalchemy import update

    from cymbalism.report.history import session_summaries
    from cymbalism.store.batch import commit_batch
    from cymbalism.store.models import SessionRow

    onset, lane, vel = _strokes(20, 4)
    with Store(tmp_path / "s.sqlite3") as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        writer.add_hits("Ana", onset[:10], lane[:10], vel[:10])
        writer.close()
        with store.engine.begin() as conn:  # its writer looks gone
            conn.execute(update(SessionRow).values(writer_pid=_dead_pid()))
        (shown,) = session_summaries(store, store.sessions())
        assert shown.players[0].summary.n_hits == 10 and store.info(1).has_summary
        seat = writer._seat("Ana")
        rows = np.column_stack([np.full(10, seat), onset[10:], lane[10:], vel[10:]])
        with store.engine.begin() as conn:  # ... and commits again, as a writer does
            commit_batch(conn, 1, Batch(hits=rows.astype(float)))
        assert not store.info(1).has_summary
        (shown,) = session_summaries(store, store.sessions())
        assert shown.players[0].summary.n_hits == 20


def test_a_start_time_given_in_another_zone_is_the_same_moment_read_back(
    tmp_path: Path, groove_chart: Chart
) -> None:
    """SQLite keeps no time zone: 20:00 in Seoul was read back as 20:00 UTC, 9 hours
    off, and the session's start then named no session in a kept file."""
    from datetime import UTC, datetime, timedelta, timezone

    seoul = datetime(2026, 1, 13, 20, 0, tzinfo=timezone(timedelta(hours=9)))
    with Store(tmp_path / "s.sqlite3") as store:
        writer = store.start_session(groove_chart, _players(), started_at=seoul, flush_ms=0)
        writer.finish()
        assert store.info(writer.session_id).started_at == seoul
        assert store.info(writer.session_id).started_at.tzinfo == UTC
