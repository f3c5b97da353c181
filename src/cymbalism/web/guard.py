"""The studio's door: every HTTP request and WebSocket handshake is checked here first.

- **Host** must name this server: one of its own addresses (the address the connection
  came in on, a loopback address, or an address the server listens on), ``localhost``,
  or a name it was given (``cymbalism serve --name``). A page on another site whose
  name was pointed at this computer (DNS rebinding) is refused.
- **Origin**, when a browser sends one, must be the studio's own page: the same scheme,
  host and port as the request. Another website's script can neither open a socket nor
  post a room.
- A request that changes something (``POST``) must be JSON, which an HTML form on
  another site cannot send without the browser asking first.
- Each client address has a token bucket (:class:`~cymbalism.web.ratelimit.AddressBuckets`);
  a WebSocket handshake costs a token like a request.

A refused request gets one JSON error body; a refused handshake is closed before it is
accepted.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from cymbalism.web.ratelimit import AddressBuckets, client_key

__all__ = ["NetworkGuard", "split_host"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
_CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


def split_host(value: str, scheme: str = "http") -> tuple[str, int] | None:
    """``"Example.org:8737"`` -> ``("example.org", 8737)``; the scheme's port if none.

    IPv6 literals keep no brackets. None if the value cannot be a host.
    """
    try:
        parts = urlsplit(f"//{value}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or parts.username is not None or parts.path or parts.query:
        return None
    return host.rstrip("."), port if port is not None else _DEFAULT_PORTS.get(scheme, 80)


def _is_own_ip(host: str, own: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or str(ip) in own


class NetworkGuard:
    """ASGI middleware: Host, Origin, JSON bodies and a rate per client address.

    Parameters
    ----------
    app : ASGI application
    names : iterable of str
        Host names the studio answers to besides its addresses and ``localhost``.
    addresses : callable returning a set of str
        The IP addresses the server listens on (read on each request, so a changed
        network is followed).
    limits : AddressBuckets
        Requests and handshakes per client address.
    """

    def __init__(
        self,
        app: Any,
        *,
        names: Iterable[str] = (),
        addresses: Callable[[], set[str]] = set,
        limits: AddressBuckets,
    ) -> None:
        self.app = app
        self.names = {"localhost", *(n.lower().rstrip(".") for n in names)}
        self.addresses = addresses
        self.limits = limits

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.check(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, message = refusal
        if scope["type"] == "websocket":
            await receive()  # the handshake ("websocket.connect")
            await send({"type": "websocket.close", "code": 4000 + status, "reason": message})
            return
        body = json.dumps({"error": message, "status": status}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if status == 429:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def check(self, scope: dict[str, Any]) -> tuple[int, str] | None:
        """None if the request may pass, else (HTTP status, why)."""
        client = client_key(scope["client"][0] if scope.get("client") else None)
        if not self.limits.allow(client):
            return 429, f"too many requests: over {self.limits.rate_per_sec:g} a second"
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scheme = scope.get("scheme", "http")
        host = split_host(headers.get("host", ""), scheme)
        if host is None:
            return 400, "the request names no valid Host"
        server = scope.get("server")
        own = self.addresses() | ({str(server[0])} if server else set())
        if host[0] not in self.names and host[0] not in own and not _is_own_ip(host[0], own):
            return 403, (
                f"this studio does not answer to the name {host[0][:80]!r}; open it by its "
                "address, or start it with `--name` for that name"
            )
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin, scheme, host):
            return 403, f"requests from other websites are refused (Origin {origin[:80]!r})"
        if scope["type"] == "http" and scope["method"] in _CHANGES:
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/json":
                return 415, "send the request as JSON (Content-Type: application/json)"
        return None

    @staticmethod
    def _same_origin(origin: str, scheme: str, host: tuple[str, int]) -> bool:
        parts = urlsplit(origin)
        secure = scheme in ("https", "wss")
        if parts.scheme != ("https" if secure else "http"):
            return False
        return split_host(parts.netloc, parts.scheme) == host
