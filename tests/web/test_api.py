"""The studio's HTTP and WebSocket API, in-process with FastAPI's test client."""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from cymbalism.errors import InputError, NotFoundError
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap
from cymbalism.web.app import StudioConfig, create_app
from cymbalism.web.clocksync import ClockSync
from cymbalism.web.protocol import Hit, parse_client_message
from cymbalism.web.ratelimit import TokenBucket


def _chart() -> Chart:
    qn = np.arange(0.0, 8.0, 1.0)
    lanes = np.where(qn % 2 == 0, int(Lane.KICK), int(Lane.SNARE))
    full = Part.from_arrays(qn, lanes, 100)
    easy = Part.from_arrays(qn[::2], lanes[::2], 100)
    return Chart("Test Beat", TempoMap.constant(120.0), {Level.EXPERT: full, Level.EASY: easy})


def _config(**kw: object) -> StudioConfig:
    def load(name: str) -> Chart:
        if name != "test-beat":
            raise NotFoundError(f"no song {name!r}")
        return _chart()

    def no_engine(room: object, start_sec: float) -> object:
        raise AssertionError("these tests do not start a song")

    return StudioConfig(
        load_song=load, list_songs=lambda: ["test-beat"], engine_factory=no_engine, **kw
    )  # type: ignore[arg-type]


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(_config()))


def _room(client: TestClient) -> str:
    r = client.post(
        "/api/rooms",
        json={"song": "test-beat", "players": ["Ann", "Ben"], "levels": ["expert", "easy"]},
    )
    assert r.status_code == 200, r.text
    return r.json()["code"]


