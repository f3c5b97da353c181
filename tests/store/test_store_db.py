"""The session store on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import Chart, Level
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Session, Settings
from cymbalism.store import SCHEMA_VERSION, LevelStep, Store
from cymbalism.store.db import current_revision, make_engine, resolve_url, upgrade


def _players() -> list[Player]:
    return [
        Player("Ana", Level.EXPERT, input="TD-11", offset_sec=0.004),
        Player("Bo", Level.BEGINNER, input="keyboard", offset_sec=0.021),
    ]


def test_a_session_round_trips_exactly(db_url: str, groove_chart: Chart) -> None:
    rng = np.random.default_rng(1)
    targets = groove_chart.targets(Level.EXPERT)
    onset_a = targets.onset_sec + rng.normal(0, 0.01, len(targets))
    lanes_a = targets.lane
    vel_a = rng.integers(1, 128, len(targets))
    with Store(db_url) as store:
        writer = store.start_session(
            groove_chart,
            _players(),
            settings=Settings(window_sec=0.06, tempo_scale=0.8, follow=True),
            flush_hits=7,
            flush_ms=0,
        )
        for i in range(0, len(targets), 5):  # in arrival order, a few at a time
            writer.add_hits("Ana", onset_a[i : i + 5], lanes_a[i : i + 5], vel_a[i : i + 5])
        writer.add_hits(1, 0.5, Lane.KICK, 64)
        writer.level_change("Bo", 4.0, Level.EASY, reason="8 bars at 90%")
        writer.add_judgements("Bo", [0.5, 1.0], Lane.KICK, [0.0, np.nan])
        session_id = writer.finish()

        stored = store.load(session_id)
        ana, bo = stored.session.players
        expect = Hits.from_arrays(onset_a, lanes_a, vel_a)
        assert ana.hits == expect  # float64 exact, velocity and lane exact
        assert (ana.name, ana.level, ana.input, ana.offset_sec) == (
            "Ana",
            Level.EXPERT,
            "TD-11",
            0.004,
        )
        assert bo.hits == Hits.from_arrays([0.5], [Lane.KICK], [64])
        assert stored.session.settings == Settings(window_sec=0.06, tempo_scale=0.8, follow=True)
        assert stored.chart.title == groove_chart.title
        assert stored.chart.tempo_map == groove_chart.tempo_map
        assert stored.chart.sections == groove_chart.sections
        for level in groove_chart.levels:
            assert stored.chart.part(level) == groove_chart.part(level)
        assert stored.level_changes["Bo"] == (
            LevelStep(4.0, Level.BEGINNER, Level.EASY, "8 bars at 90%"),
        )
        assert stored.level_changes["Ana"] == ()
        assert stored.info.status == "finished" and not stored.info.cut_short
        assert [p.n_hits for p in stored.info.players] == [len(targets), 1]
        judged = store.judgements(session_id)["Bo"]
        np.testing.assert_array_equal(judged["verdict"], ["hit", "miss"])
        np.testing.assert_array_equal(judged["error_sec"], [0.0, np.nan])
        assert judged["level"].tolist() == [int(Level.EASY)] * 2
        # the same chart played again is stored once
        again = store.start_session(groove_chart, _players(), flush_ms=0).finish()
        assert store.load(again).chart.part(Level.EXPERT) == groove_chart.part(Level.EXPERT)
        assert [s.id for s in store.sessions(player="Bo")] == [session_id, again]
        assert store.players() == ["Ana", "Bo"]


def test_the_writer_commits_every_n_hits_and_every_t_ms(db_url: str, groove_chart: Chart) -> None:
    with Store(db_url) as store, Store(db_url) as reader:
        writer = store.start_session(groove_chart, _players(), flush_hits=10, flush_ms=0)
        for i in range(25):
            writer.add_hits("Ana", 0.1 * i, Lane.SNARE, 100)
        assert writer.pending == 5 and writer.n_committed == 20
        assert len(reader.load(writer.session_id).session.players[0].hits) == 20
        writer.close()
        timed = store.start_session(groove_chart, _players(), flush_hits=1000, flush_ms=40)
        timed.add_hits("Bo", [0.1, 0.2, 0.3], Lane.KICK, 90)
        deadline = time.monotonic() + 5
        while timed.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(reader.load(timed.session_id).session.players[1].hits) == 3
        timed.finish()


def test_a_large_session_is_stored_in_bulk(db_url: str, groove_chart: Chart) -> None:
    rng = np.random.default_rng(3)
    onset = np.sort(rng.uniform(0, 1200, 50_000))
    lanes = rng.integers(0, len(Lane), onset.size)
    session = Session(
        groove_chart,
        (
            Player("Ana", hits=Hits.from_arrays(onset[::2], lanes[::2], 100)),
            Player("Bo", Level.BEGINNER, hits=Hits.from_arrays(onset[1::2], lanes[1::2], 80)),
        ),
    )
    with Store(db_url) as store:
        session_id = store.save_session(session)
        back = store.load(session_id).session
    assert back.players[0].hits == session.players[0].hits
    assert back.players[1].hits == session.players[1].hits


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert current_revision(store.engine) == SCHEMA_VERSION


def test_the_database_is_chosen_by_url_then_environment_then_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CYMBALISM_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_url() == f"sqlite:///{tmp_path / 'xdg' / 'cymbalism' / 'cymbalism.sqlite3'}"
    monkeypatch.setenv("CYMBALISM_DB", str(tmp_path / "env.sqlite3"))
    assert resolve_url() == f"sqlite:///{tmp_path / 'env.sqlite3'}"
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with Store() as store:
        assert Path(store.engine.url.database or "") == tmp_path / "env.sqlite3"


def test_bad_input_gets_one_clear_error(db_url: str, groove_chart: Chart) -> None:
    with Store(db_url) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        with pytest.raises(InputError, match="finite"):
            writer.add_hits("Ana", [0.1, np.nan], Lane.KICK)
        with pytest.raises(InputError, match="milliseconds"):
            writer.add_hits("Ana", [500.0, 125_000.0], Lane.KICK)
        with pytest.raises(InputError, match="lane"):
            writer.add_hits("Ana", 0.1, 42)
        with pytest.raises(InputError, match="velocity"):
            writer.add_hits("Ana", 0.1, Lane.KICK, 0)
        with pytest.raises(InputError, match="no player 'Cy'"):
            writer.add_hits("Cy", 0.1, Lane.KICK)
        with pytest.raises(InputError, match="2 values"):
            writer.add_hits("Ana", [0.1, 0.2, 0.3], [0, 1])
        assert writer.pending == 0  # nothing half-added
        writer.finish()
        with pytest.raises(InputError, match="closed"):
            writer.add_hits("Ana", 0.1, Lane.KICK)
        with pytest.raises(NotFoundError, match="no session 999"):
            store.load(999)
        with pytest.raises(InputError, match="not a session"):
            store.resolve("yesterday")
        assert store.resolve("last") == writer.session_id
        with pytest.raises(InputError, match="milliseconds"):
            store.add_calibration("TD-11", 12.0)


def test_calibrations_are_remembered_per_input(db_url: str) -> None:
    with Store(db_url) as store:
        assert store.calibration("TD-11") is None
        store.add_calibration("TD-11", 0.012, sd_sec=0.002, n=16, player="Ana")
        store.add_calibration("TD-11", 0.010, sd_sec=0.001, n=16)
        store.add_calibration("keyboard", 0.030)
        assert store.calibration("TD-11") == 0.010
        assert store.calibration("keyboard") == 0.030


def test_bad_urls_and_foreign_databases_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not supported"):
        Store("mysql://localhost/x")
    with pytest.raises(InputError):
        Store("")
    foreign = tmp_path / "foreign.sqlite3"
    engine = create_engine(f"sqlite:///{foreign}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE sessions (x INTEGER)"))
    with pytest.raises(InputError, match="not made by cymbalism"):
        Store(foreign)
    newer = tmp_path / "newer.sqlite3"
    Store(newer).close()
    with create_engine(f"sqlite:///{newer}").begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(InputError, match="newer than this cymbalism"):
        Store(newer)


# -- a writer killed in the middle of a session

_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from cymbalism.model.chart import Chart, Level, Part
    from cymbalism.model.session import Player
    from cymbalism.model.tempo import TempoMap
    from cymbalism.store import Store

    part = Part.from_arrays([0.0, 1.0], 0)
    chart = Chart("Kill me", TempoMap.constant(100.0), {Level.EXPERT: part})
    store = Store(sys.argv[1])
    writer = store.start_session(
        chart, [Player("Ana"), Player("Bo", Level.BEGINNER)], flush_hits=50, flush_ms=0
    )
    print(writer.session_id, flush=True)
    i = 0
    while True:
        writer.add_hits("Ana", 0.01 * i, i % 10, 1 + i % 127)
        writer.add_hits("Bo", 0.01 * i + 0.003, 0, 100)
        i += 1
        if writer.pending == 0:
            print(writer.n_committed, flush=True)
        time.sleep(0.0005)
    """
)


