"""The studio's wire protocol: every message a browser may send, validated strictly.

Messages are JSON objects with a ``"type"`` field. Each type is a pydantic model in
strict mode with no extra fields, so a message either means exactly one thing or is
rejected with one :class:`~cymbalism.errors.InputError` that says what was wrong.

Times from the browser are milliseconds on the page's own clock (``performance.now()``
or a Web MIDI event's ``timeStamp``), named ``*_ms``; the server turns them into seconds
on its clock with :class:`cymbalism.web.clocksync.ClockSync`.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from cymbalism.errors import InputError
from cymbalism.model.lanes import Lane

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "Calibrate",
    "Claim",
    "ClientMessage",
    "CreateRoom",
    "Hit",
    "Ping",
    "Start",
    "Stop",
    "SyncSample",
    "parse_client_message",
]

#: Longer messages (in bytes of UTF-8) are rejected before they are parsed.
MAX_MESSAGE_BYTES = 4096
#: The longest WebSocket message the server reads at all; a longer one closes the
#: connection (1009) before it is held in memory. One between the two is refused with
#: a message, and the connection stays open.
MAX_FRAME_BYTES = 4 * MAX_MESSAGE_BYTES

#: A browser clock reading: ``performance.now()`` starts at 0 when the page opens.
ClientMs = Annotated[float, Field(ge=0.0, le=1e10, allow_inf_nan=False)]
PlayerIndex = Annotated[int, Field(ge=0, le=1)]
InputKind = Literal["keys1", "keys2", "midi", "touch"]


class _Message(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Ping(_Message):
    """Start a clock round trip; the server answers with its time."""

    type: Literal["ping"]
    client_ms: ClientMs


class SyncSample(_Message):
    """A finished round trip: sent at ``send_ms``, the server read ``server_sec``,
    the answer arrived at ``recv_ms``."""

    type: Literal["sync"]
    send_ms: ClientMs
    server_sec: Annotated[float, Field(allow_inf_nan=False)]
    recv_ms: ClientMs


#: The secret a browser keeps to take its seat back after a reload or a dropped line.
SeatToken = Annotated[str, Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class Claim(_Message):
    """Play as a player of the room from this connection, with an input; ``seat`` (the
    token the server gave this browser for the player) takes the seat back mid-song."""

    type: Literal["claim"]
    player: PlayerIndex
    input: InputKind = "keys1"
    seat: SeatToken | None = None


class Calibrate(_Message):
    """The input latency the page measured (tap along to clicks; median offset)."""

    type: Literal["calibrate"]
    player: PlayerIndex
    offset_ms: Annotated[float, Field(ge=-250.0, le=500.0, allow_inf_nan=False)]
    taps: Annotated[int, Field(ge=0, le=64)] = 0


class Start(_Message):
    """Count in and start the song."""

    type: Literal["start"]


class Stop(_Message):
    """End the song now and store what was played."""

    type: Literal["stop"]


class Hit(_Message):
    """One stroke, stamped in the browser when it happened."""

    type: Literal["hit"]
    player: PlayerIndex
    t_ms: ClientMs
    lane: Annotated[int, Field(ge=0, le=max(Lane))]
    velocity: Annotated[int, Field(ge=1, le=127)] = 100
    seq: Annotated[int, Field(ge=0, le=2**31)] = 0


ClientMessage = Annotated[
    Ping | SyncSample | Claim | Calibrate | Start | Stop | Hit, Field(discriminator="type")
]
_ADAPTER: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


BarNumber = Annotated[int, Field(ge=1, le=100_000)]

#: Characters that reorder the text around them (bidirectional embeddings, overrides and
#: isolates): a name holding one shows differently from what it is.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _printable(name: str) -> str:
    """``name`` if it holds no control character (a NUL, an escape, a line break, a
    bidirectional override), which would be refused by PostgreSQL or rewrite the
    terminal or page that shows it."""
    bad = next((c for c in name if unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS), None)
    if bad is not None:
        raise ValueError(f"a name cannot hold a control character such as {bad!r}")
    return name


PlayerName = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_printable)]


class CreateRoom(_Message):
    """The body of ``POST /api/rooms``: a song, two players and their levels, and how to
    practise it: from ``start_bar``, or ``loop_bars`` (first, last) ``loop_repeats`` times
    with the tempo ``ramp_percent`` points faster each time up to ``ramp_to_percent``;
    ``last_bar`` stops the song early. Whether the engine can play it all is checked when
    the room is opened."""

    song: Annotated[str, Field(min_length=1, max_length=80)]
    players: Annotated[list[PlayerName], Field(min_length=1, max_length=2)]
    levels: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=20)]], Field(min_length=1, max_length=2)
    ]
    tempo_percent: Annotated[int, Field(ge=40, le=150)] = 100
    count_in_bars: Annotated[int, Field(ge=0, le=4)] = 1
    last_bar: BarNumber | None = None
    start_bar: BarNumber | None = None
    loop_bars: tuple[BarNumber, BarNumber] | None = None
    loop_repeats: Annotated[int, Field(ge=1, le=50)] = 4
    ramp_percent: Annotated[int, Field(ge=0, le=25)] = 0
    ramp_to_percent: Annotated[int, Field(ge=40, le=150)] = 100
    lesson: bool = True


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Parse and validate one message from a browser.

    Parameters
    ----------
    raw : str or bytes
        The text of a WebSocket message (UTF-8 JSON).

    Returns
    -------
    message : Ping | SyncSample | Claim | Calibrate | Start | Stop | Hit

    Raises
    ------
    InputError
        If the message is too long, not JSON, of an unknown type, or a field is missing,
        extra, of the wrong type or out of range. The message names the first problem.
    """
    size = len(raw.encode("utf-8", "surrogatepass")) if isinstance(raw, str) else len(raw)
    if size > MAX_MESSAGE_BYTES:
        raise InputError(f"message of {size} bytes is over the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        return _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise InputError(f"bad message: {describe_validation_error(exc)}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem of a pydantic error in a few words: ``"lane: ... (got 12)"``."""
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(x) for x in err.get("loc", ())) or "message"
    got = err.get("input")
    got_text = repr(got) if isinstance(got, int | float | str) and len(repr(got)) < 30 else ""
    return f"{where}: {err['msg']}" + (f" (got {got_text})" if got_text else "")