# ---------------------------------------------------------------- pure parts
def test_protocol_accepts_a_hit_and_rejects_every_kind_of_garbage() -> None:
    msg = parse_client_message('{"type":"hit","player":1,"t_ms":1234.5,"lane":1,"seq":3}')
    assert msg == Hit(type="hit", player=1, t_ms=1234.5, lane=1, velocity=100, seq=3)
    bad = [
        "not json",
        "[1,2]",
        '{"type":"hit"}',  # fields missing
        '{"type":"hit","player":0,"t_ms":1,"lane":10}',  # no lane 10
        '{"type":"hit","player":2,"t_ms":1,"lane":1}',  # no third player
        '{"type":"hit","player":"0","t_ms":1,"lane":1}',  # strict: no coercion
        '{"type":"hit","player":0,"t_ms":1,"lane":1,"x":1}',  # extra field
        '{"type":"hit","player":0,"t_ms":-5,"lane":1}',  # before the page opened
        '{"type":"hit","player":0,"t_ms":1,"lane":1,"velocity":0}',
        '{"type":"launch"}',
        '{"type":"ping","client_ms":1e400}',  # infinite
        '{"type":"ping","client_ms":1}' + " " * 5000,  # too long
    ]
    for raw in bad:
        with pytest.raises(InputError):
            parse_client_message(raw)
    # the limit is in bytes: 1,500 characters of three bytes each are over it, and 1,000
    # of two bytes each are read (and refused for what they say)
    claim = '{"type":"claim","player":0,"input":"%s"}'
    with pytest.raises(InputError, match="message of 4538 bytes is over the 4096-byte limit"):
        parse_client_message(claim % ("語" * 1500))
    with pytest.raises(InputError, match=r"bad message: claim\.input"):
        parse_client_message(claim % ("é" * 1000))


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(rate_per_sec=10.0, burst=5.0, clock=lambda: now[0])
    assert [bucket.allow() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.1  # one token back
    assert bucket.allow() and not bucket.allow()
    now[0] += 100.0  # never more than the burst
    assert sum(bucket.allow() for _ in range(10)) == 5


def test_clock_sync_recovers_a_known_offset_from_asymmetric_round_trips() -> None:
    rng = np.random.default_rng(1)
    true_offset_sec = 1234.5678  # server = browser/1000 + offset
    sync = ClockSync(window=64)
    for k in range(40):
        send_ms = 1000.0 + 100.0 * k
        up_ms, down_ms = rng.uniform(0.2, 30.0, size=2)
        if k == 17:
            up_ms, down_ms = 0.4, 0.5  # one quick, nearly symmetric round trip
        server_sec = (send_ms + up_ms) / 1000.0 + true_offset_sec
        sync.add(send_ms=send_ms, server_sec=server_sec, recv_ms=send_ms + up_ms + down_ms)
    est = sync.estimate()
    assert est.rtt_sec == pytest.approx(0.0009)
    # the min-RTT sample is off by half the asymmetry: (0.4 - 0.5) / 2 ms
    assert est.offset_sec == pytest.approx(true_offset_sec - 0.00005, abs=1e-9)
    assert sync.to_server_sec(5000.0) == pytest.approx(5.0 + est.offset_sec)


def test_clock_sync_refuses_nonsense() -> None:
    sync = ClockSync()
    with pytest.raises(InputError, match="not synchronised"):
        sync.estimate()
    with pytest.raises(InputError, match="cannot end before it starts"):
        sync.add(send_ms=10.0, server_sec=1.0, recv_ms=5.0)
    assert not sync.add(send_ms=0.0, server_sec=1.0, recv_ms=5000.0)  # stalled: ignored
    assert not sync.ready


# ---------------------------------------------------------------- HTTP
def test_page_and_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "cymbalism" in page.text
    modules = ["main", "state", "net", "setup", "lobby", "keys", "audio", "highway", "play"]
    assets = [f"/static/{m}.js" for m in [*modules, "report"]] + ["/static/studio.css"]
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    # nothing is fetched from anywhere else
    for text in [page.text] + [client.get(a).text for a in assets]:
        assert "http://" not in text.replace("${location.protocol}//", "")
        assert "https://" not in text


def test_info_lists_lanes_and_two_disjoint_key_sets(client: TestClient) -> None:
    info = client.get("/api/info").json()
    assert [x["short"] for x in info["lanes"]] == [lane.short for lane in Lane]
    k1, k2 = info["key_sets"]["keys1"], info["key_sets"]["keys2"]
    assert not set(k1) & set(k2)
    assert set(k1.values()) == set(k2.values()) == {int(x) for x in Lane}
    assert info["midi_notes"]["38"] == int(Lane.SNARE)


def test_songs_and_rooms(client: TestClient) -> None:
    songs = client.get("/api/songs").json()
    assert songs == [
        {
            "name": "test-beat",
            "title": "Test Beat",
            "artist": "",
            "bpm": 120.0,
            "bars": 2,
            "length_sec": 4.0,
            "levels": ["Easy", "Expert"],
            "sections": [],
            "pads": False,
            "five_lane": False,
        }
    ]
    code = _room(client)
    room = client.get(f"/api/rooms/{code.lower()}").json()
    assert room["code"] == code and room["state"] == "lobby"
    assert [(p["name"], p["level"], p["claimed"]) for p in room["players"]] == [
        ("Ann", "Expert", False),
        ("Ben", "Easy", False),
    ]
    assert [r["code"] for r in client.get("/api/rooms").json()] == [code]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"song": "nope", "players": ["A", "B"], "levels": ["easy", "easy"]}, 404, "no song"),
        (
            {"song": "test-beat", "players": ["A", "A"], "levels": ["easy", "easy"]},
            422,
            "different",
        ),
        ({"song": "test-beat", "players": ["A", "B"], "levels": ["easy"]}, 422, "one level"),
        (
            {"song": "test-beat", "players": ["A", "B"], "levels": ["easy", "hard"]},
            404,
            "no Hard part",
        ),
        (
            {"song": "test-beat", "players": ["A", "B"], "levels": ["easy", "pro"]},
            422,
            "unknown level",
        ),
        (
            {"song": "test-beat", "players": ["A", "B"], "levels": ["Expert+", "easy"]},
            404,
            "'Test Beat' has no Expert+ part (no double-kick notes); it has: Easy, Expert",
        ),
        (
            {"song": "test-beat", "players": ["A"], "levels": ["easy"], "tempo_percent": 5},
            422,
            "tempo_percent",
        ),
        ({"song": 3, "players": ["A"], "levels": ["easy"]}, 422, "song"),
    ],
)
def test_every_error_is_one_json_body(
    client: TestClient, body: dict, status: int, words: str
) -> None:
    r = client.post("/api/rooms", json=body)
    assert r.status_code == status
    assert set(r.json()) == {"error", "status"} and r.json()["status"] == status
    assert words in r.json()["error"]


