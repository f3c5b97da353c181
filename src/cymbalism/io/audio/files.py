"""Opening sound files: libsndfile for the formats it reads, FFmpeg for the rest.

Drummers record on phones and cameras as often as on audio interfaces: a voice memo is
an ``.m4a`` (AAC or ALAC), a video is an ``.mp4`` or ``.mov``, a browser records
``.webm``. libsndfile (through soundfile) reads WAV, FLAC, Ogg (Vorbis or Opus), MP3,
AIFF and CAF; every other file is decoded by FFmpeg through PyAV, the audio stream of
a video included. Both give the same thing: float32 frames (frames first, one column
per channel), block by block at the file's own sample rate, so memory stays bounded
however long the file is.

A file's time zero is its first sample as its container places it: the priming samples
an AAC encoder puts before the sound are dropped as the file's edit list says, so a hit
at 1.000 s in the recording is read at 1.000 s whatever the format.

A file that stops being readable partway raises :class:`AudioBrokeOff` from
:meth:`SoundSource.blocks` after the last good block, saying where: what was read
before is kept by the callers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from cymbalism.errors import InputError, NotFoundError, require

__all__ = [
    "FFMPEG_SUFFIXES",
    "READABLE_FORMATS",
    "SNDFILE_SUFFIXES",
    "SOUND_SUFFIXES",
    "AudioBrokeOff",
    "SoundSource",
    "encode_with_ffmpeg",
    "open_sound",
]

#: What libsndfile reads (MP3 and Opus since libsndfile 1.1, which the soundfile wheel has).
SNDFILE_SUFFIXES = (
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".caf",
)  # fmt: skip
#: What FFmpeg decodes here: phone voice memos, videos, browser and streaming formats.
FFMPEG_SUFFIXES = (
    ".m4a", ".mp4", ".mov", ".m4v", ".aac", ".alac", ".webm", ".mkv", ".mka", ".wma",
    ".wmv", ".3gp", ".amr", ".ac3", ".avi",
)  # fmt: skip
_VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".webm", ".mkv", ".wmv", ".3gp", ".avi"})
#: Formats (FFmpeg's demuxer names) that do not say where the sound starts after the
#: encoder's delay: synthetic hits read back from FFmpeg's own encoders were 23 ms late
#: (raw AAC), 6 ms late (AC-3) and 46 ms early (WMA), where M4A, MP4, 3GP, MKV, WebM and
#: Ogg gave them to the sample.
_NO_START = {"aac": "a raw AAC stream", "ac3": "an AC-3 stream", "asf": "a Windows Media file"}
#: Every file suffix read as sound.
SOUND_SUFFIXES = SNDFILE_SUFFIXES + FFMPEG_SUFFIXES
#: Said when a file cannot be read.
READABLE_FORMATS = (
    ".wav, .flac, .ogg, .opus, .mp3 and .aiff, and the sound of .m4a, .mp4, .mov, .webm, .mkv "
    "and .wma files"
)
#: Sound left when the decoder's last frame ends this much short of the length the
#: container gives is taken as the file breaking off, not as rounding.
_SHORT_SEC = 0.1


class AudioBrokeOff(InputError):
    """A sound file stopped being readable partway.

    Attributes
    ----------
    at_sec : float
        Seconds of sound read before it broke off.
    """

    def __init__(self, path: Path, at_sec: float, detail: str = "") -> None:
        self.at_sec = float(at_sec)
        m, s = divmod(self.at_sec, 60)
        why = f" ({detail})" if detail else ""
        super().__init__(f"{path.name} breaks off at {int(m)}:{s:04.1f}{why}")


class SoundSource:
    """An open sound file, read block by block (use :func:`open_sound`).

    Attributes
    ----------
    path : Path
    sample_rate : int
    channels : int
    frames : int
        The length the file's header or container gives, in frames (for FFmpeg, an
        estimate for some formats; 0 when the file does not say).
    decoder : str
        ``"libsndfile"`` or ``"ffmpeg"``.
    caveats : tuple of str
        What the reader should be told about the file (a format that does not say where
        its sound starts).
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int
    decoder: str
    caveats: tuple[str, ...] = ()

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        """The sound in blocks of ``size`` frames (the last one shorter), float32, shape
        ``(n, channels)``.

        Raises
        ------
        AudioBrokeOff
            After the last good block, when the file stops being readable.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> SoundSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _check_complete(self, read: int) -> None:
        if self.frames > 0 and read < self.frames - _SHORT_SEC * self.sample_rate:
            raise AudioBrokeOff(self.path, read / self.sample_rate)


def _wav_declared_frames(path: Path) -> int | None:
    """The frames a WAV file's header says its data holds; None for another file, or a
    header that does not say (a recorder that never finished it writes 0 or the maximum).

    libsndfile gives the frames the file holds: a WAV cut short (a copy that stopped, a
    recorder that crashed) reads as a shorter file, and only its header tells.
    """
    import struct

    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, block_align = 12, 0
    while pos + 8 <= len(head):
        kind, size = head[pos : pos + 4], struct.unpack("<I", head[pos + 4 : pos + 8])[0]
        if kind == b"fmt " and pos + 22 <= len(head):
            block_align = struct.unpack("<H", head[pos + 20 : pos + 22])[0]
        if kind == b"data":
            if block_align <= 0 or size in (0, 0xFFFFFFFF):
                return None
            return size // block_align
        pos += 8 + size + (size & 1)
    return None


class _SndfileSource(SoundSource):
    def __init__(self, path: Path, snd: Any) -> None:
        self.path, self._snd, self.decoder = path, snd, "libsndfile"
        self.sample_rate = int(snd.samplerate)
        self.channels = int(snd.channels)
        # a WAV cut short breaks off where its data ends, short of what its header says
        self.frames = max(0, int(snd.frames), _wav_declared_frames(path) or 0)

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        sf = require("soundfile", "audio")
        read = 0
        while True:
            try:
                block = self._snd.read(size, dtype="float32", always_2d=True)
            except (RuntimeError, sf.LibsndfileError) as exc:
                raise AudioBrokeOff(self.path, read / self.sample_rate, _detail(exc)) from None
            if block.shape[0] == 0:
                break
            read += block.shape[0]
            yield block
            if block.shape[0] < size:
                break
        self._check_complete(read)

    def close(self) -> None:
        self._snd.close()


class _FFmpegSource(SoundSource):
    def __init__(self, path: Path, container: Any, stream: Any) -> None:
        self.path, self._container, self._stream, self.decoder = path, container, stream, "ffmpeg"
        ctx = stream.codec_context
        self.sample_rate = int(ctx.sample_rate or stream.rate or 0)
        self.channels = int(ctx.channels or len(ctx.layout.channels))
        seconds = None
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            seconds = container.duration / 1_000_000  # av.time_base: microseconds
        self.frames = round(seconds * self.sample_rate) if seconds else 0
        what = _NO_START.get(container.format.name)
        if what is not None:
            self.caveats = (
                f"{path.name} is {what}, which does not say where its encoder's delay ends: "
                "its hits can be tens of milliseconds off (an .m4a, .wav or .flac says)",
            )

    def blocks(self, size: int) -> Iterator[np.ndarray]:
        av = require("av", "audio")
        resampler = None
        pending: list[np.ndarray] = []
        n_pending = 0
        read = 0
        broke: BaseException | None = None
        try:
            for frame in self._container.decode(self._stream):
                if resampler is None:
                    # packed float32 at the file's own rate and channels: no resampling
                    resampler = av.AudioResampler(
                        format="flt", layout=frame.layout, rate=self.sample_rate
                    )
                for out in resampler.resample(frame):
                    x = out.to_ndarray().reshape(-1, self.channels)
                    pending.append(x)
                    n_pending += x.shape[0]
                while n_pending >= size:
                    joined = np.concatenate(pending)
                    block, rest = joined[:size], joined[size:]
                    pending, n_pending = [rest], rest.shape[0]
                    read += size
                    yield np.ascontiguousarray(block, dtype=np.float32)
            if resampler is not None:
                for out in resampler.resample(None):
                    pending.append(out.to_ndarray().reshape(-1, self.channels))
        except av.FFmpegError as exc:
            broke = exc
        n_pending = sum(x.shape[0] for x in pending)
        if n_pending:
            read += n_pending
            yield np.ascontiguousarray(np.concatenate(pending), dtype=np.float32)
        if broke is not None:
            raise AudioBrokeOff(self.path, read / self.sample_rate, _detail(broke))
        # not checked against ``frames``: FFmpeg estimates some lengths from the bit rate
        # (a raw .aac), so only a decoding error says the file broke off

    def close(self) -> None:
        self._container.close()


def _detail(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return text.split(":")[-1].strip() if ":" in text else text


def open_sound(path: str | Path) -> SoundSource:
    """Open a sound file for reading in blocks: libsndfile where it can, FFmpeg otherwise.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    SoundSource
        Use it as a context manager.

    Raises
    ------
    NotFoundError
        If there is no such file.
    InputError
        If it is a folder, empty, or holds no sound either decoder can read: one line
        naming the file and the formats that work.
    """
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"no such audio file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes): not an audio recording")
    sf = require("soundfile", "audio")
    why = ""
    if path.suffix.lower() not in FFMPEG_SUFFIXES:
        try:
            return _SndfileSource(path, sf.SoundFile(str(path)))
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            why = _detail(exc)
    source = _open_ffmpeg(path)
    if source is not None:
        return source
    why = f" ({why})" if why else ""
    raise InputError(
        f"{path}: cannot decode it{why}; not an audio file cymbalism reads ({READABLE_FORMATS})"
    )


def _open_ffmpeg(path: Path) -> SoundSource | None:
    av = require("av", "audio")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        return None
    streams = list(container.streams.audio)
    if not streams:
        video = container.streams.video and path.suffix.lower() in _VIDEO_SUFFIXES
        container.close()
        what = "a video without sound" if video else "no sound"
        raise InputError(f"{path} holds {what}: there is no audio stream to read")
    source = _FFmpegSource(path, container, streams[0])
    if source.sample_rate <= 0 or source.channels <= 0:
        container.close()
        return None
    return source


def encode_with_ffmpeg(
    path: str | Path,
    frames: np.ndarray,
    sample_rate: int,
    *,
    codec: str = "aac",
    bit_rate: int = 192_000,
) -> Path:
    """Write frames with an FFmpeg encoder (AAC in an ``.m4a`` by default), as a phone does.

    The frames carry their timestamps, so the container's edit list says where the
    encoder's priming samples end and a reader starts at the first sample written.

    Parameters
    ----------
    frames : np.ndarray [shape=(n,) or (n, channels), float]
        -1..1, one or two channels; louder samples are clipped.
    codec : str
        An FFmpeg encoder (``"aac"``, ``"libopus"``, ``"alac"``, ``"flac"``, ...); the
        container is chosen by the file name.
    bit_rate : int
        Bits per second, for a lossy codec.
    """
    av = require("av", "audio")
    x = np.clip(np.asarray(frames, dtype=np.float32), -1.0, 1.0)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[1] not in (1, 2):
        raise InputError(f"cannot write {x.shape[1]} channels with FFmpeg here: give 1 or 2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = "stereo" if x.shape[1] == 2 else "mono"
    planar = np.ascontiguousarray(x.T)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sample_rate, layout=layout)
        stream.bit_rate = bit_rate
        for i in range(0, planar.shape[1], 4096):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planar[:, i : i + 4096]), format="fltp", layout=layout
            )
            frame.sample_rate, frame.pts = sample_rate, i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
