"""Session references: how people name a stored session.

A reference is a session's number (``12``) or a word for the newest session (``last``,
``latest``), in any case, with spaces around it allowed. :meth:`Store.resolve
<cymbalism.store.Store.resolve>` turns one into a session id; every command and the
studio read references through it, so they all accept the same ones.
"""

from __future__ import annotations

from cymbalism.errors import InputError

__all__ = ["LATEST_WORDS", "is_session_ref", "parse_session_ref"]

#: The words that name the newest session.
LATEST_WORDS = frozenset({"last", "latest"})


def parse_session_ref(token: str | int) -> int | None:
    """The session number a reference names, or None for the newest session.

    Raises
    ------
    InputError
        If ``token`` is neither a positive whole number nor one of :data:`LATEST_WORDS`.
    """
    if isinstance(token, int) and not isinstance(token, bool) and token > 0:
        return token
    text = str(token).strip().lower()
    if text in LATEST_WORDS:
        return None
    if text.isascii() and text.isdigit() and int(text) > 0:
        return int(text)
    raise InputError(
        f"{token!r} is not a session; give its number (see `cymbalism sessions`) or 'last'"
    )


def is_session_ref(token: str | int) -> bool:
    """Whether ``token`` reads as a session reference (for arguments that also take files)."""
    try:
        parse_session_ref(token)
    except InputError:
        return False
    return True