@pytest.mark.parametrize("name", ["Ann\x00", "\x1b[31mAnn", "Ann\nBen", "\u202eAnn", "Ann\u2066"])
def test_a_player_name_with_control_characters_is_refused(client: TestClient, name: str) -> None:
    # a NUL cannot be stored on PostgreSQL; escapes and bidi overrides rewrite a terminal
    # or a page where the name is shown
    r = client.post(
        "/api/rooms", json={"song": "test-beat", "players": [name, "B"], "levels": ["easy"] * 2}
    )
    assert r.status_code == 422
    assert "players.0" in r.json()["error"] and "control character" in r.json()["error"]


def test_a_player_name_may_be_any_printable_text(client: TestClient) -> None:
    names = ["Zoë 👩\u200d🎤", "たろう"]  # an emoji joined by a zero-width joiner, kana
    r = client.post(
        "/api/rooms", json={"song": "test-beat", "players": names, "levels": ["easy"] * 2}
    )
    assert r.status_code == 200, r.text
    assert [p["name"] for p in r.json()["players"]] == names


def test_expert_plus_is_offered_and_taken_only_for_a_song_with_double_kicks() -> None:
    beat = _chart()
    expert = beat.part(Level.EXPERT)
    plus = Part.from_arrays(  # a double kick after each kick
        np.concatenate([expert.qn, expert.qn[expert.lane == Lane.KICK] + 0.25]),
        np.concatenate([expert.lane, np.full(4, int(Lane.KICK))]),
    )
    songs = {"test-beat": beat, "double-beat": beat.with_parts({Level.EXPERT_PLUS: plus})}

    def load(name: str) -> Chart:
        if name not in songs:
            raise NotFoundError(f"no song {name!r}")
        return songs[name]

    config = StudioConfig(
        load_song=load,
        list_songs=lambda: list(songs),
        engine_factory=lambda room, start: None,  # type: ignore[arg-type,return-value]
    )
    client = TestClient(create_app(config))
    listed = {s["name"]: s["levels"] for s in client.get("/api/songs").json()}
    assert listed == {"test-beat": ["Easy", "Expert"], "double-beat": ["Easy", "Expert", "Expert+"]}
    assert client.get("/api/songs/double-beat").json()["levels"][-1] == "Expert+"

    def room(song: str, levels: list[str], **more: object) -> object:
        body = {"song": song, "players": ["Dae", "Eun"], "levels": levels, **more}
        return client.post("/api/rooms", json=body)

    for name in ("Expert+", "expert+", "X+"):
        r = room("double-beat", [name, "easy"])
        assert r.status_code == 200, r.text
        assert [p["level"] for p in r.json()["players"]] == ["Expert+", "Easy"]
    slots = client.app.state.rooms.get(r.json()["code"]).slots  # type: ignore[attr-defined]
    assert [s.level for s in slots] == [Level.EXPERT_PLUS, Level.EASY]
    # the first bars of the song keep the Expert+ notes of those bars only
    r = room("double-beat", ["expert+", "easy"], last_bar=1)
    short = client.app.state.rooms.get(r.json()["code"]).chart  # type: ignore[attr-defined]
    assert short.part(Level.EXPERT_PLUS) == plus.between(0.0, 4.0) and len(short.expert_plus) == 6
    # a song without double kicks is refused at the door, in one JSON body
    r = room("test-beat", ["easy", "x+"])
    assert r.status_code == 404 and r.json() == {
        "error": "the chart 'Test Beat' has no Expert+ part (no double-kick notes); "
        "it has: Easy, Expert",
        "status": 404,
    }


