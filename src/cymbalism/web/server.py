"""Run the studio with uvicorn: bind, say where it is, serve until stopped."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cymbalism.errors import DeviceError, InputError, require
from cymbalism.web.tls import TlsFiles, load_tls, self_signed

__all__ = [
    "DEFAULT_PORT",
    "StoredCalibrations",
    "Studio",
    "addresses",
    "check_names",
    "is_loopback_host",
    "local_ips",
    "player_history",
    "render_stored_session",
    "run_studio",
    "session_report_html",
    "studio_config",
]

#: The studio's port unless told otherwise.
DEFAULT_PORT = 8737
_DNS_NAME = re.compile(
    r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


def is_loopback_host(host: str) -> bool:
    """Whether binding ``host`` keeps the studio on this computer."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError as exc:
        raise InputError(
            f"{host!r} is not an IP address to listen on; use 127.0.0.1 (this computer only) "
            "or 0.0.0.0 (every network interface)"
        ) from exc


def local_ips(host: str) -> list[str]:
    """The IP addresses a studio bound to ``host`` is reached at, loopback last."""
    if host not in ("0.0.0.0", "::"):
        return ["127.0.0.1" if host == "localhost" else host]
    found = {"127.0.0.1"}
    with contextlib.suppress(OSError):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the interface
            found.add(s.getsockname()[0])
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    return sorted(found, key=lambda a: (a == "127.0.0.1", a))


def addresses(host: str, port: int, *, tls: bool = False) -> list[str]:
    """The URLs people can open to reach a studio bound to ``host``."""
    scheme = "https" if tls else "http"
    return [f"{scheme}://{f'[{a}]' if ':' in a else a}:{port}/" for a in local_ips(host)]


def check_names(names: Sequence[str]) -> list[str]:
    """Host names given with ``--name``, checked: ``studio.lan``, not a URL or an address.

    Raises
    ------
    InputError
        For anything that is not a plain DNS name.
    """
    out = []
    for name in names:
        clean = name.strip().lower().rstrip(".")
        if not _DNS_NAME.fullmatch(clean) or clean.replace(".", "").isdigit():
            raise InputError(
                f"{name!r} is not a host name to answer to; give a name such as studio.lan "
                "(no scheme, port or address: the studio's own addresses are always allowed)"
            )
        out.append(clean)
    return out


