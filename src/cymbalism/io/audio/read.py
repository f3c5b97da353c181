"""Reading recordings: a file's hits, read in blocks through the streaming detector.

The file is read with bounded memory, block by block, through the same
:class:`~cymbalism.io.audio.detector.StreamingDetector` as live input, so the hits of a
file equal the hits of the same signal played live.

No detector here can tell apart two drummers who play into one microphone: record one
player per file, or per channel of a stereo file.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import CymbalismWarning, InputError
from cymbalism.io.audio.bleed import Music, MusicInTake, find_music, remove_music, timed_by
from cymbalism.io.audio.detector import (
    DetectorConfig,
    StreamingDetector,
    _check_rate,
    detect_hits,
)
from cymbalism.io.audio.files import SOUND_SUFFIXES, AudioBrokeOff, SoundSource, open_sound
from cymbalism.io.audio.templates import KitTemplates, default_kit, load_kit_templates
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane

__all__ = [
    "AUDIO_SUFFIXES",
    "ONE_MIC_NOTE",
    "AudioPerformance",
    "AudioWarning",
    "hit_summary",
    "hits_without_music",
    "read_audio",
]

#: Said wherever someone might hope to split one recording into two players.
ONE_MIC_NOTE = (
    "No detector separates two drummers who play into one microphone: record each player "
    "into their own file, or their own channel of a stereo file"
)


#: File suffixes read as recordings (:data:`cymbalism.io.audio.files.SOUND_SUFFIXES`).
AUDIO_SUFFIXES = frozenset(SOUND_SUFFIXES)


class AudioWarning(CymbalismWarning):
    """Something about a recording that the user should know, but that is not fatal."""


@dataclass(frozen=True)
class AudioPerformance:
    """What a recording holds: the hits of one player.

    Attributes
    ----------
    hits : Hits
    path : Path
    sample_rate : int
    duration_sec : float
    channel : int or None
        The channel that was read, or ``None`` for all channels mixed down.
    kit : str
        The name of the kit whose templates chose the lanes.
    heard_as : dict of Lane to tuple of Lane
        The drums that kit has no template for, each with the drums their strokes may
        be named (:attr:`~cymbalism.io.audio.templates.KitTemplates.heard_as`).
    warnings : tuple[str, ...]
        Problems found that did not stop reading (clipping, odd rate, ...).
    music : MusicInTake or None
        The song's recording, when it was heard in the take and taken out before the
        hits were found (:mod:`cymbalism.io.audio.bleed`).
    tempo_map : None
        Recordings carry no tempo map (present for parity with MIDI performances).
    """

    hits: Hits
    path: Path
    sample_rate: int
    duration_sec: float
    channel: int | None = None
    kit: str = "default"
    heard_as: dict[Lane, tuple[Lane, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = field(default=())
    music: MusicInTake | None = None
    tempo_map: None = None

    @property
    def name(self) -> str:
        """The file's name, with ``:L``/``:R``/``:N`` for one channel."""
        if self.channel is None:
            return self.path.name
        return f"{self.path.name}:{ {0: 'L', 1: 'R'}.get(self.channel, self.channel + 1) }"

    def __len__(self) -> int:
        return len(self.hits)


def hit_summary(perf: AudioPerformance) -> dict[str, Any]:
    """A JSON-ready summary of a recording's hits: counts and mean velocity per lane."""
    hits = perf.hits
    lanes = []
    for lane in Lane:
        sel = hits.lane == int(lane)
        if sel.any():
            lanes.append(
                {
                    "lane": lane.label,
                    "hits": int(sel.sum()),
                    "mean_velocity": float(hits.velocity[sel].mean()),
                }
            )
    return {
        "path": str(perf.path),
        "channel": perf.channel,
        "duration_sec": perf.duration_sec,
        "sample_rate": perf.sample_rate,
        "kit": perf.kit,
        "hits": len(hits),
        "onsets": int(np.unique(hits.onset_sec).size),
        "lanes": lanes,
        "warnings": list(perf.warnings),
    }


