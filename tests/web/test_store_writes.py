"""No message a client may send can hurt the store: the studio on the real engine and a
real SQLite store, driven over its WebSocket protocol.

The attacks that once made a whole store unreadable are replayed exactly, then
hypothesis sends any sequence of schema-valid messages, extreme numbers included, from
two clients; after each, every listing, report and history must still work.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient

from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.report.history import player_history, session_summaries
from cymbalism.store import Store, StoreWarning
from cymbalism.web.app import create_app
from cymbalism.web.rooms import HIT_MARGIN_SEC
from cymbalism.web.server import studio_config

#: Two bars at 240 BPM: two seconds of song after a one-second count-in.
CHART = Chart(
    "Quick Beat",
    TempoMap.constant(240.0),
    {Level.EXPERT: Part.from_arrays(np.arange(8.0), [int(Lane.KICK), int(Lane.SNARE)] * 4, 100)},
)
#: Each "browser" has its own clock: the server's plus an offset the server must learn.
SKEW_SEC = (1000.0, 3.5)


class Studio:
    """The shipped studio on a store in ``folder``, with one client (one address)."""

    def __init__(self, folder: Path) -> None:
        self.db = str(folder / "sessions.sqlite3")
        self.config = studio_config(db=self.db)
        self.config.load_song = lambda name: CHART
        self.config.list_songs = lambda: ["quick-beat"]
        self.config.rooms = {"max_rooms_per_client": 100_000}
        self.config.http_rate_per_sec = self.config.ws_rate_per_sec = 1e6
        self.client = TestClient(create_app(self.config), client=("192.0.2.7", 4000))

    def now_ms(self, i: int) -> float:
        return (self.config.clock() + SKEW_SEC[i]) * 1000.0

    def open_room(self) -> dict[str, Any]:
        r = self.client.post(
            "/api/rooms",
            json={
                "song": "quick-beat",
                "players": ["Ann", "Ben"],
                "levels": ["expert", "expert"],
                "lesson": False,
            },
        )
        assert r.status_code == 200, r.text
        return r.json()

    def seat(self, ws: Any, i: int) -> None:
        """Clock round trips as the page makes them, then claim player ``i``."""
        for _ in range(3):
            ws.send_json({"type": "ping", "client_ms": self.now_ms(i)})
            while (pong := ws.receive_json())["type"] != "pong":
                pass
            ws.send_json(
                {
                    "type": "sync",
                    "send_ms": pong["client_ms"],
                    "server_sec": pong["server_sec"],
                    "recv_ms": self.now_ms(i),
                }
            )
            while ws.receive_json()["type"] != "clock":
                pass
        ws.send_json({"type": "claim", "player": i})

    def play_both(self, ws: Any) -> None:
        """One tab takes both players and starts the song; back once it has started."""
        self.seat(ws, 0)
        ws.send_json({"type": "claim", "player": 1})
        ws.send_json({"type": "start"})
        while ws.receive_json()["type"] != "start":
            pass

    def play(self, messages: list[tuple[int, Any]]) -> dict[str, Any]:
        """Open a room, seat both clients, start, send ``messages``, stop; the result.

        A message may be a callable that makes it as it is sent (a stroke struck now:
        the room, its clock sync and its start take a while before)."""
        room = self.open_room()
        code = room["code"]
        with (
            self.client.websocket_connect(f"/ws/{code}") as a,
            self.client.websocket_connect(f"/ws/{code}") as b,
        ):
            socks = (a, b)
            for i, ws in enumerate(socks):
                self.seat(ws, i)
            registry = self.client.app.state.rooms  # type: ignore[attr-defined]
            deadline = time.monotonic() + 10
            while not all(s.conn_id for s in registry.get(code).slots):
                assert time.monotonic() < deadline
                time.sleep(0.005)
            a.send_json({"type": "start"})
            for ws in socks:  # as the page does: it plays once told the song started
                while ws.receive_json()["type"] != "start":
                    pass
            for who, msg in messages:
                socks[who].send_json(msg() if callable(msg) else msg)
            a.send_json({"type": "stop"})
            while (msg := a.receive_json())["type"] != "finished":
                pass
        return {**msg, "key": room["key"]}

    def check_everything_reads(self, key: str, session_id: int) -> None:
        """Every listing, report and history works, and no hit lies outside its song."""
        with warnings.catch_warnings():
            warnings.simplefilter("error", StoreWarning)
            with Store(self.db) as store:
                infos = session_summaries(store, store.sessions())
                assert session_id in [s.id for s in infos]
                for s in infos:
                    stored = store.load(s.id)
                    span_sec = (-1.0 - HIT_MARGIN_SEC, CHART.end_sec + 0.5 + 2 * HIT_MARGIN_SEC)
                    for p in stored.session.players:
                        assert (
                            (p.hits.onset_sec >= span_sec[0]) & (p.hits.onset_sec <= span_sec[1])
                        ).all()
                for name in ("Ann", "Ben"):
                    assert session_id in [r.session_id for r in player_history(store, name)]
        r = self.client.get(f"/api/sessions/{session_id}/report", params={"key": key})
        assert r.status_code == 200 and "Quick Beat" in r.text
        for name in ("Ann", "Ben"):
            r = self.client.get(f"/api/players/{name}/history", params={"key": key})
            assert r.status_code == 200
            assert session_id in [s["id"] for s in r.json()["sessions"]]


@pytest.fixture
def studio(tmp_path: Path) -> Iterator[Studio]:
    s = Studio(tmp_path)
    with s.client:
        yield s


def test_the_messages_that_broke_the_store_are_refused(studio: Studio) -> None:
    hour_ms = 3_600_000.0
    result = studio.play(
        [
            # a hit one hour in the future
            (0, {"type": "hit", "player": 0, "t_ms": studio.now_ms(0) + hour_ms, "lane": 1}),
            # a forged clock sample 50,000 s ahead, then one at 1e300, then -1e300
            (1, {"type": "sync", "send_ms": 5.0, "server_sec": 50_000.0 + 1e4, "recv_ms": 5.0}),
            (1, {"type": "sync", "send_ms": 5.0, "server_sec": 1e300, "recv_ms": 5.0}),
            (1, {"type": "sync", "send_ms": 5.0, "server_sec": -1e300, "recv_ms": 5.0}),
            # honest hits of both players, struck as they are sent, still count
            (0, lambda: {"type": "hit", "player": 0, "t_ms": studio.now_ms(0), "lane": 0}),
            (1, lambda: {"type": "hit", "player": 1, "t_ms": studio.now_ms(1), "lane": 0}),
        ]
    )
    session_id = result["result"]["session_id"]
    with Store(studio.db) as store:
        stored = store.load(session_id).session
        assert [len(p.hits) for p in stored.players] == [1, 1]
    studio.check_everything_reads(result["key"], session_id)


def _hit(now_ms: float) -> st.SearchStrategy[dict[str, Any]]:
    t_ms = st.one_of(
        st.floats(min_value=now_ms - 4000.0, max_value=now_ms + 4000.0),  # around now
        st.floats(min_value=0.0, max_value=1e10),
        st.sampled_from([0.0, 5e-324, 1e10, now_ms + 3_600_000.0]),
    )
    return st.fixed_dictionaries(
        {
            "type": st.just("hit"),
            "player": st.integers(0, 1),
            "t_ms": t_ms,
            "lane": st.integers(0, max(Lane)),
            "velocity": st.integers(1, 127),
            "seq": st.integers(0, 2**31),
        }
    )


def _messages(now_ms: float, server_sec: float) -> st.SearchStrategy[dict[str, Any]]:
    ms = st.floats(min_value=0.0, max_value=1e10)
    anything = st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(
        _hit(now_ms),
        _hit(now_ms),
        st.fixed_dictionaries({"type": st.just("ping"), "client_ms": ms}),
        st.fixed_dictionaries(
            {
                "type": st.just("sync"),
                "send_ms": ms,
                "server_sec": st.one_of(
                    anything, st.floats(min_value=server_sec - 20, max_value=server_sec + 1)
                ),
                "recv_ms": ms,
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("calibrate"),
                "player": st.integers(0, 1),
                "offset_ms": st.floats(min_value=-250.0, max_value=500.0),
            }
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("claim"),
                "player": st.integers(0, 1),
                "input": st.sampled_from(["keys1", "keys2", "midi", "touch"]),
            }
        ),
        st.just({"type": "start"}),
        st.just({"type": "stop"}),
    )


@pytest.mark.slow
def test_any_messages_from_two_clients_leave_the_store_readable(tmp_path: Path) -> None:
    studio = Studio(tmp_path)
    with studio.client:
        now_ms = studio.now_ms(0)
        server_sec = studio.config.clock()
        steps = st.lists(st.tuples(st.integers(0, 1), _messages(now_ms, server_sec)), max_size=25)

        @settings(max_examples=25, deadline=None)
        @given(steps=steps)
        def run(steps: list[tuple[int, dict[str, Any]]]) -> None:
            # the browsers' clocks move on between examples, and differ: aim "now" at the
            # present on the sender's clock (times near 0 stay as they are)
            def moved(who: int, m: dict[str, Any]) -> dict[str, Any]:
                if m["type"] != "hit" or m["t_ms"] < 1e6:
                    return m
                return {**m, "t_ms": min(1e10, m["t_ms"] + studio.now_ms(who) - now_ms)}

            result = studio.play([(who, moved(who, m)) for who, m in steps])
            studio.check_everything_reads(result["key"], result["result"]["session_id"])

        run()


def test_a_song_still_playing_when_the_studio_stops_is_stored_finished_with_every_hit(
    tmp_path: Path,
) -> None:
    studio = Studio(tmp_path)
    beats = np.arange(256.0)  # a minute at 240 BPM: still playing when the studio stops
    long_part = Part.from_arrays(
        beats, np.where(beats % 2 == 0, int(Lane.KICK), int(Lane.SNARE)), 100
    )
    long_song = Chart("Long Beat", TempoMap.constant(240.0), {Level.EXPERT: long_part})
    studio.config.load_song = lambda name: long_song
    with studio.client:
        room = studio.open_room()
        with studio.client.websocket_connect(f"/ws/{room['code']}") as ws:
            studio.play_both(ws)
            for i in range(10):
                hit = {"type": "hit", "player": i % 2, "t_ms": studio.now_ms(0), "lane": 0}
                ws.send_json(hit)
            ws.send_json({"type": "ping", "client_ms": 1.0})  # answered after the hits
            while ws.receive_json()["type"] != "pong":
                pass
            assert studio.client.get(f"/api/rooms/{room['code']}").json()["state"] == "playing"
        # the studio stops (Ctrl-C, --stop-after) with the song still playing
    with Store(studio.db) as store:
        (info,) = store.sessions()
        assert info.status == "finished" and not info.cut_short
        stored = store.load(info.id).session
        assert [len(p.hits) for p in stored.players] == [5, 5]
        assert stored.until_sec is not None  # stopped there, not played to the end


def _hold(db: str) -> Any:
    """Another program holding the database, until its ``rollback()``."""
    import sqlite3

    other = sqlite3.connect(db)
    other.execute("BEGIN EXCLUSIVE")
    return other


@pytest.fixture
def busy_studio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Studio]:
    """The studio, giving up on a database another program holds after 0.1 s."""
    monkeypatch.setattr("cymbalism.store.db._BUSY_TIMEOUT_MS", 100)
    s = Studio(tmp_path)
    with s.client:
        yield s


def test_a_store_that_cannot_be_written_at_the_start_says_so_in_one_line(
    busy_studio: Studio,
) -> None:
    studio = busy_studio
    room = studio.open_room()
    with studio.client.websocket_connect(f"/ws/{room['code']}") as ws:
        studio.seat(ws, 0)
        ws.send_json({"type": "claim", "player": 1})
        other = _hold(studio.db)
        ws.send_json({"type": "start"})
        while (msg := ws.receive_json())["type"] != "error":
            pass
        assert msg["status"] == 503 and "database is locked" in msg["error"]
        assert "SQL" not in msg["error"] and "INSERT" not in msg["error"]
        assert "sqlite" not in msg["error"]  # nor where the database is
        other.rollback()
        ws.send_json({"type": "start"})  # free again: the song starts
        while ws.receive_json()["type"] != "start":
            pass


def test_a_start_waiting_for_the_database_holds_up_no_other_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cymbalism.store.db._BUSY_TIMEOUT_MS", 2000)
    studio = Studio(tmp_path)
    with studio.client:
        rooms = [studio.open_room() for _ in range(2)]
        with (
            studio.client.websocket_connect(f"/ws/{rooms[0]['code']}") as waiting,
            studio.client.websocket_connect(f"/ws/{rooms[1]['code']}") as other,
        ):
            studio.seat(waiting, 0)
            waiting.send_json({"type": "claim", "player": 1})
            other.receive_json()  # welcome
            lock = _hold(studio.db)
            waiting.send_json({"type": "start"})
            waiting.send_json({"type": "start"})  # pressed twice: one session at most
            time.sleep(0.2)  # the start is waiting for the database now
            sent = time.monotonic()
            other.send_json({"type": "ping", "client_ms": 1.0})
            while other.receive_json()["type"] != "pong":
                pass
            assert time.monotonic() - sent < 1.0  # not the 2 s the start waits
            lock.rollback()
            kinds = []
            while "start" not in kinds:
                kinds.append(waiting.receive_json()["type"])
            waiting.send_json({"type": "stop"})
            while waiting.receive_json()["type"] != "finished":
                pass
    with Store(studio.db) as store:
        assert len(store.sessions()) == 1


def test_a_latency_that_cannot_be_stored_is_said_in_one_line(busy_studio: Studio) -> None:
    studio = busy_studio
    room = studio.open_room()
    with studio.client.websocket_connect(f"/ws/{room['code']}") as ws:
        studio.seat(ws, 0)
        while ws.receive_json()["type"] != "seat":
            pass
        other = _hold(studio.db)
        ws.send_json({"type": "calibrate", "player": 0, "offset_ms": 20.0, "taps": 8})
        while (msg := ws.receive_json())["type"] != "error":
            pass
        other.rollback()
    assert msg["status"] == 503 and "database is locked" in msg["error"]
    assert "SQL" not in msg["error"] and "INSERT" not in msg["error"]


def test_a_stroke_struck_before_stop_that_arrives_after_it_is_kept(studio: Studio) -> None:
    """Ben's stroke, struck just before Ann pressed Stop on her device, reaches the studio
    after the Stop: it was dropped. It counts; a stroke struck after the Stop does not."""
    code = studio.open_room()["code"]
    with (
        studio.client.websocket_connect(f"/ws/{code}") as a,
        studio.client.websocket_connect(f"/ws/{code}") as b,
    ):
        for i, ws in enumerate((a, b)):
            studio.seat(ws, i)
        room = studio.client.app.state.rooms.get(code)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while not all(s.conn_id for s in room.slots):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        a.send_json({"type": "start"})
        for ws in (a, b):
            while ws.receive_json()["type"] != "start":
                pass
        struck_ms = studio.now_ms(1)
        a.send_json({"type": "stop"})
        while room.stopping_sec is None:  # the studio has taken the Stop
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert room.state == "playing"  # waiting for what is on its way
        b.send_json({"type": "hit", "player": 1, "t_ms": struck_ms, "lane": 0, "seq": 1})
        b.send_json({"type": "hit", "player": 1, "t_ms": studio.now_ms(1), "lane": 0, "seq": 2})
        while (msg := a.receive_json())["type"] != "finished":
            pass
    with Store(studio.db) as store:
        ben = store.load(msg["result"]["session_id"]).session.players[1]
    assert len(ben.hits) == 1


def _song_ended_on_a_busy_database(studio: Studio) -> tuple[dict[str, Any], Any, str]:
    """Two players' three strokes each, then Stop while another program holds the
    database; the room's result, the holder (still holding) and the room's key."""
    room = studio.open_room()
    with studio.client.websocket_connect(f"/ws/{room['code']}") as ws:
        studio.play_both(ws)
        for seq in range(6):
            ws.send_json(
                {"type": "hit", "player": seq % 2, "t_ms": studio.now_ms(0), "lane": 0, "seq": seq}
            )
        for _ in range(6):  # each stroke judged: it is in the session's writer
            while ws.receive_json()["type"] != "judgement":
                pass
        other = _hold(studio.db)
        ws.send_json({"type": "stop"})
        while (msg := ws.receive_json())["type"] != "finished":
            pass
    result = msg["result"]
    assert any("kept aside" in line for line in result["summary"])
    assert not any("unsaved" in line or "/" in line for line in result["summary"])  # no path
    assert result["session_id"] is not None
    return result, other, room["key"]


def _whole(studio: Studio, session_id: int) -> None:
    with Store(studio.db) as store:
        stored = store.load(session_id)
    assert [len(p.hits) for p in stored.session.players] == [3, 3]
    assert stored.info.status == "finished"


def test_a_database_busy_at_the_end_of_a_song_loses_no_hit(busy_studio: Studio) -> None:
    """Another program holds the database as the song ends: the end screen says the end
    is kept aside, and the next song's start stores it, every hit."""
    studio = busy_studio
    result, other, _ = _song_ended_on_a_busy_database(studio)
    other.rollback()
    with pytest.warns(StoreWarning, match=f"session {result['session_id']}: its last"):
        with studio.client.websocket_connect(f"/ws/{studio.open_room()['code']}") as ws:
            studio.play_both(ws)
    _whole(studio, result["session_id"])


