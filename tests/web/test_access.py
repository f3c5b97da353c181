"""Who may do what in a studio open to the network: one test per rule.

Codes and keys, Origin and Host, JSON bodies, who may stop a song, rooms that expire,
caps and rates per client address, and the wait after wrong codes. Time is a fake clock
wherever a rule depends on it.
"""

from __future__ import annotations

import json
import string
import time
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cymbalism.errors import NotFoundError
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.web.app import StudioConfig, create_app
from cymbalism.web.clocksync import ClockSync
from cymbalism.web.ratelimit import JoinThrottle, client_key
from cymbalism.web.rooms import ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH

SECRET_PLAYERS = ("Ann", "Ben")


def _chart() -> Chart:
    qn = np.arange(0.0, 8.0, 1.0)
    part = Part.from_arrays(qn, np.where(qn % 2 == 0, int(Lane.KICK), int(Lane.SNARE)), 100)
    return Chart("Test Beat", TempoMap.constant(120.0), {Level.EXPERT: part})


class FakeEngine:
    """Stands in for the live engine: the song never ends by itself; stopping it stores
    session 7."""

    def __init__(self, room: Any, start_sec: float) -> None:
        self.zero_sec = start_sec + 1.0
        self.count_in_sec = 1.0
        self.end_sec = float("inf")
        self.hits: list[tuple[int, float]] = []
        self.presences: list[tuple[int, float, bool]] = []

    def push_hit(self, player: int, server_sec: float, lane: int, velocity: int) -> list:
        self.hits.append((player, server_sec))
        return []

    def tick(self, now_sec: float) -> list:
        return []

    def presence(self, player: int, server_sec: float, *, present: bool) -> None:
        self.presences.append((player, server_sec, present))

    def finish(self, *, stopped_at_sec: float | None = None) -> dict[str, Any]:
        return {"session_id": 7, "summary": []}


