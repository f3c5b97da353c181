"""Errors that carry their meaning.

Every error a user can cause is a :class:`CymbalismError`. Each subclass maps to one
HTTP status (the web API) and one exit code (the command line), so the front ends
only format; they never decide what an error means.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class CymbalismError(Exception):
    """Base class of every error cymbalism raises on purpose."""

    http_status: int = 500
    exit_code: int = 1


class CymbalismWarning(UserWarning):
    """Base class of every warning cymbalism gives on purpose: something a user should
    know that loses nothing (the command line prints it as one yellow line)."""


class InputError(CymbalismError, ValueError):
    """A bad file, argument or message: HTTP 422, exit code 2."""

    http_status = 422
    exit_code = 2


class NotFoundError(CymbalismError, LookupError):
    """An unknown song, session, player or port: HTTP 404, exit code 1."""

    http_status = 404
    exit_code = 1


class AccessError(CymbalismError, PermissionError):
    """Not allowed from here or by this client (another website, a spectator): HTTP 403."""

    http_status = 403
    exit_code = 1


class LimitError(CymbalismError):
    """Too many requests, rooms or wrong codes from one client for now: HTTP 429."""

    http_status = 429
    exit_code = 1


class DeviceError(CymbalismError, OSError):
    """A MIDI port that is gone, no audio device: HTTP 503, exit code 1."""

    http_status = 503
    exit_code = 1


class MissingExtraError(CymbalismError, ImportError):
    """An optional dependency is not installed: HTTP 501, exit code 1."""

    http_status = 501
    exit_code = 1


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it.

    Parameters
    ----------
    module : str
        The module to import, such as ``"librosa"``.
    extra : str
        The name of the optional extra of cymbalism that provides it, such as ``"audio"``.

    Returns
    -------
    module : ModuleType

    Raises
    ------
    MissingExtraError
        If the module cannot be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"this needs the optional package {module!r}: "
            f"install it with `pip install 'cymbalism[{extra}]'`"
        ) from exc
