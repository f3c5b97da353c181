"""The studio's HTTP and WebSocket server (FastAPI).

Routes
------
``GET /``                           the studio page (static HTML, CSS and JavaScript)
``GET /api/info``                   lanes, key sets, MIDI note map, whether codes are required
``GET /api/songs``                  the built-in songs
``GET /api/library?q=&offset=&limit=`` search every song (built-in, then the libraries')
``GET /api/songs/{name}``           one song (bars, levels, sections)
``GET /api/songs/{name}/audio``     the files of a song's recording and its offset
``GET /api/songs/{name}/audio/{stem}`` one of those files, as it is
``GET /kit/...``                    the sampled kit (kit.json, FLAC files, license)
``POST /api/rooms``                 open a room for a song and two players
``GET /api/rooms``                  open rooms (only when the studio is not on the network)
``GET /api/rooms/{code}``           one room
``WS  /ws/{code}``                  play: clock round trips, claims, hits, judgements
``GET /api/sessions/{id}/report``   a finished session's HTML report
``GET /api/rooms/{code}/render``    the finished duet rendered to audio (``?format=ogg``)
``GET /api/players/{name}/history`` a player's sessions over time

Every error is one JSON body ``{"error": "...", "status": N}``. Every message is
validated (:mod:`cymbalism.web.protocol`) and every connection is rate-limited
(:class:`cymbalism.web.ratelimit.TokenBucket`); a WebSocket client that sends garbage
or floods is closed with one reason, and its room carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import numpy as np

from cymbalism import __version__
from cymbalism.errors import CymbalismError, InputError, NotFoundError, require
from cymbalism.model.chart import GHOST_MAX_VELOCITY, NORMAL_VELOCITY, Chart, Level
from cymbalism.model.lanes import GM_NOTE_TO_LANE, Lane
from cymbalism.web.library import MAX_LIMIT, SongShelf
from cymbalism.web.music import RENDER_FORMATS, SongAudioInfo, audio_file, song_audio_info
from cymbalism.web.protocol import CreateRoom, describe_validation_error, parse_client_message
from cymbalism.web.ratelimit import TokenBucket
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
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse  # noqa: E402
from fastapi.staticfiles import StaticFiles  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from starlette.background import BackgroundTask  # noqa: E402
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
        Token bucket of each WebSocket connection.
    http_rate_per_sec, http_burst : float
        Token bucket of each HTTP connection.
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
        audio file (removed once sent).
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
    ws_rate_per_sec: float = 60.0
    ws_burst: float = 120.0
    http_rate_per_sec: float = 30.0
    http_burst: float = 90.0
    public_urls: list[str] = field(default_factory=list)
    report_html: Callable[[Any], str] | None = None
    history: Callable[[str], dict[str, Any]] | None = None
    song_folder: Callable[[str], Path | None] = lambda name: None
    render: Callable[[Any, str, str], Path] | None = None
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


def _error_body(message: str, status: int) -> dict[str, Any]:
    return {"error": message, "status": status}


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
        "levels": [lv.label for lv in chart.levels],
        "sections": song_sections(chart),
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
    end_qn = float(chart.tempo_map.bar_to_qn(n_bars))
    parts = {lv: part.between(0.0, end_qn) for lv, part in chart.parts.items()}
    return replace(
        chart,
        parts={lv: p for lv, p in parts.items() if len(p)},
        end_qn=end_qn,
        sections=tuple((q, name) for q, name in chart.sections if q < end_qn),
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
    app = fastapi.FastAPI(
        title="cymbalism studio",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.config = config
    registry = RoomRegistry()
    app.state.rooms = registry
    http_buckets: OrderedDict[str, TokenBucket] = OrderedDict()

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

    @app.middleware("http")
    async def _rate_limit(request: Request, call_next: Any) -> Any:
        client = request.client
        key = f"{client.host}:{client.port}" if client else "?"
        bucket = http_buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate_per_sec=config.http_rate_per_sec, burst=config.http_burst)
            http_buckets[key] = bucket
            while len(http_buckets) > 4096:
                http_buckets.popitem(last=False)
        if not bucket.allow():
            return JSONResponse(
                _error_body(f"too many requests: over {config.http_rate_per_sec:g} a second", 429),
                status_code=429,
            )
        return await call_next(request)

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
            "levels": [lv.label for lv in Level],
            "key_sets": {
                k: {code: int(lane) for code, lane in v.items()} for k, v in KEY_SETS.items()
            },
            "midi_notes": {str(n): int(lane) for n, lane in GM_NOTE_TO_LANE.items()},
        }

    @app.get("/api/songs")
    async def songs() -> list[dict[str, Any]]:
        return [song_summary(name, config.load_song(name)) for name in config.list_songs()]

    @app.get("/api/library")
    async def library(
        q: Annotated[str, Query(max_length=200)] = "",
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    ) -> dict[str, Any]:
        if config.shelf is None:
            raise NotFoundError("this studio serves no song library")
        return config.shelf.search(q, offset=offset, limit=limit)

    @app.get("/api/songs/{name}")
    async def song(name: str) -> dict[str, Any]:
        chart = await asyncio.to_thread(config.load_song, name)
        return song_summary(name, chart)

    audio_infos: OrderedDict[str, SongAudioInfo] = OrderedDict()

    def _audio_info(name: str) -> SongAudioInfo:
        info = audio_infos.get(name)
        if info is None:
            chart = config.load_song(name)  # a clear NotFoundError for an unknown song
            folder = config.song_folder(name)
            info = song_audio_info(name, chart, folder)
            if config.shelf is not None and folder is not None:
                config.shelf.keep_servable(name, info)
            audio_infos[name] = info
            while len(audio_infos) > 256:
                audio_infos.popitem(last=False)
        return info

    @app.get("/api/songs/{name}/audio")
    async def song_audio(name: str) -> dict[str, Any]:
        info = await asyncio.to_thread(_audio_info, name)
        return info.public(lambda stem: f"/api/songs/{quote(name, safe='')}/audio/{stem}")

    @app.get("/api/songs/{name}/audio/{stem}")
    async def song_audio_file(name: str, stem: str) -> Any:
        info = await asyncio.to_thread(_audio_info, name)
        path = audio_file(info, stem)
        if config.shelf is not None and config.song_folder(name) is not None:
            path = config.shelf.audio_path(name, path)  # found by the scan, in its folder
        return FileResponse(str(path), media_type=_AUDIO_TYPES.get(path.suffix.lower()))

    @app.post("/api/rooms")
    async def create_room(request: Request) -> dict[str, Any]:
        _local_only(request, "rooms can be opened")
        body = await request.body()
        try:
            req = CreateRoom.model_validate_json(body)
        except ValidationError as exc:
            raise InputError(f"bad room request: {describe_validation_error(exc)}") from None
        if len(req.levels) != len(req.players):
            raise InputError(
                f"give one level per player: {len(req.players)} player(s), "
                f"{len(req.levels)} level(s)"
            )
        names = [n.strip() for n in req.players]
        if len(set(names)) != len(names) or not all(names):
            raise InputError(f"players need different, non-empty names, got {names}")
        chart = config.load_song(req.song)
        if req.last_bar is not None:
            chart = first_bars(chart, req.last_bar)
        levels = [Level.parse(x) for x in req.levels]
        for lv in levels:
            chart.part(lv)  # a clear NotFoundError for a level the song lacks
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
        return room.public()

    @app.get("/api/rooms")
    async def list_rooms(request: Request) -> list[dict[str, Any]]:
        _local_only(request, "rooms are listed")
        return [r.public() for r in registry.list() if r.state != "finished"]

    @app.get("/api/rooms/{code}")
    async def get_room(code: str) -> dict[str, Any]:
        return registry.get(code).public()

    @app.get("/api/sessions/{session_id}/report", response_class=HTMLResponse)
    async def report(session_id: str) -> HTMLResponse:
        if config.report_html is None:
            raise NotFoundError("this studio keeps no reports")
        html = await asyncio.to_thread(config.report_html, session_id)
        return HTMLResponse(html)

    @app.get("/api/rooms/{code}/render")
    async def render(code: str, format: str = "ogg") -> Any:
        room = registry.get(code)
        if config.render is None:
            raise NotFoundError("this studio keeps no sessions to render")
        if format not in RENDER_FORMATS:
            raise InputError(f"a render is one of {', '.join(RENDER_FORMATS)}, got {format!r}")
        if room.state != "finished" or room.session_id is None:
            raise InputError("the duet can be rendered once it has ended and been stored")
        path = await asyncio.to_thread(config.render, room.session_id, room.song, format)
        return FileResponse(
            str(path),
            media_type=RENDER_FORMATS[format],
            filename=f"cymbalism-{room.song}-{room.session_id}.{format}",
            background=BackgroundTask(path.unlink, missing_ok=True),
        )

    @app.get("/api/players/{name}/history")
    async def history(name: str) -> dict[str, Any]:
        if config.history is None:
            raise NotFoundError("this studio keeps no history")
        return await asyncio.to_thread(config.history, name)

    # ------------------------------------------------------------------ play
    @app.websocket("/ws/{code}")
    async def play(websocket: WebSocket, code: str) -> None:
        await websocket.accept()
        try:
            room = registry.get(code)
        except NotFoundError as exc:
            await websocket.close(code=4404, reason=_close_reason(str(exc)))
            return
        conn = Connection(id=registry.next_connection_id())
        bucket = TokenBucket(rate_per_sec=config.ws_rate_per_sec, burst=config.ws_burst)
        room.join(conn)

        async def pump() -> None:
            while True:
                message = await conn.outbox.get()
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
                elif not bucket.allow():
                    reason = (
                        f"too many messages: over {config.ws_rate_per_sec:g} a second "
                        f"(bursts of {config.ws_burst:g})"
                    )
                else:
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