class Studio:
    """A uvicorn server for a studio app, started in the foreground or in a thread.

    Parameters
    ----------
    app : fastapi.FastAPI
    host : str
    port : int
        0 picks a free port (see :attr:`port` once started).
    tls : TlsFiles, optional
        Serve HTTPS (and WSS) with this certificate and key.
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        tls: TlsFiles | None = None,
    ) -> None:
        uvicorn = require("uvicorn", "web")
        from cymbalism.web.protocol import MAX_FRAME_BYTES

        self.app = app
        self.host = host
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise DeviceError(
                f"cannot listen on {host}:{port} ({exc.strerror}); is another studio running? "
                "pick another port with --port"
            ) from exc
        self.port = int(self._sock.getsockname()[1])
        self.tls = tls
        config = uvicorn.Config(
            app,
            log_level="warning",
            ws="websockets-sansio",
            ws_max_size=MAX_FRAME_BYTES,
            lifespan="on",  # the app stops the songs still playing when it shuts down
            ws_ping_interval=None,
            ssl_certfile=None if tls is None else str(tls.certfile),
            ssl_keyfile=None if tls is None else str(tls.keyfile),
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return addresses(self.host, self.port, tls=self.tls is not None)[0]

    def run(
        self,
        *,
        stop_after_sec: float | None = None,
        on_ready: Callable[[Studio], None] | None = None,
    ) -> None:
        """Serve in this thread until Ctrl-C (or for ``stop_after_sec`` seconds)."""
        if stop_after_sec is not None:
            timer = threading.Timer(stop_after_sec, self.stop)
            timer.daemon = True
            timer.start()
        if on_ready is not None:
            on_ready(self)
        self.server.run(sockets=[self._sock])

    def start_in_thread(self, *, timeout_sec: float = 10.0) -> Studio:
        """Serve in a background thread; return once it accepts connections."""
        import time

        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_sec
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise DeviceError(f"the studio did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask the server to stop (and wait for its thread, if it has one)."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10.0)


def studio_config(
    *,
    db: str | None = None,
    require_code: bool = False,
    public_urls: list[str] | None = None,
    library: Sequence[Any] | None = None,
    names: Sequence[str] = (),
    host: str = "127.0.0.1",
) -> Any:
    """The studio as shipped: built-in songs, the live engine, the session store.

    Parameters
    ----------
    db : str, optional
        Database URL or SQLite path (default: ``$CYMBALISM_DB`` or the user's data folder).
    require_code : bool
        Whether other devices must join with a room code (the studio is on the network).
    public_urls : list of str, optional
        Where other devices reach the studio.
    library : sequence of SongRecord, optional
        The song folders of libraries to offer too (:func:`cymbalism.io.library.scan_library`).
    names : sequence of str
        Host names the studio answers to besides its addresses (``--name``).
    host : str
        The address it listens on (its own addresses are those of :func:`local_ips`).

    Returns
    -------
    config : cymbalism.web.app.StudioConfig
    """
    from cymbalism.live.clock import NS_PER_SEC, MonotonicClock
    from cymbalism.store import Store
    from cymbalism.web.app import StudioConfig
    from cymbalism.web.duet import DuetEngine
    from cymbalism.web.library import SongShelf
    from cymbalism.web.rooms import Room

    clock = MonotonicClock()
    store = Store(db)
    store.recover_unsaved()
    shelf = SongShelf(library or ())

    def engine_factory(room: Room, count_in_start_sec: float) -> DuetEngine:
        players = DuetEngine.players_of(room)
        store.recover_unsaved()  # the end of a song the database refused before
        writer = store.start_session(
            room.chart, players, settings=DuetEngine.settings_of(room), source="browser"
        )
        return DuetEngine(room, count_in_start_sec, clock=clock, recorder=writer)

    def check_room(room: Room) -> None:
        DuetEngine(room, clock.now_ns() / NS_PER_SEC, clock=clock)  # nothing is stored

    return StudioConfig(
        load_song=shelf.chart,
        list_songs=shelf.names,
        song_folder=shelf.folder,
        shelf=shelf,
        engine_factory=engine_factory,
        require_code=require_code,
        clock=lambda: clock.now_ns() / NS_PER_SEC,
        public_urls=list(public_urls or []),
        names=check_names(names),
        addresses=lambda: set(local_ips(host)),
        history=lambda name: player_history(store, name),
        report_html=lambda session_id: session_report_html(store, session_id),
        render=lambda session_id, song, fmt: render_stored_session(store, session_id, fmt),
        store_kept_aside=lambda: store_kept_aside(store),
        calibrations=StoredCalibrations(store),
        check_room=check_room,
    )


class StoredCalibrations:
    """The studio's latencies in the store's calibrations table, per player and input
    (a :class:`cymbalism.web.rooms.CalibrationBook`)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def recall(self, player: str, input: str) -> float | None:
        return self.store.calibration(input, player=player)  # type: ignore[no-any-return]

    def remember(self, player: str, input: str, offset_sec: float, taps: int) -> None:
        self.store.add_calibration(input, offset_sec, n=taps, player=player)


def player_history(store: Any, name: str) -> dict[str, Any]:
    """A player's sessions, oldest first, for the page's history table (JSON-ready)."""
    import math

    from cymbalism.report.history import player_history as history_rows

    def ms(sec: float | None) -> float | None:
        return None if sec is None or math.isnan(sec) else round(sec * 1000.0, 1)

    rows = history_rows(store, name)
    return {
        "player": name,
        "sessions": [
            {
                "id": r.session_id,
                "when": r.started_at.strftime("%Y-%m-%d %H:%M"),
                "song": r.title,
                "partner": ", ".join(r.partners),
                "level": r.level_reached.label,
                "hit_rate": None if math.isnan(r.hit_rate) else r.hit_rate,
                "mean_error_ms": ms(r.mean_error_sec),
                "sd_error_ms": ms(r.sd_error_sec),
                "came_together_sec": r.came_together_sec,
                "status": r.status,
            }
            for r in rows
        ],
    }


def render_stored_session(store: Any, session_id: Any, fmt: str) -> Any:
    """A stored session rendered to an audio file with its song's recording (``render``),
    found where the session noted it (:func:`cymbalism.sound.audio.audio_for_chart`: a
    built-in song's, or a library song's folder).

    Parameters
    ----------
    store : Store
    session_id : int or str
    fmt : str
        ``ogg``, ``flac`` or ``wav``.

    Returns
    -------
    Path
        A temporary file.
    """
    from cymbalism.sound.audio import audio_for_chart
    from cymbalism.web.music import render_session_file

    session = store.load(store.resolve(str(session_id))).session
    audio, _ = audio_for_chart(session.chart)
    return render_session_file(session, audio, fmt)


def store_kept_aside(store: Any) -> set[int]:
    """Store the ends of sessions the database refused before; the ids still waiting."""
    from cymbalism.store.unsaved import waiting_sessions

    store.recover_unsaved()
    return waiting_sessions(store)


def session_report_html(store: Any, session_id: str) -> str:
    """The self-contained HTML report of a stored session."""
    from cymbalism.report.analysis import analyse_stored
    from cymbalism.report.html import render_html

    return str(render_html(analyse_stored(store.load(store.resolve(session_id)))))


def run_studio(
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    db: str | None = None,
    library: Sequence[Any] | None = None,
    stop_after_sec: float | None = None,
    tls: bool = False,
    certfile: str | Path | None = None,
    keyfile: str | Path | None = None,
    tls_folder: str | Path | None = None,
    names: Sequence[str] = (),
    say: Callable[[str], None] = print,
) -> None:
    """Serve the studio in the foreground and say where it is (``cymbalism serve``).

    Parameters
    ----------
    library : sequence of SongRecord, optional
        The records of song libraries to offer too (``--songs``).
    tls : bool
        Serve HTTPS with the self-signed certificate kept in ``tls_folder`` (made on first
        use, see :func:`cymbalism.web.tls.self_signed`).
    certfile, keyfile : path, optional
        Serve HTTPS with your own certificate and key (both, PEM).
    names : sequence of str
        Host names the studio answers to besides its own addresses.
    """
    from cymbalism.web.app import create_app

    local = is_loopback_host(host)
    names = check_names(names)
    if (certfile is None) != (keyfile is None):
        raise InputError("give both --certfile and --keyfile (or neither, with --tls)")
    files: TlsFiles | None = None
    if certfile is not None and keyfile is not None:
        files = load_tls(certfile, keyfile)
    elif tls:
        files = self_signed(tls_folder, names=names, addresses=local_ips(host))
    config = studio_config(db=db, require_code=not local, names=names, host=host, library=library)
    studio = Studio(create_app(config), host=host, port=port, tls=files)
    urls = addresses(host, studio.port, tls=files is not None)
    scheme = "https" if files is not None else "http"
    urls += [f"{scheme}://{n}:{studio.port}/" for n in names]
    if not local:
        config.public_urls = urls

    def ready(s: Studio) -> None:
        say(f"cymbalism studio: open {urls[0]} in a browser")
        if local:
            say("  (this computer only; `cymbalism serve --host 0.0.0.0 --tls` lets a phone join)")
        else:
            for u in urls[1:]:
                say(f"  also at {u}; other devices join with the room code")
        if files is not None:
            made = " (made now)" if files.made else ""
            kind = "self-signed certificate" if files.self_signed else "certificate"
            say(f"  HTTPS with the {kind}{made} in {files.certfile.parent}")
            say("  its SHA-256 fingerprint (a browser that warns should show the same):")
            half = len(files.fingerprint) // 2 + 1
            say(f"    {files.fingerprint[: half - 1]}")
            say(f"    {files.fingerprint[half:]}")
        elif not local:
            say(
                "  without --tls, other devices get no Web MIDI, worklets or microphone "
                "(browsers allow them only over HTTPS)"
            )
        say(
            "  Ctrl-C stops it"
            + (
                f"; stopping by itself after {stop_after_sec:g} s"
                if stop_after_sec is not None
                else ""
            )
        )

    studio.run(stop_after_sec=stop_after_sec, on_ready=ready)