def test_unknown_paths_and_rooms_are_json_errors(client: TestClient) -> None:
    r = client.get("/api/rooms/ZZZZZZ")
    assert r.status_code == 404 and "no room with code" in r.json()["error"]
    r = client.get("/nowhere")
    assert r.json() == {"error": "Not Found", "status": 404}
    r = client.post(
        "/api/rooms", content=b"\xff\xfe garbage", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["status"] == 422


def test_http_flood_is_refused_with_429() -> None:
    client = TestClient(create_app(_config(http_rate_per_sec=1.0, http_burst=5.0)))
    codes = [client.get("/api/info").status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and codes[-1] == 429
    r = client.get("/api/info")
    assert r.json()["status"] == 429 and "too many requests" in r.json()["error"]


def test_on_the_network_only_the_host_opens_or_lists_rooms() -> None:
    client = TestClient(create_app(_config(require_code=True)))  # the test client is remote
    r = client.post("/api/rooms", json={"song": "test-beat", "players": ["A"], "levels": ["easy"]})
    assert r.status_code == 403 and "room code" in r.json()["error"]
    assert client.get("/api/rooms").status_code == 403
    assert client.get("/api/info").json()["require_code"] is True


# ---------------------------------------------------------------- WebSocket
def _next(ws, kind: str) -> dict:  # type: ignore[no-untyped-def]
    """The next message of type ``kind`` (others on the way are passed over)."""
    while True:
        msg = ws.receive_json()
        if msg["type"] == kind:
            return msg  # type: ignore[no-any-return]


def _sync(ws) -> dict:  # type: ignore[no-untyped-def]
    ws.send_text(json.dumps({"type": "ping", "client_ms": 100.0}))
    pong = ws.receive_json()
    assert pong["type"] == "pong" and pong["client_ms"] == 100.0
    # a browser whose clock runs with the server's, 1 ms there and back: samples taken
    # any time apart agree (a clock that stood still would drift from the server's, and
    # the studio refuses a sample that jumps more than 20 ms, answering nothing)
    send_ms = pong["server_sec"] * 1000.0 - 0.5
    ws.send_text(
        json.dumps(
            {
                "type": "sync",
                "send_ms": send_ms,
                "server_sec": pong["server_sec"],
                "recv_ms": send_ms + 1.0,
            }
        )
    )
    clock = ws.receive_json()
    assert clock["type"] == "clock"
    return clock


def test_websocket_claims_and_clock_round_trips(client: TestClient) -> None:
    code = _room(client)
    with client.websocket_connect(f"/ws/{code}") as ws:
        welcome = ws.receive_json()
        assert welcome["type"] == "welcome" and welcome["room"]["code"] == code
        clock = _sync(ws)
        assert clock["rtt_ms"] == pytest.approx(1.0)
        ws.send_text(json.dumps({"type": "claim", "player": 1, "input": "keys2"}))
        assert len(_next(ws, "seat")["seat"]) >= 16
        room = ws.receive_json()["room"]
        assert room["players"][1]["claimed"] and room["players"][1]["input"] == "keys2"
        ws.send_text(json.dumps({"type": "calibrate", "player": 1, "offset_ms": 42.0}))
        assert ws.receive_json()["room"]["players"][1]["offset_ms"] == 42.0
        # a message that is valid but makes no sense now: one error, the socket stays open
        ws.send_text(json.dumps({"type": "calibrate", "player": 0, "offset_ms": 1.0}))
        err = ws.receive_json()
        assert err == {
            "type": "error",
            "status": 422,
            "error": "this device does not play Ann; claim the player first",
        }
        ws.send_text(json.dumps({"type": "start"}))
        assert "waiting for Ann" in ws.receive_json()["error"]
        _sync(ws)


def test_unknown_room_closes_with_a_reason(client: TestClient) -> None:
    with client.websocket_connect("/ws/NOPE99") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 4404 and "no room with code" in info.value.reason


@pytest.mark.parametrize(
    ("send", "reason"),
    [
        (lambda ws: ws.send_text("{{{ not json"), "bad message"),
        (lambda ws: ws.send_text('{"type":"hit","player":0,"t_ms":1,"lane":99}'), "lane"),
        (lambda ws: ws.send_bytes(b"\x00\x01"), "not binary"),
        (
            lambda ws: [ws.send_text('{"type":"ping","client_ms":1}') for _ in range(200)],
            "too many messages",
        ),
    ],
)
def test_garbage_or_flood_cuts_off_one_client_and_the_room_carries_on(
    client: TestClient,
    send,
    reason: str,  # type: ignore[no-untyped-def]
) -> None:
    code = _room(client)
    with client.websocket_connect(f"/ws/{code}") as good:
        good.receive_json()
        good.send_text(json.dumps({"type": "claim", "player": 0}))
        assert _next(good, "room")["room"]["players"][0]["claimed"]
        with client.websocket_connect(f"/ws/{code}") as bad:
            bad.receive_json()
            bad.send_text(json.dumps({"type": "claim", "player": 1}))
            _next(bad, "room")
            good.receive_json()  # the room update about player 2
            send(bad)
            with pytest.raises(WebSocketDisconnect) as info:
                while True:
                    bad.receive_json()
            assert info.value.code == 1008 and reason in info.value.reason
        # player 2's place is free again, player 1 is untouched and still served
        room = good.receive_json()["room"]
        assert [p["claimed"] for p in room["players"]] == [True, False]
        _sync(good)
        assert client.get(f"/api/rooms/{code}").json()["state"] == "lobby"


# ---------------------------------------------------------------- a song on the live engine
def test_a_duet_through_the_socket_is_judged_by_the_engine_and_stored(
    tmp_path: pytest.TempPathFactory,
) -> None:
    """Two players on two sockets, each with its own browser clock, play a short song on
    the real engine and store; a third client floods mid-song and is cut off, and nothing
    of the duet is lost."""

    from cymbalism.store import Store
    from cymbalism.web.server import studio_config

    db = str(tmp_path / "s.sqlite")  # type: ignore[operator]
    config = studio_config(db=db)
    chart = Chart(
        "Fast Beat", TempoMap.constant(240.0), {Level.EXPERT: _chart().part(Level.EXPERT)}
    )
    config.load_song = lambda name: chart
    config.list_songs = lambda: ["fast-beat"]
    client = TestClient(create_app(config))
    r = client.post(
        "/api/rooms",
        json={
            "song": "fast-beat",
            "players": ["Ann", "Ben"],
            "levels": ["expert", "expert"],
            "lesson": False,
        },
    )
    code = r.json()["code"]
    # each "browser" has its own clock: the server's plus an offset it does not know
    skew_sec = [1000.0, -3.5]

    def now_ms(i: int) -> float:
        return (config.clock() + skew_sec[i]) * 1000.0

    with client.websocket_connect(f"/ws/{code}") as a, client.websocket_connect(f"/ws/{code}") as b:
        socks = [a, b]
        for i, ws in enumerate(socks):
            assert ws.receive_json()["type"] == "welcome"
            for _ in range(5):  # round trips, as the page does
                ws.send_json({"type": "ping", "client_ms": now_ms(i)})
                msg = ws.receive_json()
                while msg["type"] != "pong":
                    msg = ws.receive_json()
                ws.send_json(
                    {
                        "type": "sync",
                        "send_ms": msg["client_ms"],
                        "server_sec": msg["server_sec"],
                        "recv_ms": now_ms(i),
                    }
                )
            ws.send_json({"type": "claim", "player": i, "input": f"keys{i + 1}"})
        room = client.app.state.rooms.get(code)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10.0
        while not all(slot.conn_id is not None for slot in room.slots):  # both claims in
            assert time.monotonic() < deadline
            time.sleep(0.01)
        a.send_json({"type": "start"})
        while room.start_sec is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        targets = chart.targets(Level.EXPERT)
        planned_ms = [[25.0, -30.0], [0.0, 40.0]]
        with client.websocket_connect(f"/ws/{code}") as flood:
            flood.receive_json()
            for k, (sec, lane) in enumerate(zip(targets.onset_sec, targets.lane, strict=True)):
                for i, ws in enumerate(socks):
                    at = room.start_sec + sec + planned_ms[i][k % 2] / 1000.0
                    while time.perf_counter() < at:
                        time.sleep(0.001)
                    t_ms = (at + skew_sec[i]) * 1000.0
                    ws.send_json(
                        {"type": "hit", "player": i, "t_ms": t_ms, "lane": int(lane), "seq": k}
                    )
                if k == 3:  # mid-song: one client floods and is cut off
                    for _ in range(300):
                        flood.send_json({"type": "ping", "client_ms": 1.0})
                    with pytest.raises(WebSocketDisconnect) as cut:
                        while True:
                            flood.receive_json()
                    assert cut.value.code == 1008
                    assert "too many messages" in cut.value.reason
        seen: list[dict] = [[], []]  # what each socket was told, about both players
        finished = None
        for i, ws in enumerate(socks):
            while True:
                msg = ws.receive_json()
                if msg["type"] == "judgement":
                    seen[i].append(msg)
                elif msg["type"] == "finished":
                    finished = msg
                    break
    # both sockets saw every judgement of both players, stamped where the players hit
    assert seen[0] == seen[1] and len(seen[0]) == 2 * len(targets)
    for i in range(2):
        mine = [j for j in seen[0] if j["player"] == i]
        errors = [j["error_ms"] for j in sorted(mine, key=lambda j: j["target_sec"])]
        expected = [planned_ms[i][k % 2] for k in range(len(targets))]
        np.testing.assert_allclose(errors, expected, atol=1.0)  # clock sync within 1 ms
    assert finished is not None
    stored = Store(db).load(finished["result"]["session_id"])
    for i, name in enumerate(["Ann", "Ben"]):
        hits = stored.session.player(name).hits
        np.testing.assert_allclose(
            hits.onset_sec,
            targets.onset_sec
            + np.array([planned_ms[i][k % 2] for k in range(len(targets))]) / 1000.0,
            atol=0.001,
        )
        assert [p["n_hit"] for p in finished["result"]["players"]] == [8, 8]


# ---------------------------------------------------------------- rooms that cannot start
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (
            {"tempo_percent": 45},
            "practice tempo must lie in 50-100% of the song's, got 45%",
        ),  # the lesson path's floor
        ({"start_bar": 60}, "no bar 60"),
        ({"loop_bars": [5, 3]}, "from a bar to a later one"),
        ({"loop_bars": [1, 2], "start_bar": 3}, "not both"),
        ({"ramp_percent": 10}, "choose a loop"),
    ],
)
def test_a_room_the_engine_cannot_play_is_refused_when_opened(
    tmp_path: pytest.TempPathFactory, extra: dict, words: str
) -> None:
    from cymbalism.web.server import studio_config

    client = TestClient(create_app(studio_config(db=str(tmp_path / "s.sqlite"))))  # type: ignore[operator]
    body = {"song": "mirrorball", "players": ["A", "B"], "levels": ["expert", "beginner"]}
    r = client.post("/api/rooms", json={**body, **extra})
    assert r.status_code == 422, r.text
    assert words in r.json()["error"]
    assert client.get("/api/rooms").json() == []  # nothing half-made is left open
    # the same tempo without a lesson path (or with every part full) plays
    r = client.post("/api/rooms", json={**body, "tempo_percent": 45, "lesson": False})
    assert r.status_code == 200 and r.json()["tempo_percent"] == 45


