"""Run the studio with uvicorn: bind, say where it is, serve until stopped."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any

from cymbalism.errors import DeviceError, InputError, require

__all__ = ["DEFAULT_PORT", "Studio", "addresses", "is_loopback_host"]

#: The studio's port unless told otherwise.
DEFAULT_PORT = 8737


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


def addresses(host: str, port: int) -> list[str]:
    """The URLs people can open to reach a studio bound to ``host``."""
    if host not in ("0.0.0.0", "::"):
        shown = "127.0.0.1" if host == "localhost" else host
        return [f"http://{shown}:{port}/"]
    found = {"127.0.0.1"}
    with contextlib.suppress(OSError):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the interface
            found.add(s.getsockname()[0])
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    return [f"http://{a}:{port}/" for a in sorted(found, key=lambda a: (a == "127.0.0.1", a))]


class Studio:
    """A uvicorn server for a studio app, started in the foreground or in a thread.

    Parameters
    ----------
    app : fastapi.FastAPI
    host : str
    port : int
        0 picks a free port (see :attr:`port` once started).
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        uvicorn = require("uvicorn", "web")
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
        config = uvicorn.Config(
            app, log_level="warning", ws="websockets", lifespan="off", ws_ping_interval=None
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return addresses(self.host, self.port)[0]

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