def _expected(n: int) -> tuple[Hits, Hits]:
    i = np.arange(n)
    return (
        Hits.from_arrays(0.01 * i, i % 10, 1 + i % 127),
        Hits.from_arrays(0.01 * i + 0.003, 0, 100),
    )


def test_a_killed_writer_keeps_every_committed_hit(db_url: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, db_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        session_id = int(proc.stdout.readline())
        committed = 0
        while committed < 600:
            line = proc.stdout.readline()
            assert line, "the writer died before it was killed"
            committed = int(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    with Store(db_url) as store:
        cut = store.cut_short()
        assert [s.id for s in cut] == [session_id]
        stored = store.load(session_id)
        ana, bo = (p.hits for p in stored.session.players)
        # every commit was a whole batch of 50 (pairs of hits), the last ones at least
        # up to what the writer reported; nothing half-written
        assert len(ana) + len(bo) >= committed and (len(ana) + len(bo)) % 50 == 0
        n_ana, n_bo = len(ana), len(bo)
        exp_ana, exp_bo = _expected(max(n_ana, n_bo))
        assert ana == exp_ana.select(slice(0, n_ana))  # type: ignore[arg-type]
        assert bo == exp_bo.select(slice(0, n_bo))  # type: ignore[arg-type]

        writer = store.reopen(session_id, flush_ms=0)
        assert store.cut_short() == []
        writer.add_hits("Bo", 100.0, Lane.SNARE, 77)
        writer.finish()
        info = store.info(session_id)
        assert info.status == "finished" and not info.cut_short
        assert [p.n_hits for p in info.players] == [n_ana, n_bo + 1]


def test_a_session_being_recorded_is_not_taken_for_cut_short(
    db_url: str, groove_chart: Chart
) -> None:
    with Store(db_url) as store:
        writer = store.start_session(groove_chart, _players(), flush_ms=0)
        assert store.cut_short() == []
        with pytest.raises(InputError, match="still being recorded"):
            store.reopen(writer.session_id)
        with pytest.raises(RuntimeError):
            with writer:
                writer.add_hits("Ana", 0.2, Lane.KICK)
                raise RuntimeError("the engine crashed")
        # the block ended with an error: hits are committed, the session is still open
        info = store.info(writer.session_id)
        assert info.status == "recording" and info.players[0].n_hits == 1
        store.finish(writer.session_id)
        assert store.info(writer.session_id).status == "finished"


# -- migrations


def test_migrations_upgrade_an_old_schema_without_losing_data(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO players (id, name, created_at) VALUES "
                "(1, 'Ana', '2026-01-17 10:00:00'), (2, 'Bo', '2026-01-17 10:00:00')"
            )
        )
        from cymbalism.model.chart import Part
        from cymbalism.model.tempo import TempoMap
        from cymbalism.store.codec import chart_digest, chart_to_json

        chart = Chart(
            "Old song", TempoMap.constant(90.0), {Level.EXPERT: Part.from_arrays([0.0], 1)}
        )
        js = chart_to_json(chart)
        conn.execute(
            text(
                "INSERT INTO songs (id, title, artist, digest, bpm, end_sec, chart_json) "
                "VALUES (1, 'Old song', '', :d, 90.0, 2.67, :j)"
            ),
            {"d": chart_digest(js), "j": js},
        )
        conn.execute(
            text(
                "INSERT INTO sessions (id, song_id, started_at, updated_at, ended_at, status, "
                "source, window_sec, tempo_scale, follow, count_in_bars, note) VALUES "
                "(1, 1, '2026-01-17 10:00:00', '2026-01-17 10:20:00', "
                "'2026-01-17 10:20:00', 'finished', 'live', 0.075, 1.0, 0, 1, 'Nara')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO session_players (id, session_id, player_id, seat, part, level, "
                "input, offset_sec) VALUES (1, 1, 1, 0, 'full', 4, 'TD-11', 0.005), "
                "(2, 1, 2, 1, 'easy', 0, 'keys', 0.02)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO hits (session_player_id, onset_sec, lane, velocity) "
                "VALUES (:sp, :t, :l, :v)"
            ),
            [{"sp": 1 + i % 2, "t": 0.25 * i, "l": i % 3, "v": 60 + i} for i in range(40)],
        )
        conn.execute(
            text(
                "INSERT INTO level_changes (session_player_id, at_sec, from_level, to_level, "
                "reason) VALUES (2, 5.0, 0, 1, 'promoted')"
            )
        )
    engine.dispose()

    with Store(db_url) as store:  # opening migrates
        assert current_revision(store.engine) == SCHEMA_VERSION
        stored = store.load(1)
        assert stored.info.note == "Nara" and stored.info.status == "finished"
        assert not stored.info.has_summary
        ana, bo = stored.session.players
        assert (ana.name, ana.input, ana.offset_sec, bo.level) == (
            "Ana",
            "TD-11",
            0.005,
            Level.BEGINNER,
        )
        assert ana.hits == Hits.from_arrays(
            0.25 * np.arange(0, 40, 2), np.arange(0, 40, 2) % 3, 60 + np.arange(0, 40, 2)
        )
        assert bo.hits == Hits.from_arrays(
            0.25 * np.arange(1, 40, 2), np.arange(1, 40, 2) % 3, 60 + np.arange(1, 40, 2)
        )
        assert stored.level_changes["Bo"] == (
            LevelStep(5.0, Level.BEGINNER, Level.EASY, "promoted"),
        )
        # the new revision's tables work on the old data
        store.add_calibration("TD-11", 0.005, player="Ana")
        assert store.calibration("TD-11") == 0.005
        writer = store.reopen(1, flush_ms=0)
        writer.add_hits("Ana", 11.0, Lane.CRASH, 127)
        writer.finish()
        assert store.info(1).players[0].n_hits == 21