def read_audio(
    path: str | Path,
    *,
    kit: KitTemplates | str | None = None,
    channel: int | None = None,
    config: DetectorConfig | None = None,
    block_sec: float = 30.0,
    progress: bool = False,
    music: Music | None = None,
) -> AudioPerformance:
    """Read a recording into the hits of one player.

    The file is read in blocks of ``block_sec`` through :class:`StreamingDetector`, so
    memory stays bounded however long it is; the blocks' boundaries change nothing.
    With ``music``, the take is held whole (a few megabytes a minute), so that the
    song's recording can be found in it and taken out first.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, Ogg, MP3 or AIFF file, or the sound of a phone's or camera's
        recording (M4A, MP4, MOV, WebM, ...): see :func:`~cymbalism.io.audio.files.open_sound`.
    kit : KitTemplates or str, optional
        A calibrated kit, or its name (see :func:`load_kit_templates`); the default templates
        otherwise.
    channel : int, optional
        Read only this channel (0 = left) of a multi-channel file: each channel can
        hold one player. By default all channels are mixed to one.
    config : DetectorConfig, optional
    block_sec : float
        Seconds read at a time.
    progress : bool
        Show a progress bar (rich) on stderr.
    music : Music, optional
        The song the take was played along to. When its recording is heard in the
        take (played aloud), it is taken out before the hits are found
        (:func:`~cymbalism.io.audio.bleed.find_music`); otherwise nothing changes.

    Returns
    -------
    AudioPerformance

    Raises
    ------
    NotFoundError
        If the file does not exist.
    InputError
        If it is not audio, is silent, has an unusable sample rate or lacks the channel.

    Warns
    -----
    AudioWarning
        On clipping, an unusual sample rate, a multi-channel file mixed down, a format
        that does not say where its sound starts, or a file that breaks off partway (the
        hits before the break are kept).
    """
    path = Path(path)
    kit_t = load_kit_templates(kit) if isinstance(kit, str) else (kit or default_kit())
    problems: list[str] = []

    def warn(msg: str) -> None:
        problems.append(msg)
        warnings.warn(msg, AudioWarning, stacklevel=3)

    with open_sound(path) as snd:
        sr, n_ch, n_frames = snd.sample_rate, snd.channels, snd.frames
        _check_rate(sr, str(path))
        for caveat in snd.caveats:
            warn(caveat)
        if sr < 22050:
            warn(
                f"{path.name}: a sample rate of {sr} Hz cuts off everything above {sr // 2} Hz; "
                "hi-hats and cymbals may be missed or mistaken"
            )
        if channel is not None and not 0 <= channel < n_ch:
            raise InputError(
                f"{path} has {n_ch} channel{'s' if n_ch > 1 else ''}; there is no channel "
                f"{channel + 1}. {ONE_MIC_NOTE}"
            )
        if channel is None and n_ch > 2:
            warn(f"{path.name}: mixing {n_ch} channels into one")
        det = StreamingDetector(sr, kit=kit_t, config=config)
        block = max(1024, int(block_sec * sr))
        parts: list[Hits] = []
        held: list[np.ndarray] = []  # the take, when the music is looked for in it
        peak = 0.0
        n_clipped = 0
        n_read = 0
        try:
            for data in _progress_blocks(snd, block, n_frames, path.name, progress):
                if channel is not None:
                    x = data[:, channel]
                elif n_ch == 1:
                    x = data[:, 0]
                else:
                    x = data.mean(axis=1)
                a = np.abs(data)
                peak = max(peak, float(a.max()) if a.size else 0.0)
                n_clipped += int((a >= 0.999).sum())
                n_read += data.shape[0]
                if music is None:
                    parts.append(det.process(x))
                else:
                    held.append(np.asarray(x, dtype=np.float32))
        except AudioBrokeOff as exc:
            if n_read == 0:
                raise InputError(f"{path} cannot be decoded: {exc}") from None
            warn(f"{exc}: the hits before it are kept")
        found = None
        if music is not None and held:
            found, heard = hits_without_music(
                np.concatenate(held), sr, music, kit=kit_t, config=config
            )
            parts.append(heard)
        else:
            parts.append(det.finish())
    if n_read == 0:
        raise InputError(f"{path} holds no samples: the recording is empty")
    if n_read < det.config.frame_sec * sr:  # not one frame of the spectrogram
        raise InputError(
            f"{path} lasts {1000 * n_read / sr:.2g} ms ({n_read} sample"
            f"{'s' if n_read > 1 else ''}): too short to "
            f"hold a drum stroke (the detector reads {1000 * det.config.frame_sec:.0f} ms "
            "at a time)"
        )
    if peak < 10 ** (det.config.min_level_dbfs / 20):
        level = 20 * math.log10(peak) if peak > 0 else -math.inf
        raise InputError(
            f"{path} is silent (loudest sample {level:.0f} dBFS): is it the right file "
            "or channel, and was the microphone on?"
        )
    if n_clipped > max(3, 1e-4 * n_read * n_ch):
        warn(
            f"{path.name}: {n_clipped} samples are clipped at full scale; timing stays "
            "right, but velocities of loud hits are capped (record with less gain)"
        )
    hits = Hits.concat(parts)
    if not len(hits):
        warn(f"{path.name}: no hits found (the recording is very quiet or has no drums)")
    return AudioPerformance(
        hits=hits,
        path=path,
        sample_rate=sr,
        duration_sec=n_read / sr,
        channel=channel,
        kit=kit_t.name,
        heard_as=kit_t.heard_as,
        warnings=tuple(problems),
        music=found,
    )