class LongSongEngine(FakeEngine):
    """A long song well under way: each of the first six ticks judges 500 notes (misses)."""

    def __init__(self, room: Any, start_sec: float) -> None:
        super().__init__(room, start_sec)
        self.n_ticks = 0

    def tick(self, now_sec: float) -> list:
        self.n_ticks += 1
        if self.n_ticks > 6:
            return []
        first = 500 * (self.n_ticks - 1)
        return [{"type": "miss", "player": 0, "note": first + i} for i in range(500)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _app(clock: Clock | None = None, **kw: Any) -> Any:
    clock = clock or Clock()

    def load(name: str) -> Chart:
        if name != "test-beat":
            raise NotFoundError(f"no song {name!r}")
        return _chart()

    return create_app(
        StudioConfig(
            load_song=load,
            list_songs=lambda: ["test-beat"],
            engine_factory=kw.pop("engine_factory", FakeEngine),
            clock=clock,
            report_html=kw.pop("report_html", lambda sid: f"<p>report of session {sid}</p>"),
            history=lambda name: {"player": name, "sessions": [{"id": 7}]},
            joins=kw.pop("joins", JoinThrottle(clock=clock)),
            **kw,
        )
    )


_open_clients: list[TestClient] = []


def _client(app: Any, host: str = "192.0.2.10", port: int = 50000) -> TestClient:
    """A client from ``host``; entered, so its sockets share one event loop with the app."""
    client = TestClient(app, client=(host, port)).__enter__()
    _open_clients.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Any:
    yield
    while _open_clients:
        _open_clients.pop().__exit__(None, None, None)


def _open(client: TestClient) -> dict[str, Any]:
    r = client.post(
        "/api/rooms",
        json={"song": "test-beat", "players": list(SECRET_PLAYERS), "levels": ["expert"] * 2},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _until(ws: Any, kind: str) -> dict[str, Any]:
    """The next message of type ``kind`` (room updates and seats may come first)."""
    while (msg := ws.receive_json())["type"] != kind:
        pass
    return msg


def _closed(ws: Any) -> WebSocketDisconnect:
    with pytest.raises(WebSocketDisconnect) as info:
        while True:
            ws.receive_json()
    return info.value


def _finished_room(client: TestClient) -> dict[str, Any]:
    """A room whose song was played and stopped (session 7), as its opener saw it."""
    room = _open(client)
    with client.websocket_connect(f"/ws/{room['code']}?host={room['host_token']}") as ws:
        assert ws.receive_json()["host"] is True
        for i in range(2):
            ws.send_json({"type": "claim", "player": i})
            _until(ws, "room")
        ws.send_json({"type": "start"})
        _until(ws, "start")
        ws.send_json({"type": "stop"})
        msg = _until(ws, "finished")
    assert msg["room"]["session_id"] == 7
    return room


# ---------------------------------------------------------------- codes
def test_room_codes_are_long_and_typed_in_any_form() -> None:
    client = _client(_app())
    code = _open(client)["code"]
    assert len(code) == ROOM_CODE_LENGTH == 10 and set(code) <= set(ROOM_CODE_ALPHABET)
    typed = f" {code[:5].lower()}-{code[5:]} "
    assert client.get(f"/api/rooms/{typed}").json()["code"] == code
    assert len(ROOM_CODE_ALPHABET) ** ROOM_CODE_LENGTH > 8e14


# ---------------------------------------------------------------- reports and history
def test_a_report_needs_the_rooms_code_or_key_and_a_404_says_nothing() -> None:
    client = _client(_app())
    room = _finished_room(client)
    url = "/api/sessions/7/report"
    for key in (room["key"], room["code"], room["code"].lower()):
        r = client.get(url, params={"key": key})
        assert r.status_code == 200 and "report of session 7" in r.text
    refusals = [
        client.get(url),  # no key
        client.get(url, params={"key": "WRONGWRONG"}),
        client.get("/api/sessions/6/report", params={"key": room["key"]}),  # another session
        client.get("/api/players/Ann/history"),
        client.get("/api/players/Ann/history", params={"key": "x" * 32}),
        client.get("/api/players/Cy/history", params={"key": room["key"]}),  # not in the room
    ]
    bodies = {json.dumps(r.json(), sort_keys=True) for r in refusals}
    assert [r.status_code for r in refusals] == [404] * len(refusals)
    assert len(bodies) == 1  # the same answer, whatever was wrong
    body = bodies.pop()
    assert not any(name in body for name in SECRET_PLAYERS) and "sqlite" not in body
    ok = client.get("/api/players/Ann/history", params={"key": room["code"]})
    assert ok.status_code == 200 and ok.json()["sessions"] == [{"id": 7}]


def test_a_report_asked_for_again_and_again_is_made_once() -> None:
    import threading

    made: list[str] = []

    def slow_report(session_id: str) -> str:
        made.append(session_id)
        time.sleep(0.2)  # a real report takes a second or two of the computer's time
        return f"<p>report of session {session_id}</p>"

    client = _client(_app(report_html=slow_report))
    room = _finished_room(client)
    url = "/api/sessions/7/report"
    answers: list[int] = []
    askers = [
        threading.Thread(
            target=lambda: answers.append(client.get(url, params={"key": room["key"]}).status_code)
        )
        for _ in range(8)
    ]
    for t in askers:  # a page reloaded, or a tab that asks many times at once
        t.start()
    for t in askers:
        t.join()
    assert client.get(url, params={"key": room["key"]}).text == "<p>report of session 7</p>"
    assert answers == [200] * 8 and made == ["7"]


def test_a_players_history_is_found_whatever_their_name_holds() -> None:
    from urllib.parse import quote

    client = _client(_app(), host="127.0.0.1")
    names = ["AC/DC", "?#%&"]
    r = client.post(
        "/api/rooms", json={"song": "test-beat", "players": names, "levels": ["expert"] * 2}
    )
    key = r.json()["key"]
    for name in names:  # as the page asks: the name encoded as one path segment
        h = client.get(f"/api/players/{quote(name, safe='')}/history", params={"key": key})
        assert h.status_code == 200 and h.json()["player"] == name, name


@pytest.mark.parametrize("session_id", ["99999999999999999999", "²", "١٢", "7.0", "-7", "1e3"])
def test_report_ids_that_are_not_session_numbers_are_404(session_id: str) -> None:
    client = _client(_app())
    room = _finished_room(client)
    r = client.get(f"/api/sessions/{session_id}/report", params={"key": room["key"]})
    assert r.status_code == 404 and r.json()["status"] == 404


# ---------------------------------------------------------------- other websites
def test_a_websocket_from_another_website_cannot_join_or_claim() -> None:
    client = _client(_app())
    room = _open(client)
    for origin in ("http://evil.example", "null", "https://testserver", "http://testserver:81"):
        with pytest.raises(WebSocketDisconnect) as info:
            with client.websocket_connect(f"/ws/{room['code']}", headers={"origin": origin}):
                pass
        assert info.value.code == 4403, origin
    assert not any(p["claimed"] for p in client.get(f"/api/rooms/{room['code']}").json()["players"])
    # the studio's own page may
    with client.websocket_connect(
        f"/ws/{room['code']}", headers={"origin": "http://testserver"}
    ) as ws:
        assert ws.receive_json()["type"] == "welcome"


def test_a_request_for_another_host_name_is_refused() -> None:
    """DNS rebinding: evil.example points at this computer; the browser sends its name."""
    client = _client(_app())
    room = _open(client)
    evil = {"host": "evil.example"}
    for path in ("/api/rooms", f"/api/rooms/{room['code']}", "/api/info", "/"):
        r = client.get(path, headers=evil)
        assert r.status_code == 403 and room["code"] not in r.text, path
        assert "evil.example" in r.json()["error"]
    with pytest.raises(WebSocketDisconnect) as info:
        with client.websocket_connect(f"/ws/{room['code']}", headers=evil):
            pass
    assert info.value.code == 4403
    # its own addresses, localhost and a name it was given are fine
    named = _client(_app(names=["studio.lan"]))
    for host in ("127.0.0.1:8737", "localhost", "[::1]:8737", "studio.lan:8737", "testserver"):
        assert named.get("/api/info", headers={"host": host}).status_code == 200, host
    assert named.get("/api/info", headers={"host": "studio.lan.evil.example"}).status_code == 403


def test_changing_anything_needs_json() -> None:
    client = _client(_app())
    body = json.dumps({"song": "test-beat", "players": ["A"], "levels": ["expert"]})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = client.post("/api/rooms", content=body, headers={"content-type": ctype})
        assert r.status_code == 415 and "JSON" in r.json()["error"], ctype
    assert client.get("/api/rooms").json() == []
    r = client.post("/api/rooms", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200


def test_a_body_larger_than_any_request_is_refused_unread() -> None:
    client = _client(_app())
    body = json.dumps({"song": "test-beat", "players": ["A"], "levels": ["expert"]})
    padded = body + " " * 1_000_000  # still valid JSON
    json_type = {"content-type": "application/json"}
    r = client.post("/api/rooms", content=padded, headers=json_type)
    assert r.status_code == 413 and "bytes" in r.json()["error"]
    chunked = client.post("/api/rooms", content=iter([padded.encode()]), headers=json_type)
    assert chunked.status_code == 413  # no Content-Length: counted as it comes
    assert client.post("/api/rooms", content=body, headers=json_type).status_code == 200


# ---------------------------------------------------------------- who may stop
def test_a_spectator_cannot_start_or_stop_but_a_player_and_the_opener_can() -> None:
    client = _client(_app())
    room = _open(client)
    code = room["code"]
    with (
        client.websocket_connect(f"/ws/{code}") as a,
        client.websocket_connect(f"/ws/{code}") as b,
        client.websocket_connect(f"/ws/{code}") as spectator,
    ):
        for ws in (a, b, spectator):
            assert ws.receive_json()["host"] is False
        for i, ws in enumerate((a, b)):
            ws.send_json({"type": "claim", "player": i})
            _until(ws, "room")
        spectator.send_json({"type": "start"})
        err = _until(spectator, "error")
        assert err["status"] == 403 and "only a player" in err["error"]
        a.send_json({"type": "start"})
        _until(spectator, "start")
        spectator.send_json({"type": "stop"})
        assert _until(spectator, "error")["status"] == 403
        assert client.get(f"/api/rooms/{code}").json()["state"] == "playing"
        # the opener, seated nowhere, may stop it
        with client.websocket_connect(f"/ws/{code}?host={room['host_token']}") as opener:
            assert opener.receive_json()["host"] is True
            opener.send_json({"type": "stop"})
            _until(opener, "finished")
    assert client.get(f"/api/rooms/{code}").json()["state"] == "finished"


@pytest.mark.timeout(60)
def test_a_tab_that_joins_late_in_a_long_song_gets_all_of_it_and_stays() -> None:
    client = _client(_app(engine_factory=LongSongEngine))
    room = _open(client)
    code = room["code"]
    with client.websocket_connect(f"/ws/{code}?host={room['host_token']}") as host:
        for i in range(2):
            host.send_json({"type": "claim", "player": i})
            _until(host, "room")
        host.send_json({"type": "start"})
        seen = 0
        while seen < 3000:  # the song so far: more than a tab may fall behind by
            seen += host.receive_json()["type"] == "miss"
        with client.websocket_connect(f"/ws/{code}") as late:
            assert late.receive_json()["type"] == "welcome"
            assert late.receive_json()["rejoin"] is True
            notes = [late.receive_json()["note"] for _ in range(3000)]
            assert notes == list(range(3000))
            late.send_json({"type": "ping", "client_ms": 1.0})
            assert _until(late, "pong")["client_ms"] == 1.0


def test_a_player_whose_tab_closes_while_the_song_is_set_up_is_stored_as_gone() -> None:
    import threading

    entered, go = threading.Event(), threading.Event()
    engines: list[FakeEngine] = []

    def slow_engine(room: Any, start_sec: float) -> FakeEngine:
        entered.set()
        assert go.wait(10)  # the new session is being stored
        engines.append(FakeEngine(room, start_sec))
        return engines[-1]

    client = _client(_app(engine_factory=slow_engine))
    room = _open(client)
    code = room["code"]
    with client.websocket_connect(f"/ws/{code}?host={room['host_token']}") as host:
        host.send_json({"type": "claim", "player": 0})
        _until(host, "room")
        with client.websocket_connect(f"/ws/{code}") as ben:
            ben.send_json({"type": "claim", "player": 1})
            _until(ben, "seat")
            host.send_json({"type": "start"})
            assert entered.wait(10)
        rooms = client.app.state.rooms  # type: ignore[attr-defined]
        while len(rooms.get(code).connections) > 1:  # until the room has seen Ben go
            time.sleep(0.01)
        go.set()
        _until(host, "start")
        assert _until(host, "left")["player"] == 1
        assert [(p, here) for p, _, here in engines[0].presences] == [(1, False)]


# ---------------------------------------------------------------- expiry and caps
def test_rooms_expire_unstarted_after_a_while_and_finished_after_longer() -> None:
    clock = Clock()
    app = _app(clock)
    registry = app.state.rooms
    client = _client(app)
    waiting = _open(client)
    done = _finished_room(client)
    with client.websocket_connect(f"/ws/{waiting['code']}") as ws:
        ws.receive_json()
        clock.now += registry.lobby_ttl_sec + 1
        ws.send_json({"type": "ping", "client_ms": 1.0})  # any message sweeps
        gone = _closed(ws)
    assert gone.code == 4410 and "not started within 30 minutes" in gone.reason
    assert client.get(f"/api/rooms/{waiting['code']}").status_code == 404
    # the finished room, and its report, are kept longer
    assert client.get("/api/sessions/7/report", params={"key": done["key"]}).status_code == 200
    clock.now += registry.finished_ttl_sec - registry.lobby_ttl_sec
    assert client.get("/api/sessions/7/report", params={"key": done["key"]}).status_code == 404
    assert client.get(f"/api/rooms/{done['code']}").status_code == 404


def test_the_room_cap_is_per_client_and_expiry_frees_it() -> None:
    clock = Clock()
    app = _app(clock)
    registry = app.state.rooms
    one, other = _client(app, "192.0.2.10", 50000), _client(app, "192.0.2.11", 50000)
    for _ in range(registry.max_rooms_per_client):
        _open(one)
    refused = one.post(
        "/api/rooms", json={"song": "test-beat", "players": ["A"], "levels": ["expert"]}
    )
    assert refused.status_code == 429 and "already have 8 rooms" in refused.json()["error"]
    _open(other)  # another client is not held up
    clock.now += registry.lobby_ttl_sec + 1
    _open(one)


# ---------------------------------------------------------------- rates per address
def test_http_rate_is_kept_per_address_not_per_port() -> None:
    app = _app(http_rate_per_sec=0.01, http_burst=6.0)
    codes = [_client(app, "192.0.2.10", port).get("/api/info").status_code for port in range(8)]
    assert codes == [200] * 6 + [429] * 2  # a new port (connection) gets nothing new
    assert _client(app, "192.0.2.11").get("/api/info").status_code == 200
    # an IPv6 client is its /64
    v6 = [_client(app, f"2001:db8:1:2::{k:x}").get("/api/info").status_code for k in range(8)]
    assert v6 == [200] * 6 + [429] * 2
    assert client_key("2001:db8:1:2::99") == "2001:db8:1:2::/64"
    assert client_key("::ffff:192.0.2.10") == "192.0.2.10"


def test_a_websocket_message_far_over_the_limit_is_refused_before_it_is_read() -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from cymbalism.web.server import Studio

    clock = Clock()
    studio = Studio(_app(clock), port=0).start_in_thread()
    try:
        code = _open(_client(studio.app, host="127.0.0.1"))["code"]
        with connect(f"ws://127.0.0.1:{studio.port}/ws/{code}") as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
            ws.send("x" * 6000)  # over the limit, but read: one clear reason
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and "4096-byte limit" in closed.value.rcvd.reason
        with connect(f"ws://127.0.0.1:{studio.port}/ws/{code}") as ws:
            ws.recv(timeout=5)
            ws.send("x" * 1_000_000)  # refused by its frame's length, never held
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        studio.stop()


def test_websocket_handshakes_and_messages_are_limited_per_address() -> None:
    app = _app(
        watch_rate_per_sec=0.01,
        watch_burst=10.0,
        ws_client_rate_per_sec=0.01,
        ws_client_burst=20.0,
        ws_per_client=3,
    )
    client = _client(app)
    code = _open(client)["code"]
    # messages: each connection may send 10, the address 20 over all of them
    with (
        client.websocket_connect(f"/ws/{code}") as a,
        client.websocket_connect(f"/ws/{code}") as b,
        client.websocket_connect(f"/ws/{code}") as c,
    ):
        for ws in (a, b, c):
            ws.receive_json()
        # a fourth connection at once is refused
        with client.websocket_connect(f"/ws/{code}") as d:
            refused = _closed(d)
        assert refused.code == 4429 and "too many connections" in refused.reason
        for ws in (a, b):
            for k in range(10):
                ws.send_json({"type": "ping", "client_ms": float(k)})
                assert ws.receive_json()["type"] == "pong"
        c.send_json({"type": "ping", "client_ms": 1.0})  # c's first, the address's 21st
        cut = _closed(c)
        assert cut.code == 1008 and "from this address" in cut.reason
    # handshakes cost a request token each
    limited = _app(http_rate_per_sec=0.01, http_burst=3.0)
    c2 = _client(limited)
    code2 = _open(c2)["code"]
    for _ in range(2):
        with c2.websocket_connect(f"/ws/{code2}") as ws:
            ws.receive_json()
    with pytest.raises(WebSocketDisconnect) as info:
        with c2.websocket_connect(f"/ws/{code2}"):
            pass
    assert info.value.code == 4429


# ---------------------------------------------------------------- guessing codes
def test_wrong_codes_are_throttled_with_a_doubling_wait() -> None:
    clock = Clock()
    app = _app(clock)
    joins = app.state.joins
    guesser, honest = _client(app, "192.0.2.66"), _client(app, "192.0.2.10")
    code = _open(honest)["code"]
    wrong = iter("".join(p) for p in zip(*[string.ascii_uppercase] * 10, strict=False))

    def guess(c: str) -> int:
        return guesser.get(f"/api/rooms/{c}").status_code

    assert [guess(next(wrong)) for _ in range(joins.free)] == [404] * joins.free
    assert guess(next(wrong)) == 404  # the first that costs a wait (1 s)
    r = guesser.get(f"/api/rooms/{code}")  # even the right code waits now
    assert r.status_code == 429 and "try again in 1 s" in r.json()["error"]
    with guesser.websocket_connect(f"/ws/{code}") as ws:
        assert _closed(ws).code == 4429
    assert honest.get(f"/api/rooms/{code}").status_code == 200  # others are not held up
    waits = []
    for _ in range(6):
        clock.now += joins.wait_sec("192.0.2.66")
        assert guess(next(wrong)) == 404
        waits.append(joins.wait_sec("192.0.2.66"))
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    # wrong report keys count as wrong codes too
    clock.now += 64.0
    assert guesser.get("/api/sessions/1/report", params={"key": "GUESS"}).status_code == 404
    assert guesser.get("/api/sessions/1/report", params={"key": "GUESS"}).status_code == 429
    clock.now += joins.window_sec + joins.max_sec  # forgotten after the window
    assert guess(_open(honest)["code"]) == 200


# ---------------------------------------------------------------- clock sync
def test_clock_sync_refuses_a_jump_and_follows_a_real_one() -> None:
    sync = ClockSync()
    offset = 50.0  # server = browser / 1000 + offset
    for k in range(5):
        t = 1000.0 * k
        sync.add(send_ms=t, server_sec=(t + 2.0) / 1000 + offset, recv_ms=t + 4.0)
    before = sync.estimate().offset_sec
    # a forged round trip: instant, and 50,000 s ahead
    assert not sync.add(send_ms=9000.0, server_sec=50_000.0 + 9.0 + offset, recv_ms=9000.0)
    assert sync.estimate().offset_sec == before and sync.n_refused == 1
    # an honest sample with a slow round trip is used
    assert sync.add(send_ms=9100.0, server_sec=9.15 + offset, recv_ms=9300.0)
    # a real jump (a laptop woken up): after eight round trips that agree, it is followed
    used = [
        sync.add(send_ms=t, server_sec=(t + 2.0) / 1000 + offset + 30.0, recv_ms=t + 4.0)
        for t in np.arange(20_000.0, 28_000.0, 1000.0)
    ]
    assert used == [False] * 7 + [True]
    assert sync.estimate().offset_sec == pytest.approx(offset + 30.0)


def test_a_clock_sample_must_carry_a_time_the_studio_gave() -> None:
    clock = Clock()
    client = _client(_app(clock))
    code = _open(client)["code"]
    with client.websocket_connect(f"/ws/{code}") as ws:
        ws.receive_json()
        for server_sec in (clock.now + 50_000.0, 1e300, -1e300, clock.now - 60.0):
            ws.send_json({"type": "sync", "send_ms": 1.0, "server_sec": server_sec, "recv_ms": 2.0})
            err = ws.receive_json()
            assert err["type"] == "error" and "server time" in err["error"]
        ws.send_json({"type": "sync", "send_ms": 1.0, "server_sec": clock.now, "recv_ms": 2.0})
        assert ws.receive_json()["type"] == "clock"


def test_a_tab_that_plays_nobody_may_send_little_and_a_player_more() -> None:
    app = _app(watch_rate_per_sec=0.01, watch_burst=5.0, ws_rate_per_sec=0.01, ws_burst=30.0)
    client = _client(app)
    code = _open(client)["code"]
    with (
        client.websocket_connect(f"/ws/{code}") as player,
        client.websocket_connect(f"/ws/{code}") as watcher,
    ):
        player.receive_json(), watcher.receive_json()
        player.send_json({"type": "claim", "player": 0})
        _until(player, "room"), _until(watcher, "room")
        for k in range(25):  # a player's hits and round trips: well past a watcher's burst
            player.send_json({"type": "ping", "client_ms": float(k)})
            _until(player, "pong")
        for k in range(5):
            watcher.send_json({"type": "ping", "client_ms": float(k)})
            _until(watcher, "pong")
        watcher.send_json({"type": "ping", "client_ms": 9.0})
        cut = _closed(watcher)
        assert cut.code == 1008 and "plays nobody" in cut.reason


# ---------------------------------------------------------------- the duet as audio, the library
def test_the_duets_audio_needs_the_rooms_code_or_key_like_its_report(tmp_path: Any) -> None:
    made: list[Any] = []

    def render(session_id: Any, song: str, fmt: str) -> Any:
        path = tmp_path / f"duet-{len(made)}.{fmt}"
        path.write_bytes(b"RIFF audio")
        made.append((session_id, song, fmt))
        return path

    client = _client(_app(render=render))
    room = _finished_room(client)
    for key in (room["key"], room["code"]):
        r = client.get("/api/sessions/7/render", params={"key": key, "format": "wav"})
        assert r.status_code == 200 and r.content == b"RIFF audio"
        assert "test-beat-7.wav" in r.headers["content-disposition"]
    assert made == [(7, "test-beat", "wav")]  # made once, sent twice
    refusals = [
        client.get("/api/sessions/7/render"),  # no key
        client.get("/api/sessions/7/render", params={"key": "WRONGWRONG"}),
        client.get("/api/sessions/6/render", params={"key": room["key"]}),  # another session
        client.get("/api/sessions/7.0/render", params={"key": room["key"]}),
    ]
    report = client.get("/api/sessions/7/report")
    assert [r.status_code for r in refusals] == [404] * len(refusals)
    assert {json.dumps(r.json()) for r in refusals} == {json.dumps(report.json())}
    bad = client.get("/api/sessions/7/render", params={"key": room["key"], "format": "exe"})
    assert bad.status_code == 422 and len(made) == 1
    # a room still playing has nothing to render yet
    playing = _open(client)
    with client.websocket_connect(f"/ws/{playing['code']}?host={playing['host_token']}") as ws:
        for i in range(2):
            ws.send_json({"type": "claim", "player": i})
            _until(ws, "room")
        ws.send_json({"type": "start"})
        _until(ws, "start")
        r = client.get("/api/sessions/7/render", params={"key": playing["key"]})
        assert r.status_code == 404 and len(made) == 1  # not this room's session


def test_on_the_network_the_library_is_this_computers_and_a_recording_needs_a_rooms_key(
    tmp_path: Any,
) -> None:
    from cymbalism.sound.audio import write_audio
    from cymbalism.web.library import SongShelf

    folder = tmp_path / "song"
    write_audio(folder / "song.ogg", np.zeros(4410, np.float32), 44_100)
    app = _app(require_code=True, song_folder=lambda name: folder, shelf=SongShelf())
    here = _client(app, "127.0.0.1")
    there = _client(app, "192.0.2.10")
    room = _open(here)
    # searching and choosing songs: only here, as opening rooms is
    assert here.get("/api/library").status_code == 200
    assert here.get("/api/songs/test-beat").status_code == 200
    for path in ("/api/library", "/api/songs/test-beat"):
        r = there.get(path)
        assert (
            r.status_code == 403 and "only on the computer running the studio" in r.json()["error"]
        )
    # a song's recording: here, or with the key of a room that plays it
    assert here.get("/api/songs/test-beat/audio/song").status_code == 200
    info = there.get("/api/songs/test-beat/audio", params={"key": room["key"]}).json()
    assert info["music"] == [f"/api/songs/test-beat/audio/song?key={room['key']}"]
    r = there.get(info["music"][0])
    assert r.status_code == 200 and r.content == (folder / "song.ogg").read_bytes()
    refused = [
        there.get("/api/songs/test-beat/audio"),
        there.get("/api/songs/test-beat/audio/song"),
        there.get("/api/songs/test-beat/audio/song", params={"key": "WRONGWRONG"}),
        there.get("/api/songs/other-song/audio/song", params={"key": room["key"]}),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    assert len({json.dumps(r.json()) for r in refused}) == 1


def test_kept_results_are_made_once_and_the_oldest_is_let_go() -> None:
    import asyncio

    from cymbalism.web.kept import Kept

    made: list[str] = []
    dropped: list[str] = []

    def maker(key: str) -> Any:
        def make() -> str:
            made.append(key)
            time.sleep(0.05)
            if key == "bad":
                raise ValueError("no")
            return f"made {key}"

        return make

    async def main() -> None:
        kept: Kept[str] = Kept(2, on_drop=dropped.append)
        both = await asyncio.gather(*(kept.get("a", maker("a")) for _ in range(5)))
        assert both == ["made a"] * 5 and made == ["a"]
        for _ in range(2):  # a failure is not kept: it is made again
            with pytest.raises(ValueError):
                await kept.get("bad", maker("bad"))
        assert made == ["a", "bad", "bad"] and len(kept) == 1
        await kept.get("b", maker("b"))
        await kept.get("a", maker("a"))  # asked again: now the newest
        await kept.get("c", maker("c"))  # b goes
        assert dropped == ["made b"] and made == ["a", "bad", "bad", "b", "c"]
        kept.clear()
        assert sorted(dropped) == ["made a", "made b", "made c"] and len(kept) == 0

    asyncio.run(main())
