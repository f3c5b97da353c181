"""The studio's HTTP and WebSocket server (FastAPI).

Routes
------
``GET /``                           the studio page (static HTML, CSS and JavaScript)
``GET /api/info``                   lanes, key sets, MIDI note map, whether codes are required
``GET /api/songs``                  the built-in songs
``GET /api/library?q=&offset=&limit=`` search every song (built-in, then the libraries')
``GET /api/songs/{name}``           one song (bars, levels, sections)
``GET /api/songs/{name}/audio[?key=KEY]`` the files of a song's recording and its offset
``GET /api/songs/{name}/audio/{stem}[?key=KEY]`` one of those files, as it is
``GET /kit/...``                    the sampled kit (kit.json, FLAC files, license)
``GET /api/kit``, ``/api/kit/pack``   the kit as the page loads it: kit.json, all files in one
``POST /api/rooms``                 open a room for a song and two players
``GET /api/rooms``                  open rooms (only when the studio is not on the network)
``GET /api/rooms/{code}``           one room
``WS  /ws/{code}[?host=TOKEN]``     play: clock round trips, claims, hits, judgements
``GET /api/sessions/{id}/report?key=KEY``   the HTML report of a room's session
``GET /api/players/{name}/history?key=KEY`` the sessions over time of a room's player
``GET /api/sessions/{id}/render?key=KEY&format=ogg`` the room's session rendered to audio

Every error is one JSON body ``{"error": "...", "status": N}``. Every request passes
:class:`cymbalism.web.guard.NetworkGuard` (Host, Origin, JSON, a rate per client
address); every message is validated (:mod:`cymbalism.web.protocol`); a WebSocket client
that sends garbage or floods is closed with one reason, and its room carries on.

Reports, histories and renders are served only for rooms that are still kept, with the
room's code or its key (``KEY``, sent to each tab that joins); a wrong code or key is a
wrong try for the :class:`~cymbalism.web.ratelimit.JoinThrottle`, like a wrong room code,
and every refusal is the same 404 that says nothing of what exists.

The song library is the studio's computer's: on the network, it is searched and its
songs are read and previewed only from that computer (as rooms are opened only there);
another device gets a song's recording with the key of a room that plays that song.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import secrets
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from html import escape as html_escape
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import numpy as np

from cymbalism import __version__
from cymbalism.analysis.align import ROLL_REACH_SEC
from cymbalism.errors import (
    CymbalismError,
    DeviceError,
    InputError,
    LimitError,
    NotFoundError,
    require,
)
from cymbalism.model.chart import (
    EXCERPT_OF_BARS,
    GHOST_MAX_VELOCITY,
    NORMAL_VELOCITY,
    Chart,
    Level,
)
from cymbalism.model.lanes import GM_NOTE_TO_LANE, Lane
from cymbalism.report.format import counted
from cymbalism.web.guard import NetworkGuard
from cymbalism.web.kept import Kept
from cymbalism.web.library import MAX_LIMIT, SongShelf
from cymbalism.web.music import (
    RENDER_FORMATS,
    SongAudioInfo,
    audio_file,
    kit_pack,
    song_audio_info,
)
from cymbalism.web.protocol import CreateRoom, describe_validation_error, parse_client_message
from cymbalism.web.ratelimit import AddressBuckets, JoinThrottle, TokenBucket, client_key
from cymbalism.web.rooms import (
    CalibrationBook,
    Connection,
    Practice,
    Room,
    RoomEngine,
    RoomRegistry,
    Slot,
)

fastapi = require("fastapi", "web")
from fastapi import Query, Request, WebSocket  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response  # noqa: E402
from fastapi.staticfiles import StaticFiles  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402
from starlette.websockets import WebSocketDisconnect, WebSocketState  # noqa: E402

__all__ = ["KEY_SETS", "StudioConfig", "create_app", "first_bars"]

_log = logging.getLogger(__name__)

#: Lanes the highway draws as cymbals (the rest are drums).
CYMBALS = frozenset({Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.CRASH, Lane.RIDE})

#: Two key sets, so two people can share one keyboard (``KeyboardEvent.code`` -> lane).
KEY_SETS: dict[str, dict[str, Lane]] = {
    "keys1": {
        "KeyF": Lane.KICK,
        "KeyD": Lane.SNARE,
        "KeyS": Lane.HIHAT_CLOSED,
        "KeyA": Lane.HIHAT_OPEN,
        "KeyC": Lane.HIHAT_PEDAL,
        "KeyE": Lane.TOM_HIGH,
        "KeyR": Lane.TOM_MID,
        "KeyG": Lane.TOM_FLOOR,
        "KeyW": Lane.CRASH,
        "KeyQ": Lane.RIDE,
    },
    "keys2": {
        "KeyJ": Lane.KICK,
        "KeyK": Lane.SNARE,
        "KeyL": Lane.HIHAT_CLOSED,
        "Semicolon": Lane.HIHAT_OPEN,
        "KeyM": Lane.HIHAT_PEDAL,
        "KeyI": Lane.TOM_HIGH,
        "KeyU": Lane.TOM_MID,
        "KeyH": Lane.TOM_FLOOR,
        "KeyO": Lane.CRASH,
        "KeyP": Lane.RIDE,
    },
}


@dataclass
class StudioConfig:
    """How a studio server behaves.

    Attributes
    ----------
    load_song : callable
        ``load_song(name) -> Chart``; raises NotFoundError for an unknown song.
    list_songs : callable
        ``list_songs() -> list[str]``.
    engine_factory : callable
        ``engine_factory(room, count_in_start_sec) -> RoomEngine``: the live engine (and
        store) behind a room.
    require_code : bool
        True when the studio is open to the network: then only this computer may open
        or list rooms, and other devices join with a room code.
    clock : callable returning seconds
        The server's monotonic clock, shared with the engine.
    ws_rate_per_sec, ws_burst : float
        Token bucket of a WebSocket connection that plays a player (hits of two players
        on one tab, clock round trips).
    watch_rate_per_sec, watch_burst : float
        Token bucket of a connection that plays nobody (yet): clock round trips, a claim.
    ws_client_rate_per_sec, ws_client_burst : float
        Token bucket of a client address over all its WebSocket connections.
    ws_per_client : int
        WebSocket connections one client address may hold at once.
    http_rate_per_sec, http_burst : float
        Token bucket of each client address for HTTP requests and WebSocket handshakes.
    names : list of str
        Host names the studio answers to besides its addresses (see
        :class:`~cymbalism.web.guard.NetworkGuard`).
    addresses : callable returning a set of str
        The IP addresses the server listens on.
    joins : JoinThrottle, optional
        The wait after wrong room codes and keys (a default one if not given).
    rooms : dict, optional
        Keyword arguments of :class:`~cymbalism.web.rooms.RoomRegistry` (caps, expiry).
    report_html : callable, optional
        ``report_html(session_id) -> str``.
    public_urls : list of str
        Where other devices reach the studio (empty when it is on this computer only).
    history : callable, optional
        ``history(player_name) -> dict``.
    song_folder : callable
        ``song_folder(name) -> Path or None``: the song folder of a song from a library
        (None for a built-in song), where its recording is found.
    render : callable, optional
        ``render(session_id, song_name, fmt) -> Path``: a stored session rendered to an
        audio file (kept for the next request; the last four are).
    store_kept_aside : callable, optional
        ``store_kept_aside() -> set of int``: store the ends of sessions the database
        refused (see :mod:`cymbalism.store.unsaved`); the ids of those still waiting.
    shelf : SongShelf, optional
        The songs of the libraries the studio serves (``serve --songs``): searched by the
        page, and the judge of which of their files may be sent.
    calibrations : CalibrationBook, optional
        Remembers each player's latency per input between rooms.
    check_room : callable, optional
        ``check_room(room)`` raises a CymbalismError when the engine could not play the
        room as set up (a practice tempo a lesson path cannot take, a loop past the end):
        a room is refused when it is opened, never when it is started.
    """

    load_song: Callable[[str], Chart]
    list_songs: Callable[[], list[str]]
    engine_factory: Callable[[Room, float], RoomEngine]
    require_code: bool = False
    clock: Callable[[], float] = time.perf_counter
    ws_rate_per_sec: float = 40.0
    ws_burst: float = 120.0
    watch_rate_per_sec: float = 2.0
    watch_burst: float = 30.0
    ws_client_rate_per_sec: float = 60.0
    ws_client_burst: float = 180.0
    ws_per_client: int = 8
    http_rate_per_sec: float = 10.0
    http_burst: float = 120.0  # a page load is a dozen requests (HTML, CSS, modules, API)
    names: list[str] = field(default_factory=list)
    addresses: Callable[[], set[str]] = set
    joins: JoinThrottle | None = None
    rooms: dict[str, Any] = field(default_factory=dict)
    public_urls: list[str] = field(default_factory=list)
    report_html: Callable[[Any], str] | None = None
    history: Callable[[str], dict[str, Any]] | None = None
    song_folder: Callable[[str], Path | None] = lambda name: None
    render: Callable[[Any, str, str], Path] | None = None
    store_kept_aside: Callable[[], set[int]] | None = None
    shelf: SongShelf | None = None
    calibrations: CalibrationBook | None = None
    check_room: Callable[[Room], None] | None = None


#: Media types of the audio files a song folder may hold.
_AUDIO_TYPES = {
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
}


def _slug(text: str) -> str:
    """A song's title as a file name's part (``Night Drive`` -> ``night-drive``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


#: Why a finished duet has no report or render yet (its end was kept aside).
_END_WAITS = "the end of this duet waits for the database, which another program holds"


def _waiting_page(message: str, every_sec: int = 5) -> str:
    """A page that says why the report is not ready and asks for it again by itself."""
    return (
        f'<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="{every_sec}">'
        "<title>cymbalism: report</title>"
        f'<p style="font-family: system-ui, sans-serif">{html_escape(message)}</p>'
    )


def _error_body(message: str, status: int) -> dict[str, Any]:
    return {"error": message, "status": status}


#: The one answer to a report or history that cannot be given: it says nothing of
#: whether the session or player exists.
_NOT_SHOWN = "not found: a report or history needs its room's code or key"
#: A session id as the store can hold it (up to 2**63 - 1).
_SESSION_ID = re.compile(r"[0-9]{1,19}")


#: The largest request body the studio reads (a room request is a few hundred bytes).
MAX_BODY_BYTES = 16 * 1024


async def _read_body(request: Request) -> bytes:
    """The body of ``request``, refused with 413 as soon as it is over
    :data:`MAX_BODY_BYTES` (unread when its Content-Length says so)."""
    too_big = StarletteHTTPException(413, f"a request body is at most {MAX_BODY_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_big
    return bytes(body)


def _is_local(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _close_reason(text: str) -> str:
    """A WebSocket close reason must fit in 123 bytes of UTF-8."""
    data = text.encode()
    return text if len(data) <= 123 else data[:120].decode(errors="ignore") + "..."


def song_summary(name: str, chart: Chart) -> dict[str, Any]:
    """A song as the page lists it."""
    return {
        "name": name,
        "title": chart.title,
        "artist": chart.artist,
        "bpm": round(float(chart.tempo_map.bpm_at(0.0)), 1),
        "bars": chart.n_bars,
        "length_sec": round(chart.end_sec, 1),
        "levels": [lv.label for lv in chart.part_levels],
        "sections": song_sections(chart),
        # made for four pads: either drum of a pad hits its notes (Chart.hit_lanes)
        "pads": chart.four_pads,
        "five_lane": chart.five_lane,
    }


def song_sections(chart: Chart) -> list[dict[str, Any]]:
    """The song's named sections with the bars they span (from 1, inclusive)."""
    out: list[dict[str, Any]] = []
    for q, name in chart.sections:
        bar, _ = chart.tempo_map.qn_to_bar_beat(np.float64(q))
        first = int(bar) + 1
        if first > chart.n_bars:
            continue
        if out and out[-1]["first_bar"] == first:
            out.pop()  # two names on one bar line: the later one counts
        if out:
            out[-1]["last_bar"] = first - 1
        out.append({"name": name, "first_bar": first, "last_bar": chart.n_bars})
    return out


def first_bars(chart: Chart, n_bars: int) -> Chart:
    """The first ``n_bars`` bars of a song, as a song of its own (to practise a part).

    Raises
    ------
    InputError
        If the song has fewer bars, or no notes in them.
    """
    if not 1 <= n_bars <= chart.n_bars:
        raise InputError(
            f"{chart.title!r} has {chart.n_bars} bars; it cannot stop after bar {n_bars}"
        )
    if n_bars == chart.n_bars:
        return chart
    end_qn = float(chart.tempo_map.bar_to_qn(n_bars))
    parts = {lv: chart.part(lv).between(0.0, end_qn) for lv in chart.part_levels}
    return replace(
        chart,
        parts={lv: p for lv, p in parts.items() if len(p)},
        expert_plus=None,  # in ``parts`` when it has notes in these bars
        end_qn=end_qn,
        sections=tuple((q, name) for q, name in chart.sections if q < end_qn),
        metadata={**chart.metadata, EXCERPT_OF_BARS: str(chart.n_bars)},
    )


def create_app(config: StudioConfig) -> Any:
    """Build the studio's FastAPI application.

    Parameters
    ----------
    config : StudioConfig

    Returns
    -------
    app : fastapi.FastAPI
    """
    static_dir = resources.files("cymbalism.web") / "static"
    registry = RoomRegistry(clock=config.clock, **config.rooms)

    # a finished session's report (the last 16) and renders (the last 4 files), made once
    reports: Kept[str] = Kept(16)
    renders: Kept[Path] = Kept(4, on_drop=lambda path: path.unlink(missing_ok=True))

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        await registry.stop_all()  # a song still playing is stored as stopped here
        renders.clear()

    app = fastapi.FastAPI(
        title="cymbalism studio",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.rooms = registry
    joins = config.joins or JoinThrottle()
    app.state.joins = joins
    ws_buckets = AddressBuckets(
        rate_per_sec=config.ws_client_rate_per_sec, burst=config.ws_client_burst
    )
    ws_open: Counter[str] = Counter()
    app.add_middleware(
        NetworkGuard,
        names=config.names,
        addresses=config.addresses,
        limits=AddressBuckets(rate_per_sec=config.http_rate_per_sec, burst=config.http_burst),
    )

    # ------------------------------------------------------------------ errors
    @app.exception_handler(CymbalismError)
    async def _cymbalism_error(request: Request, exc: CymbalismError) -> JSONResponse:
        return JSONResponse(_error_body(str(exc), exc.http_status), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "request"
        return JSONResponse(
            _error_body(f"bad request: {where}: {first['msg']}", 422), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            _error_body(str(exc.detail), exc.status_code), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            _error_body(f"internal error: {type(exc).__name__}", 500), status_code=500
        )

    def _throttled(client: str) -> None:
        wait = joins.wait_sec(client)
        if wait > 0:
            raise LimitError(
                f"too many wrong room codes from this address; try again in {wait:.0f} s"
            )

    def _room_by_code(request: Request, code: str) -> Room:
        client = client_key(request.client.host if request.client else None)
        _throttled(client)
        try:
            return registry.get(code)
        except NotFoundError:
            joins.failed(client)
            raise

    def _room_by_key(request: Request, key: str | None) -> Room:
        client = client_key(request.client.host if request.client else None)
        _throttled(client)
        room = registry.by_key(key)
        if room is None:
            joins.failed(client)
            raise NotFoundError(_NOT_SHOWN)
        return room

    def _local_only(request: Request, what: str) -> None:
        if config.require_code and not _is_local(request.client.host if request.client else None):
            raise StarletteHTTPException(
                403, f"{what} only on the computer running the studio; join with a room code"
            )

    # ------------------------------------------------------------------ pages
    @app.get("/", include_in_schema=False)
    async def index() -> Any:
        return FileResponse(str(static_dir / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    from cymbalism.sound.kit import KIT_DIR

    app.mount("/kit", StaticFiles(directory=str(KIT_DIR)), name="kit")

    kit: list[tuple[dict[str, Any], bytes]] = []

    def _kit() -> tuple[dict[str, Any], bytes]:
        if not kit:
            kit.append(kit_pack())
        return kit[0]

    @app.get("/api/kit")
    async def kit_spec() -> dict[str, Any]:
        return (await asyncio.to_thread(_kit))[0]

    @app.get("/api/kit/pack")
    async def kit_body() -> Response:
        body = (await asyncio.to_thread(_kit))[1]
        return Response(body, media_type="application/octet-stream")

    @app.get("/api/info")
    async def info() -> dict[str, Any]:
        return {
            "version": __version__,
            "require_code": config.require_code,
            "public_urls": config.public_urls,
            "reports": config.report_html is not None,
            "renders": config.render is not None,
            "library": 0 if config.shelf is None else len(config.shelf.library),
            "lanes": [
                {"id": int(x), "short": x.short, "label": x.label, "cymbal": x in CYMBALS}
                for x in Lane
            ],
            "velocity": {"ghost_max": GHOST_MAX_VELOCITY, "accent_min": NORMAL_VELOCITY + 1},
            "roll_reach_sec": ROLL_REACH_SEC,
            "levels": [lv.label for lv in Level],
            "key_sets": {
                k: {code: int(lane) for code, lane in v.items()} for k, v in KEY_SETS.items()
            },
            "midi_notes": {str(n): int(lane) for n, lane in GM_NOTE_TO_LANE.items()},
        }

    @app.get("/api/songs")
    async def songs() -> list[dict[str, Any]]:
        return [song_summary(name, config.load_song(name)) for name in config.list_songs()]

    def _song_access(request: Request, name: str, key: str | None) -> None:
        """A song's recording: from the studio's computer, or with the key of a room
        that plays it."""
        if not config.require_code or _is_local(request.client.host if request.client else None):
            return
        if _room_by_key(request, key).song != name:
            raise NotFoundError(_NOT_SHOWN)

    @app.get("/api/library")
    async def library(
        request: Request,
        q: Annotated[str, Query(max_length=200)] = "",
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> dict[str, Any]:
        _local_only(request, "the song library is searched")
        if config.shelf is None:
            raise NotFoundError("this studio serves no song library")
        return config.shelf.search(q, offset=offset, limit=limit)

    @app.get("/api/songs/{name}")
    async def song(request: Request, name: str) -> dict[str, Any]:
        _local_only(request, "songs are chosen")
        chart = await asyncio.to_thread(config.load_song, name)
        return song_summary(name, chart)

    audio_infos: OrderedDict[str, SongAudioInfo] = OrderedDict()

    def _audio_info(name: str) -> SongAudioInfo:
        info = audio_infos.get(name)
        if info is None:
            chart = config.load_song(name)  # a clear NotFoundError for an unknown song
            folder = config.song_folder(name)
            info = song_audio_info(name, chart, folder)
            if config.shelf is not None and name in config.shelf.library:
                config.shelf.keep_servable(name, info)
            audio_infos[name] = info
            while len(audio_infos) > 256:
                audio_infos.popitem(last=False)
        return info

    @app.get("/api/songs/{name}/audio")
    async def song_audio(request: Request, name: str, key: str | None = None) -> dict[str, Any]:
        _song_access(request, name, key)
        info = await asyncio.to_thread(_audio_info, name)
        query = f"?key={quote(key, safe='')}" if key else ""
        return info.public(lambda stem: f"/api/songs/{quote(name, safe='')}/audio/{stem}{query}")

    @app.get("/api/songs/{name}/audio/{stem}")
    async def song_audio_file(
        request: Request, name: str, stem: str, key: str | None = None
    ) -> Any:
        _song_access(request, name, key)
        info = await asyncio.to_thread(_audio_info, name)
        path = audio_file(info, stem)
        if config.shelf is not None and name in config.shelf.library:
            path = config.shelf.audio_path(name, path)  # found by the scan, in its folder
        return FileResponse(str(path), media_type=_AUDIO_TYPES.get(path.suffix.lower()))

    @app.post("/api/rooms")
    async def create_room(request: Request) -> dict[str, Any]:
        _local_only(request, "rooms can be opened")
        body = await _read_body(request)
        try:
            req = CreateRoom.model_validate_json(body)
        except ValidationError as exc:
            raise InputError(f"bad room request: {describe_validation_error(exc)}") from None
        if len(req.levels) != len(req.players):
            raise InputError(
                f"give one level per player: {counted(len(req.players), 'player')}, "
                f"{counted(len(req.levels), 'level')}"
            )
        names = [n.strip() for n in req.players]
        if len(set(names)) != len(names) or not all(names):
            raise InputError(f"players need different, non-empty names, got {names}")
        chart = config.load_song(req.song)
        if req.last_bar is not None:
            chart = first_bars(chart, req.last_bar)
        levels = [Level.parse(x) for x in req.levels]
        for lv in levels:
            chart.part(lv)  # a clear NotFoundError for a level the song lacks (Expert+ too)
        if req.start_bar is not None and req.loop_bars is not None:
            raise InputError("give a start bar or a loop, not both")
        for bar in (req.start_bar, *(req.loop_bars or ())):
            if bar is not None and bar > chart.n_bars:
                raise InputError(f"{chart.title!r} has {chart.n_bars} bars here; no bar {bar}")
        if req.loop_bars is not None and req.loop_bars[0] > req.loop_bars[1]:
            a, b = req.loop_bars
            raise InputError(f"a loop runs from a bar to a later one, got bars {a}-{b}")
        if req.ramp_percent and req.loop_bars is None:
            raise InputError("a tempo ramp speeds up each time through a loop: choose a loop")
        practice = Practice(
            start_bar=req.start_bar,
            loop_bars=req.loop_bars,
            loop_repeats=req.loop_repeats,
            ramp_step=req.ramp_percent / 100.0,
            ramp_to=req.ramp_to_percent / 100.0,
        )
        room = Room(
            owner=client_key(request.client.host if request.client else None),
            code=registry.new_code(),
            song=req.song,
            chart=chart,
            slots=[Slot(name=n, level=lv) for n, lv in zip(names, levels, strict=True)],
            engine_factory=config.engine_factory,
            clock=config.clock,
            tempo_scale=req.tempo_percent / 100.0,
            count_in_bars=req.count_in_bars,
            lesson=req.lesson,
            practice=practice,
            calibrations=config.calibrations,
        )
        if config.check_room is not None:
            config.check_room(room)
        registry.add(room)
        return {**room.public(), "host_token": room.host_token, "key": room.key}

    @app.get("/api/rooms")
    async def list_rooms(request: Request) -> list[dict[str, Any]]:
        _local_only(request, "rooms are listed")
        return [r.public() for r in registry.list() if r.state != "finished"]

    @app.get("/api/rooms/{code}")
    async def get_room(request: Request, code: str) -> dict[str, Any]:
        return _room_by_code(request, code).public()

    async def _whole(room: Room) -> None:
        """Make sure the room's session is stored whole before it is reported or rendered:
        an end the database refused, kept aside since, is stored now if it can be."""
        if not (room.result or {}).get("kept_aside"):
            return
        if config.store_kept_aside is not None:
            waiting = await asyncio.to_thread(config.store_kept_aside)
            if room.session_id not in waiting:
                room.result = {**(room.result or {}), "kept_aside": False}
                return
        raise DeviceError(f"{_END_WAITS}: try again in a moment")

    @app.get("/api/sessions/{session_id}/report", response_class=HTMLResponse)
    async def report(request: Request, session_id: str, key: str | None = None) -> HTMLResponse:
        if config.report_html is None:
            raise NotFoundError("this studio keeps no reports")
        room = _room_by_key(request, key)
        if not _SESSION_ID.fullmatch(session_id) or str(room.session_id) != session_id:
            raise NotFoundError(_NOT_SHOWN)
        assert config.report_html is not None
        make_html = config.report_html
        try:
            await _whole(room)
        except DeviceError as exc:  # the page's frame says so, and asks again by itself
            said = "the report comes as soon as it is free (this page asks again every 5 s)"
            return HTMLResponse(_waiting_page(f"{_END_WAITS}: {said}"), exc.http_status)
        try:
            html = await reports.get(session_id, lambda: make_html(session_id))
        except NotFoundError:  # its message may name the database
            raise NotFoundError(_NOT_SHOWN) from None
        return HTMLResponse(html)

    @app.get("/api/sessions/{session_id}/render")
    async def render(
        request: Request, session_id: str, key: str | None = None, format: str = "ogg"
    ) -> Any:
        if config.render is None:
            raise NotFoundError("this studio keeps no sessions to render")
        room = _room_by_key(request, key)
        if not _SESSION_ID.fullmatch(session_id) or str(room.session_id) != session_id:
            raise NotFoundError(_NOT_SHOWN)
        if format not in RENDER_FORMATS:
            raise InputError(f"a render is one of {', '.join(RENDER_FORMATS)}, got {format!r}")
        if room.state != "finished":
            raise InputError("the duet can be rendered once it has ended")
        make, sid, song = config.render, room.session_id, room.song
        await _whole(room)
        path = await renders.get((sid, format), lambda: make(sid, song, format))
        return FileResponse(
            str(path),
            media_type=RENDER_FORMATS[format],
            filename=f"cymbalism-{_slug(room.chart.title) or 'duet'}-{room.session_id}.{format}",
        )

    @app.get("/api/players/{name:path}/history")  # a name may hold a slash
    async def history(request: Request, name: str, key: str | None = None) -> dict[str, Any]:
        if config.history is None:
            raise NotFoundError("this studio keeps no history")
        room = _room_by_key(request, key)
        if name not in {s.name for s in room.slots}:
            raise NotFoundError(_NOT_SHOWN)
        try:
            return await asyncio.to_thread(config.history, name)
        except NotFoundError:  # not stored yet; the message would name the others
            return {"player": name, "sessions": []}

    # ------------------------------------------------------------------ play
    @app.websocket("/ws/{code}")
    async def play(websocket: WebSocket, code: str) -> None:
        client = client_key(websocket.client.host if websocket.client else None)
        await websocket.accept()
        refusal: tuple[int, str] | None = None
        room: Room | None = None
        if (wait := joins.wait_sec(client)) > 0:
            refusal = (
                4429,
                f"too many wrong room codes from this address; try again in {wait:.0f} s",
            )
        elif ws_open[client] >= config.ws_per_client:
            refusal = (4429, f"too many connections from this address ({config.ws_per_client})")
        else:
            try:
                room = registry.get(code)
            except NotFoundError as exc:
                joins.failed(client)
                refusal = (4404, str(exc))
        if room is None:
            assert refusal is not None
            await websocket.close(code=refusal[0], reason=_close_reason(refusal[1]))
            return
        host = websocket.query_params.get("host") or ""
        conn = Connection(
            id=registry.next_connection_id(),
            is_host=secrets.compare_digest(host.encode(), room.host_token.encode()),
        )
        watching = TokenBucket(rate_per_sec=config.watch_rate_per_sec, burst=config.watch_burst)
        playing: TokenBucket | None = None
        ws_open[client] += 1
        room.join(conn)

        def _bucket_of(conn: Connection) -> TokenBucket:
            nonlocal playing
            if not room.seats(conn):
                return watching
            if playing is None:
                playing = TokenBucket(rate_per_sec=config.ws_rate_per_sec, burst=config.ws_burst)
            return playing

        async def pump() -> None:
            while conn.backlog:
                await websocket.send_json(conn.backlog.popleft())
            while True:
                message = await conn.outbox.get()
                if message.get("type") == "close":  # the room asks to close this tab
                    await websocket.close(
                        code=message["code"], reason=_close_reason(message["reason"])
                    )
                    return
                await websocket.send_json(message)

        sender = asyncio.get_running_loop().create_task(pump())
        reason: str | None = None
        try:
            while reason is None:
                event = await websocket.receive()
                if event["type"] == "websocket.disconnect":
                    break
                raw = event.get("text")
                if raw is None:
                    reason = "bad message: send JSON text, not binary"
                elif not (bucket := _bucket_of(conn)).allow():
                    reason = (
                        f"too many messages: over {bucket.rate_per_sec:g} a second "
                        f"(bursts of {bucket.burst:g})"
                        + ("" if bucket is playing else " from a tab that plays nobody")
                    )
                elif not ws_buckets.allow(client):
                    reason = (
                        f"too many messages from this address: over "
                        f"{ws_buckets.rate_per_sec:g} a second over all its connections"
                    )
                else:
                    registry.expire()
                    try:
                        msg = parse_client_message(raw)
                    except InputError as exc:
                        reason = str(exc)
                        break
                    try:
                        await room.handle(conn, msg)
                    except CymbalismError as exc:
                        conn.deliver(
                            {"type": "error", "error": str(exc), "status": exc.http_status}
                        )
                    except Exception as exc:  # a bug must not cost the player the session
                        _log.exception("message %r in room %s failed", msg, room.code)
                        conn.deliver(
                            {
                                "type": "error",
                                "status": 500,
                                "error": f"internal error: {type(exc).__name__}: {exc}",
                            }
                        )
                if conn.closed and reason is None:
                    reason = "this device fell too far behind and was disconnected"
        except WebSocketDisconnect:
            pass
        finally:
            ws_open[client] -= 1
            if ws_open[client] <= 0:
                del ws_open[client]
            room.leave(conn)
            # flush what was queued (judgements the tab should still see), then stop
            with contextlib.suppress(Exception):
                while not conn.outbox.empty() and reason is None:
                    await websocket.send_json(conn.outbox.get_nowait())
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            if reason is not None and websocket.client_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close(code=1008, reason=_close_reason(reason))

    return app