def hits_without_music(
    take: np.ndarray,
    sample_rate: int,
    music: Music,
    *,
    kit: KitTemplates | None = None,
    config: DetectorConfig | None = None,
) -> tuple[MusicInTake | None, Hits]:
    """The hits of a take played along with a song aloud, with the song's recording
    taken out where it is heard (:mod:`cymbalism.io.audio.bleed`).

    Which hits there are, and their drums, come from the take without the music (where a
    hit stands out of what is left of the music:
    :meth:`~cymbalism.io.audio.bleed.WithoutMusic.stands_out`); each keeps the time of
    the take's own attack (:func:`~cymbalism.io.audio.bleed.timed_by`).

    Parameters
    ----------
    take : np.ndarray [shape=(n,), float]
        The take, mono.
    sample_rate : int
    music : Music
    kit : KitTemplates, optional
    config : DetectorConfig, optional

    Returns
    -------
    found : MusicInTake or None
        None when the music is not heard: the hits are then the take's as they are.
    hits : Hits
    """
    as_recorded = detect_hits(take, sample_rate, kit=kit, config=config)
    found = find_music(take, sample_rate, music)
    if found is None:
        return None, as_recorded
    without = remove_music(take, sample_rate, music, found)
    hits = detect_hits(without.samples, sample_rate, kit=kit, config=config)
    hits = hits.select(without.stands_out(hits.onset_sec))  # not the music's remains
    return found, timed_by(hits, as_recorded)


def _progress_blocks(
    snd: SoundSource, block: int, n_frames: int, label: str, progress: bool
) -> Iterator[np.ndarray]:
    blocks = snd.blocks(block)
    if not progress:
        yield from blocks
        return
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    sr = snd.sample_rate
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s of audio"),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        transient=True,
        redirect_stdout=False,
    ) as bar:
        task = bar.add_task(f"listening to {label}", total=n_frames / sr if n_frames else None)
        for data in blocks:
            yield data
            bar.advance(task, data.shape[0] / sr)
