"""Text files of unknown encoding: decided by the byte-order mark and by what decodes cleanly.

Chart files and song.ini files come from many editors and many years: UTF-8 with or
without a byte-order mark (BOM), UTF-16 with a BOM (Windows "Unicode"), and Windows-1252
or Latin-1 from older tools. A file's length says nothing about its encoding; its first
bytes and whether it decodes cleanly do:

1. a BOM names the encoding (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); a byte that does not
   decode in it (one Latin-1 word pasted into a UTF-8 file) is read as in step 4;
2. text with a zero byte in every other position is UTF-16 without a BOM;
3. otherwise text that decodes as UTF-8 is UTF-8 (text in a legacy 8-bit encoding
   almost never does, unless it is plain ASCII, which reads the same either way);
4. anything else is Windows-1252, or Latin-1 where Windows-1252 leaves a byte undefined.

Tables for research (:mod:`cymbalism.io.tables`) stop at step 3: a table in an unknown
8-bit encoding, or one that does not decode in the encoding its BOM names, gets one
clear error rather than a guess.
"""

from __future__ import annotations

import codecs

from cymbalism.errors import InputError

__all__ = ["decode_text"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _legacy_byte(exc: UnicodeError) -> tuple[str, int]:
    """A decoding error handler: the first byte that does not decode, read as Windows-1252
    (Latin-1 where Windows-1252 leaves it undefined)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    byte = exc.object[exc.start : exc.start + 1]
    try:
        return byte.decode("cp1252"), exc.start + 1
    except UnicodeDecodeError:
        return byte.decode("latin-1"), exc.start + 1


codecs.register_error("cymbalism-legacy", _legacy_byte)


def _zero_pattern(raw: bytes) -> str | None:
    """UTF-16 without a BOM: ASCII text has a zero byte in every other position."""
    head = raw[:4096]
    if len(head) < 4 or len(head) % 2:
        head = head[: len(head) - len(head) % 2]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def decode_text(raw: bytes, *, source: str = "the file", legacy: bool = True) -> str:
    """Decode a text file's bytes, choosing the encoding by its BOM and by clean decoding.

    Parameters
    ----------
    raw : bytes
        The whole file.
    source : str
        The file's name, for error messages.
    legacy : bool
        Whether text that is not Unicode may be read as Windows-1252 / Latin-1 (step 4
        above). Without it such text is an error.

    Returns
    -------
    text : str
        The text without its BOM.

    Raises
    ------
    InputError
        If (``legacy=False``) the text is not UTF-8, or does not decode in the encoding
        its BOM names.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                if legacy:
                    return raw[len(bom) :].decode(encoding, errors="cymbalism-legacy")
                raise InputError(
                    f"{source} starts with a {encoding.upper()} byte-order mark but is not "
                    f"{encoding.upper()} text (byte {exc.start + len(bom)} does not decode)"
                ) from None
    guess = _zero_pattern(raw)
    if guess is not None:
        try:
            return raw.decode(guess)
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not legacy:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise InputError(
                f"{source} is not UTF-8 text: byte {raw[exc.start]:#04x} on line {line} does "
                "not decode (it was probably saved as Latin-1 or Windows-1252); save it as UTF-8"
            ) from None
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
