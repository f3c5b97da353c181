"""The sound card: the one place cymbalism reaches PortAudio (python-sounddevice).

``import sounddevice`` starts PortAudio, and PortAudio connects to every audio system it
finds, a running JACK server included. It is therefore imported only when a device is
really opened (:func:`portaudio`), never when cymbalism is imported, and tests put a
fake module in its place at this boundary (``monkeypatch`` the caller's
``_sounddevice``).
"""

from __future__ import annotations

from typing import Any

from cymbalism.errors import DeviceError, require

__all__ = ["portaudio"]


def portaudio(what: str) -> Any:
    """The ``sounddevice`` module, imported (and PortAudio started) on first use.

    Parameters
    ----------
    what : str
        What needs it, for the error: ``"sound output"``, ``"audio input"``.

    Raises
    ------
    MissingExtraError
        If sounddevice is not installed (the ``live`` extra).
    DeviceError
        If the PortAudio library itself is missing.
    """
    try:
        return require("sounddevice", "live")
    except OSError as exc:  # the PortAudio library itself is missing
        raise DeviceError(
            f"{what} needs the PortAudio library (Debian: libportaudio2): {exc}"
        ) from exc