def test_songs_list_their_sections_with_bars() -> None:
    from cymbalism.songs import get_song
    from cymbalism.web.app import song_sections

    chart = get_song("mirrorball")
    sections = song_sections(chart)
    assert sections[0] == {"name": "intro", "first_bar": 1, "last_bar": 3}
    assert sections[1]["name"] == "fill" and sections[1]["first_bar"] == 4
    for a, b in itertools.pairwise(sections):
        assert a["last_bar"] + 1 == b["first_bar"]
    assert sections[-1]["last_bar"] == chart.n_bars


def test_a_seat_token_takes_the_player_back_and_nothing_else_does(client: TestClient) -> None:
    code = _room(client)
    with client.websocket_connect(f"/ws/{code}") as first:
        first.receive_json()
        first.send_json({"type": "claim", "player": 0, "input": "keys1"})
        seat = _next(first, "seat")["seat"]
        room = _next(first, "room")["room"]
        # the second player's default is the right-hand key set
        assert [p["input"] for p in room["players"]] == ["keys1", "keys2"]
        with client.websocket_connect(f"/ws/{code}") as second:  # the same browser, reloaded
            second.receive_json()
            second.send_json({"type": "claim", "player": 0, "seat": "x" * 22})
            assert "already being played" in _next(second, "error")["error"]
            second.send_json({"type": "claim", "player": 0, "seat": seat})
            assert _next(second, "seat")["seat"] == seat  # the same seat, kept
            players = _next(second, "room")["room"]["players"]
            assert players[0]["claimed"]
            slot = client.app.state.rooms.get(code).slots[0]  # type: ignore[attr-defined]
            assert slot.seat == seat
            held_by = slot.conn_id
            # the old tab's line drops only now: the seat stays with the new tab
            first.close()
            room = client.app.state.rooms.get(code)  # type: ignore[attr-defined]
            deadline = time.monotonic() + 5.0
            while len(room.connections) > 1:  # until the room has seen the old tab go
                assert time.monotonic() < deadline
                time.sleep(0.01)
            assert slot.conn_id == held_by is not None
    for bad in ('"short"', '"has spaces in it .."', "12"):
        with pytest.raises(InputError):
            parse_client_message('{"type":"claim","player":0,"seat":' + bad + "}")