def test_the_report_of_a_song_whose_end_was_kept_aside_waits_for_it(busy_studio: Studio) -> None:
    """No report (nor render) is made of half a session: while its end waits for the
    database the studio says so, and once the database is free the report stores it."""
    studio = busy_studio
    result, other, key = _song_ended_on_a_busy_database(studio)
    url = f"/api/sessions/{result['session_id']}/report"
    r = studio.client.get(url, params={"key": key})
    assert r.status_code == 503 and "waits for the database" in r.text
    assert 'http-equiv="refresh"' in r.text  # the page's frame asks again by itself
    other.rollback()
    with pytest.warns(StoreWarning, match="its last 6 hits"):
        r = studio.client.get(url, params={"key": key})
    assert r.status_code == 200 and "cut short" not in r.text
    _whole(studio, result["session_id"])


def test_the_tabs_are_told_when_the_database_is_busy_mid_song_and_when_it_is_free(
    busy_studio: Studio,
) -> None:
    """Another program holds the database mid-song: every tab is told the hits wait, then
    that they are saved once it lets go; the song plays on and every hit is stored."""
    studio = busy_studio
    beats = np.arange(40.0)  # ten seconds at 240 BPM, time enough to hold and let go
    long_song = Chart(
        "Quick Beat",
        TempoMap.constant(240.0),
        {Level.EXPERT: Part.from_arrays(beats, [int(Lane.KICK)] * beats.size, 100)},
    )
    studio.config.load_song = lambda name: long_song
    told: list[dict[str, Any]] = []

    def strike_until(ws: Any, seq: int, busy: bool) -> int:
        deadline = time.monotonic() + 5
        while not (told and told[-1]["busy"] is busy):
            assert time.monotonic() < deadline, f"never told the database is busy={busy}"
            ws.send_json(
                {"type": "hit", "player": seq % 2, "t_ms": studio.now_ms(0), "lane": 0, "seq": seq}
            )
            seq += 1
            while (msg := ws.receive_json())["type"] not in ("judgement", "store"):
                pass
            if msg["type"] == "store":
                told.append(msg)
            time.sleep(0.05)
        return seq

    room = studio.open_room()
    with studio.client.websocket_connect(f"/ws/{room['code']}") as ws:
        studio.play_both(ws)
        other = _hold(studio.db)
        seq = strike_until(ws, 0, busy=True)
        other.rollback()
        seq = strike_until(ws, seq, busy=False)
        ws.send_json({"type": "stop"})
        while (msg := ws.receive_json())["type"] != "finished":
            told += [msg] if msg["type"] == "store" else []
    assert [m["busy"] for m in told] == [True, False]
    assert "the hits wait" in told[0]["text"] and "every hit is saved" in told[1]["text"]
    assert not any("kept aside" in line for line in msg["result"]["summary"])
    with Store(studio.db) as store:
        stored = store.load(msg["result"]["session_id"])
    assert sum(len(p.hits) for p in stored.session.players) == seq
    assert stored.info.status == "finished"


def test_no_note_after_stop_is_called_missed_while_the_song_waits(studio: Studio) -> None:
    """In the half second after Stop the tabs were told of misses of notes after it."""
    code = studio.open_room()["code"]
    with studio.client.websocket_connect(f"/ws/{code}") as ws:
        studio.play_both(ws)
        room = studio.client.app.state.rooms.get(code)  # type: ignore[attr-defined]
        zero = room._engine.zero_sec
        while studio.config.clock() < zero + 0.6:  # into the song, nothing played
            time.sleep(0.01)
        ws.send_json({"type": "stop"})
        missed = []
        while (msg := ws.receive_json())["type"] != "finished":
            if msg["type"] == "miss":
                missed.append(msg["target_sec"])
    stop = room.stopping_sec - zero
    assert missed and max(missed) <= stop  # the notes before Stop are missed, none after