def test_a_tab_whose_seat_another_tab_took_back_is_told_so(client: TestClient) -> None:
    code = _room(client)
    with (
        client.websocket_connect(f"/ws/{code}") as first,
        client.websocket_connect(f"/ws/{code}") as second,  # the same browser, another tab
    ):
        first.receive_json()
        second.receive_json()
        first.send_json({"type": "claim", "player": 0})
        seat = _next(first, "seat")["seat"]
        second.send_json({"type": "claim", "player": 0, "seat": seat})
        _next(second, "seat")
        told = _next(first, "error")
        assert told["status"] == 409 and "Ann is now played from another tab" in told["error"]
        second.send_json({"type": "claim", "player": 0, "seat": seat})  # its own seat again
        _next(second, "seat")
        first.send_json({"type": "ping", "client_ms": 1.0})
        kinds = []
        while not kinds or kinds[-1] != "pong":
            kinds.append(first.receive_json()["type"])
        assert "error" not in kinds  # told once, not again


def test_a_song_made_for_four_pads_says_so() -> None:
    from cymbalism.io.charts import parse_chart_text
    from cymbalism.web.app import song_summary

    notes = "\n".join(f"  {192 * i} = N {pad} 0" for i, pad in enumerate([0, 2, 1, 2]))
    chart = parse_chart_text(
        f"[Song]\n{{\n  Resolution = 192\n}}\n[ExpertDrums]\n{{\n{notes}\n}}\n"
    )
    assert song_summary("old", chart)["pads"] is True
    marked = parse_chart_text(
        f"[Song]\n{{\n  Resolution = 192\n}}\n[ExpertDrums]\n{{\n{notes}\n  0 = N 66 0\n}}\n"
    )
    assert song_summary("pro", marked)["pads"] is False
    assert song_summary("pro", marked)["five_lane"] is False
    five = parse_chart_text(
        f"[Song]\n{{\n  Resolution = 192\n}}\n[ExpertDrums]\n{{\n{notes}\n  0 = N 5 0\n}}\n"
    )
    assert song_summary("gh", five)["five_lane"] is True and not song_summary("gh", five)["pads"]
