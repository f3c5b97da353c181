"""The streaming onset detector and drum classifier: samples -> Hits.

Everything it returns is in seconds (float64) and :class:`~cymbalism.model.lanes.Lane`
values.

How a hit is found
------------------
1. **Spectrogram.** Frames of ``frame_sec`` (about 23 ms, a power of two in samples)
   every ``hop_sec`` (about 2.9 ms), Hann window, a 64-band mel filterbank from 30 Hz
   to 16 kHz, in decibels with a floor at -100 dBFS. Frame ``k`` holds the samples that
   end at sample ``k * hop``, so every frame is causal.
2. **Onset strength with vibrato suppression** (SuperFlux, Böck & Widmer 2013):
   :func:`librosa.onset.onset_strength` with ``lag`` frames between the compared
   spectra and a maximum filter of ``max_size`` bands over frequency, so a ringing or
   wobbling tone does not look like a new hit.
3. **Adaptive peak picking** (:func:`librosa.util.peak_pick`): a frame is an onset
   if it is the largest in the last ``pre_max_sec`` and the next frame, rises
   ``delta_db`` above the moving mean of the last ``pre_avg_sec``, is louder than
   ``min_level_dbfs``, and comes at least ``wait_sec`` after the previous onset. The
   onset strength of the kick's band alone (below 250 Hz) is peak-picked the same way
   (with ``low_delta_db``), so that a kick under a ringing crash, which moves few of
   the 64 bands, is not lost in the mean over all of them. A drum struck again while
   the last hit rings (a tom twice 60 ms apart) is tested against the moving median
   instead of the mean, which still holds the last hit's peak, and must raise the
   frame level (``restrike_delta_db``, ``restrike_rise_db``). A peak of these two tests
   is an onset only if no onset lies within ``wait_sec`` of it either way: a peak of
   the full onset strength just after it is the same hit, and keeps it. An onset that added
   too little to what was sounding (``min_added_dbfs``, see step 7) is dropped: a
   kick pedal's click 90 ms before its beater lands is not a drum.
4. **Timing bias.** The peak comes a constant time after the true onset, because a
   frame must fill before the attack dominates it. :data:`DETECTOR_BIAS_SEC` is that
   constant, measured on synthetic hits with exactly known onsets (see
   ``evaluation/audio.py``, which also reports the remaining bias on MDB Drums) and
   subtracted from every onset.
5. **The attack, to the sample** (:func:`refine_onset`). Frames are a hop apart and
   drums differ in how fast they fill one, so the onset is then found again in the
   samples around it: in three bands (below 250 Hz, 250 Hz-3 kHz, above 3 kHz), the
   first sample where a 1 ms energy envelope leaves what was sounding before on its way
   to the attack's peak. Each band's filter is causal and cannot rise before the
   attack does, so the earliest band that clearly rises (6 dB or more) gives the onset;
   with none, the frame's onset stands.
6. **Velocity** is the loudest frame level within the lane window after the onset,
   mapped linearly from -60 dBFS (velocity 1) to 0 dBFS (velocity 127).
7. **Lanes.** The spectrum the onset *added* (the mel magnitudes over the lane window
   minus those just before the onset, rectified) is decomposed by one non-negative
   least-squares fit onto the kit's templates: one hit may sound several lanes at once
   (kick and hi-hat together are reported as two hits at the same time). The default
   templates are what many kits have in common (several per drum, see
   :func:`default_kit`); a calibrated :class:`KitTemplates` replaces them with the
   spectra of the player's own drums (see :func:`calibrate_kit`); it may also hold
   sounds of the kit that are not drums (a cowbell), whose hits are left out
   (:func:`classify_added_spectrum`).

The whole detector is causal apart from one frame of look-ahead and the lane window,
and runs block by block (:class:`StreamingDetector`). Files are read in blocks with
bounded memory through the same class, so the offline result and the live result on
the same signal are equal, hit for hit.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cymbalism.errors import InputError, require
from cymbalism.io.audio.templates import (
    _FMAX_HZ,
    _FMIN_HZ,
    _N_BANDS,
    KitTemplates,
    _band_hz,
    default_kit,
)
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane

__all__ = [
    "DETECTOR_BIAS_SEC",
    "LIVE_CONFIG",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "DetectorConfig",
    "StreamingDetector",
    "classify_added_spectrum",
    "detect_hits",
    "lane_delays",
    "onset_spectra",
    "refine_onset",
    "with_config",
]

#: The constant delay of the detector's peaks after the true onsets, subtracted from
#: every onset. Measured on 733 synthetic drum hits with exactly known onsets (kick,
#: snare, hi-hat, toms, crash at 44.1 kHz and 48 kHz; ``evaluation/audio.py --bias``):
#: mean delay 4.9 ms, SD 1.8 ms (kick 4.0 ms, crash 5.9 ms). It centres the search of
#: :func:`refine_onset`, which then finds the attack 0.3 ms after the true onset (SD
#: 0.7 ms) on the same hits; on MDB Drums that is 4.5 ms before the annotations (mean),
#: which lie on the attack's way up (2.0 ms before them without it).
DETECTOR_BIAS_SEC = 0.0049


#: Velocity is linear in decibels: 1 at this level (dBFS), 127 at 0 dBFS.
VELOCITY_FLOOR_DBFS = -60.0
#: Velocity units per decibel.
VELOCITY_PER_DB = 126.0 / -VELOCITY_FLOOR_DBFS
#: Sample rates we accept. Below 8 kHz a hi-hat is inaudible; above 192 kHz is no
#: recording format we know.
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000

#: The floor of the detector's spectra, in dB re full scale.
_FLOOR_DB = -100.0
#: Up to this many frames at once, :meth:`_Frames.mel_bands` takes the dense product
#: (about 4 us for one frame against 40 us sparse); BLAS keeps one thread below it.
_DENSE_MEL_FRAMES = 4


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the onset detector and lane classifier (all in seconds or dB).

    Attributes
    ----------
    hop_sec : float
        Time between frames (rounded to whole samples).
    frame_sec : float
        Frame length (rounded to the nearest power of two in samples).
    lag : int
        Frames between the compared spectra of the onset strength (SuperFlux).
    max_size : int
        Width, in mel bands, of the maximum filter over frequency (vibrato suppression).
    pre_max_sec, pre_avg_sec : float
        How far back the local-maximum test and the moving mean look.
    delta_db : float
        How far (in dB of mean spectral rise) a peak must stand above the moving mean.
    wait_sec : float
        Shortest time between two onsets; closer ones are one hit.
    min_level_dbfs : float
        Onsets quieter than this (frame level in dB re full scale) are ignored as noise.
    lane_window_sec : float
        How much audio after the onset decides the lane and the velocity.
    bias_sec : float
        Constant delay of the detector, subtracted from every onset.
    refine : bool
        Find each onset again in the samples (:func:`refine_onset`).
    min_share : float
        A hit sounds a further lane (kick and hi-hat together) if that lane explains at
        least this share of it; the best-fitting lane always sounds. A kit may set its
        own (:attr:`KitTemplates.min_share`; the default kit's is 0.10).
    split_sec : float or None
        If set, a drum of a hit whose own attack (in its own band, :func:`lane_delays`)
        came at least this long after the hit's first is reported at its own time (a
        hi-hat struck 15 ms after the kick); the others, at the hit's. 0.010 separates
        drums struck 10 ms apart or more in synthetic recordings. It reads the samples,
        so it needs ``refine``. Off by default: on
        the drum stems of MDB Drums it adds more onsets that no one annotated than it
        finds (``evaluation/audio.py``). There most drums annotated 10-30 ms apart sound
        as one attack, and a lone drum's band rises again nearly as often as a second
        drum's does (``evaluation/audio.py --split-causes``).
    low_delta_db : float or None
        How far (in dB of mean rise over the bands below 250 Hz) a peak of the kick's
        band alone must stand above its moving mean to be an onset too; None: only the
        onset strength over all bands is picked.
    restrike_delta_db : float or None
        How far a local maximum of the onset strength must stand above its moving median
        (over ``pre_avg_sec``) to be a drum struck again while the last hit rings; None:
        no such test.
    restrike_rise_db : float
        How far the frame level must rise there above its lowest over the last frame
        length.
    min_added_dbfs : float or None
        Onsets that added less than this to what was sounding (the level, in dB re full
        scale, of the sum of the mel magnitudes the onset added over the lane window)
        are dropped: the click of a kick pedal's spring or a stick's tap under a ringing
        kit, which the onset strength (in dB, band by band) can take for a hit. None:
        no such gate.

    Notes
    -----
    ``low_delta_db``, ``restrike_delta_db``, ``restrike_rise_db`` and
    ``min_added_dbfs`` were chosen by leave-one-track-out on MDB Drums
    (``evaluation/audio.py --choose-onsets``).
    """

    hop_sec: float = 0.0029
    frame_sec: float = 0.0232
    lag: int = 2
    max_size: int = 3
    pre_max_sec: float = 0.03
    pre_avg_sec: float = 0.10
    delta_db: float = 1.0
    wait_sec: float = 0.025
    min_level_dbfs: float = -55.0
    lane_window_sec: float = 0.030
    bias_sec: float = DETECTOR_BIAS_SEC
    refine: bool = True
    min_share: float = 0.15
    split_sec: float | None = None
    low_delta_db: float | None = 8.0
    restrike_delta_db: float | None = 1.0
    restrike_rise_db: float = 2.0
    min_added_dbfs: float | None = -60.0

    def __post_init__(self) -> None:
        checks = {
            "hop_sec": 0.0005 <= self.hop_sec <= 0.05,
            "frame_sec": 0.004 <= self.frame_sec <= 0.2,
            "lag": 1 <= self.lag <= 10,
            "max_size": 1 <= self.max_size <= 15,
            "wait_sec": 0.0 <= self.wait_sec <= 1.0,
            "lane_window_sec": 0.0 <= self.lane_window_sec <= 0.5,
            "min_share": 0.0 < self.min_share < 1.0,
            "split_sec": self.split_sec is None or 0.0 < self.split_sec <= 0.1,
            "low_delta_db": self.low_delta_db is None or 0.0 < self.low_delta_db <= 60.0,
            "restrike_delta_db": self.restrike_delta_db is None
            or 0.0 < self.restrike_delta_db <= 60.0,
            "restrike_rise_db": 0.0 <= self.restrike_rise_db <= 60.0,
            "min_added_dbfs": self.min_added_dbfs is None or -120.0 <= self.min_added_dbfs <= 0.0,
        }
        for name, ok in checks.items():
            if not ok:
                raise InputError(f"detector setting {name}={getattr(self, name)!r} is out of range")


#: The top (Hz) of the kick's band, whose onset strength is also peak-picked on its own
#: (:attr:`DetectorConfig.low_delta_db`).
_LOW_BAND_HZ = 250.0


#: The settings of live input: lanes decided on 10 ms of audio so that a hit is reported
#: within 20 ms of its onset (files use 30 ms, which tells low drums apart better). Over
#: so short a window a drum struck with another explains less of the hit, so a calibrated
#: kit lets a drum sound from 10% of the fit: on MDB Drums the mean kick / snare / hi-hat
#: F is then 0.88, against 0.84 at the files' 15% (``evaluation/audio.py``). Live input
#: keeps the one peak test and no gate on what an onset added: the kick band's own
#: peaks, the re-strike test and the gate were chosen for files (over a 30 ms window),
#: and live the calibrated mean F fell with the first two (0.880 to 0.867 and 0.879).
LIVE_CONFIG = DetectorConfig(
    lane_window_sec=0.010,
    min_share=0.10,
    low_delta_db=None,
    restrike_delta_db=None,
    min_added_dbfs=None,
)


@dataclass(frozen=True)
class _Frames:
    """A detector's settings in samples and frames for one sample rate."""

    sample_rate: int
    hop: int
    n_fft: int
    pre_max: int
    pre_avg: int
    wait: int
    lane_frames: int
    mel_t: np.ndarray  # (n_fft // 2 + 1, n_bands)
    mel_t_sparse: Any  # the same, as a scipy.sparse CSR matrix (2% of it is not zero)
    band_ok: np.ndarray  # (n_bands,) bool: band lies below Nyquist
    window: np.ndarray
    band_hz: np.ndarray
    channels: list[int]  # the low band and the rest, as bounds of the bands below Nyquist
    widths: np.ndarray  # (2,) how many bands each holds

    @classmethod
    def build(cls, sample_rate: int, config: DetectorConfig) -> _Frames:
        librosa = require("librosa", "audio")
        hop = max(1, round(config.hop_sec * sample_rate))
        n_fft = 2 ** max(5, round(math.log2(config.frame_sec * sample_rate)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bands above Nyquist at low rates are empty
            mel = librosa.filters.mel(
                sr=sample_rate, n_fft=n_fft, n_mels=_N_BANDS, fmin=_FMIN_HZ, fmax=_FMAX_HZ
            )
        frames = lambda sec: max(1, round(sec / (hop / sample_rate)))  # noqa: E731
        band_ok = mel.sum(axis=1) > 0
        hz = _band_hz()[band_ok]
        channels = [0, int(np.searchsorted(hz, _LOW_BAND_HZ)), int(hz.size)]
        return cls(
            sample_rate=sample_rate,
            hop=hop,
            n_fft=n_fft,
            pre_max=frames(config.pre_max_sec),
            pre_avg=frames(config.pre_avg_sec),
            wait=round(config.wait_sec / (hop / sample_rate)),
            lane_frames=max(1, round(config.lane_window_sec / (hop / sample_rate))),
            mel_t=np.ascontiguousarray(mel.T, dtype=np.float32),
            mel_t_sparse=require("scipy.sparse", "audio").csr_matrix(mel.T.astype(np.float32)),
            band_ok=band_ok,
            window=np.hanning(n_fft + 1)[:-1].astype(np.float32),
            band_hz=_band_hz(),
            channels=channels,
            widths=np.diff(channels).astype(np.float64),
        )

    @property
    def frame_period_sec(self) -> float:
        return self.hop / self.sample_rate

    def mel_bands(self, power: np.ndarray) -> np.ndarray:
        """The mel bands' power of frames' power spectra (``(n, n_fft // 2 + 1)``).

        A few frames (live input, a block at a time) take the dense product. Many (a
        recording read at once) take the sparse one, which keeps off BLAS: BLAS runs a
        large product on several threads, and they spin on after it. On the 2-core
        machine that nearly doubled the CPU time of reading a recording
        (``benchmarks/audio.py``), and it takes a core from a live session's audio.
        Both give the same hits to the sample on MDB Drums.
        """
        if power.shape[0] <= _DENSE_MEL_FRAMES:
            return np.asarray(power @ self.mel_t)
        return np.asarray(power @ self.mel_t_sparse)


@dataclass
class _Onset:
    frame: int
    level_db: float


class StreamingDetector:
    """Hits from audio, block by block: the one detector for files and live input.

    Feed mono blocks of any size with :meth:`process`; each call returns the hits that
    are settled (whose look-ahead has arrived). :meth:`finish` ends the stream and
    returns the rest. The concatenated output is the same whatever the block sizes,
    equal to detecting on the whole signal at once.

    Parameters
    ----------
    sample_rate : int
        Samples per second of the blocks.
    kit : KitTemplates, optional
        Lane templates; :func:`default_kit` if not given.
    config : DetectorConfig, optional
    start_sec : float
        Time of the first sample on the caller's clock (added to every onset).

    Notes
    -----
    Algorithmic latency (:attr:`latency_sec`): a hit is reported once the frame
    ``lane_frames`` hops after its peak is complete: with :data:`LIVE_CONFIG` at
    44.1 kHz, 16.5 ms after the onset (plus the audio device's block and buffers);
    with the file defaults (30 ms of audio decide the lane), 37 ms.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        kit: KitTemplates | None = None,
        config: DetectorConfig | None = None,
        start_sec: float = 0.0,
    ) -> None:
        _check_rate(sample_rate, "the stream")
        self.config = config or DetectorConfig()
        self.kit = kit or default_kit()
        self.sample_rate = int(sample_rate)
        self.start_sec = float(start_sec)
        self._f = _Frames.build(self.sample_rate, self.config)
        f = self._f
        # Samples not yet framed; the stream starts with a frame of silence.
        self._pending = np.zeros(f.n_fft - f.hop, dtype=np.float32)
        self._raw = np.zeros(0, dtype=np.float32)  # recent samples, for refine_onset
        self._raw_start = 0  # the stream's sample index of _raw[0]
        self._n_frames = 0  # frames computed so far (frame k ends at sample k * hop)
        # Recent history (bounded): dB mel frames, linear mel frames, levels, onset env.
        keep = max(f.pre_avg, f.pre_max, self.config.lag, 4) + f.lane_frames + 8
        self._keep = keep
        self._hist_db = np.full((0, _N_BANDS), _FLOOR_DB)
        self._hist_mag = np.zeros((0, _N_BANDS))
        self._hist_level = np.zeros(0)
        self._env = np.zeros(0)
        self._band_env = np.zeros((0, 2))  # onset strength of the low band and of the rest
        self._hist_start = 0  # absolute frame index of the first kept frame
        self._env_done = 0  # frames whose peak test has been decided
        self._last_onset = -(10**12)
        self._last_extra = -(10**12)
        self._regular: list[int] = []  # recent onsets of the full onset strength's peaks
        self._extra: list[int] = []  # peaks of the further tests, awaiting their neighbours
        self._waiting: list[_Onset] = []  # onsets whose lane window is not complete
        self._finished = False
        self._lib = require("librosa", "audio")
        self._fft = require("scipy.fft", "audio")
        self._templates = self.kit.templates_for(self.config.lane_window_sec)[:, f.band_ok]
        self._templates = self._templates / np.maximum(
            self._templates.sum(axis=1, keepdims=True), 1e-12
        )
        self._min_share = self.kit.min_share or self.config.min_share
        self._fit = _LaneFit(self._templates, self.kit.lanes, self.kit.lane_weights)

    # ----------------------------------------------------------------- public

    @property
    def latency_sec(self) -> float:
        """Algorithmic latency: from a hit's onset to the moment it can be reported."""
        f = self._f
        # frame k (the onset) ends one hop after k * hop; frame k + lane_frames must end
        return (max(1, f.lane_frames) + 1) * f.frame_period_sec + self.config.bias_sec

    @property
    def hop_sec(self) -> float:
        """Time between frames in seconds (the resolution of the onsets)."""
        return self._f.frame_period_sec

    def process(self, block: np.ndarray) -> Hits:
        """Feed the next samples; return the hits settled so far.

        Parameters
        ----------
        block : np.ndarray [shape=(n,), float, -1..1]
            The next mono samples.
        """
        if self._finished:
            raise InputError("this detector's stream has finished; make a new one")
        x = np.asarray(block, dtype=np.float32)
        if x.ndim != 1:
            raise InputError(f"blocks must be mono 1-D arrays, got shape {x.shape}")
        if x.size and not np.isfinite(x).all():
            x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        self._pending = np.concatenate([self._pending, x])
        if self.config.refine:
            self._raw = np.concatenate([self._raw, x])
        return self._advance()

    def finish(self) -> Hits:
        """End the stream (pads with silence so the last hits settle); return the rest."""
        if self._finished:
            return Hits.empty()
        f = self._f
        pad = f.n_fft + (max(f.pre_max, f.lane_frames, f.wait, 1) + 3) * f.hop
        hits = self.process(np.zeros(pad, dtype=np.float32))
        self._finished = True
        return hits

    # ----------------------------------------------------------------- internals

    def _advance(self) -> Hits:
        f = self._f
        n_new = (self._pending.size - (f.n_fft - f.hop)) // f.hop
        if n_new <= 0:
            return Hits.empty()
        lib = self._lib
        strided = lib.util.frame(self._pending, frame_length=f.n_fft, hop_length=f.hop, axis=0)
        frames = strided[:n_new] * f.window  # float32: half the memory traffic
        self._pending = self._pending[n_new * f.hop :]
        spec = self._fft.rfft(frames, axis=1)  # (n_new, n_fft/2+1)
        power = spec.real**2 + spec.imag**2
        scale = 2.0 / float(f.window.sum())  # a full-scale sine peaks at 0 dB
        mag = np.sqrt(f.mel_bands(power).astype(np.float64)) * scale  # (n_new, bands)
        db = 20.0 * np.log10(np.maximum(mag, 10 ** (_FLOOR_DB / 20)))
        level = 10.0 * np.log10(
            np.maximum(power.sum(axis=1, dtype=np.float64) * scale**2 / 2, 1e-10)
        )
        # onset strength over old (lag) + new frames
        lag = self.config.lag
        prev = self._hist_db[-lag:] if self._hist_db.shape[0] else np.zeros((0, _N_BANDS))
        if prev.shape[0] < lag:
            prev = np.vstack([np.full((lag - prev.shape[0], _N_BANDS), _FLOOR_DB), prev])
        s = np.vstack([prev, db]).T[f.band_ok]
        bands = lib.onset.onset_strength_multi(
            S=s, lag=lag, max_size=self.config.max_size, center=False, channels=f.channels
        )[:, lag:]
        # the mean over all bands (SuperFlux); summed, not a matrix product (see mel_bands)
        env = (f.widths[:, None] * bands).sum(axis=0) / f.widths.sum()
        self._hist_db = np.vstack([self._hist_db, db])
        self._hist_mag = np.vstack([self._hist_mag, mag])
        self._hist_level = np.concatenate([self._hist_level, level])
        self._env = np.concatenate([self._env, env])
        self._band_env = np.vstack([self._band_env, bands.T])
        self._n_frames += n_new
        self._pick_peaks()
        hits = self._settle()
        self._trim()
        return hits

    def _pick_peaks(self) -> None:
        """Decide the peak test for every frame whose look-ahead (1 frame) has arrived."""
        f = self._f
        ctx = max(f.pre_max, f.pre_avg)
        first = self._env_done  # absolute frame index of the first undecided frame
        last = self._n_frames - 1  # we need frame k+1 to decide frame k
        if last <= first:
            return
        lo = max(0, first - ctx)  # absolute frame of the buffer's start
        rows = slice(lo - self._hist_start, last + 1 - self._hist_start)
        envs = [(self._env[rows], self.config.delta_db)]
        if self.config.low_delta_db is not None:
            envs.append((self._band_env[rows, 0], self.config.low_delta_db))
        found = []  # [regular peaks, peaks of the kick's band]
        for buf, delta in envs:
            if lo < ctx:  # the stream's start: pad with zeros of onset strength
                buf = np.concatenate([np.zeros(ctx - lo), buf])
            offset = lo - (ctx - lo) if lo < ctx else lo
            peaks = self._lib.util.peak_pick(
                np.ascontiguousarray(buf),
                pre_max=f.pre_max,
                post_max=2,
                pre_avg=f.pre_avg,
                post_avg=1,
                delta=delta,
                wait=0,
            )
            found.append(peaks + offset)
        if self.config.restrike_delta_db is not None:
            found.append(self._restrikes(first, last))
        inside = [x[(x >= first) & (x < last)].tolist() for x in found]
        for k in inside[0]:
            if self._audible(k) and k - self._last_onset > f.wait:
                self._accept(k)
                self._regular.append(k)
        self._extra.extend(sorted(set().union(*inside[1:]) - set(inside[0])))
        self._env_done = last
        self._resolve_extra()

    def _resolve_extra(self) -> None:
        """Accept the peaks of the further tests (the kick's band, the re-strike test) whose
        neighbourhood is decided: one is an onset if no onset lies within ``wait_sec``
        of it either way, so that a peak of the full onset strength just after it (the
        same hit, seen there a frame or two later) keeps the onset and its time."""
        f = self._f
        while self._extra and self._extra[0] + f.wait < self._env_done:
            k = self._extra.pop(0)
            near = [x for x in self._regular if abs(x - k) <= f.wait]
            if near or k - self._last_extra <= f.wait or not self._audible(k):
                continue
            if any(abs(o.frame - k) <= f.wait for o in self._waiting):
                continue
            self._last_extra = k
            self._accept(k)
        horizon = self._env_done - 2 * f.wait - 1
        self._regular = [x for x in self._regular if x >= horizon]

    def _audible(self, k: int) -> bool:
        return max(self._frame_levels(k, self._f.lane_frames)) >= self.config.min_level_dbfs

    def _accept(self, k: int) -> None:
        """Make frame ``k`` an onset (its hit settles once its lane window is complete)."""
        self._last_onset = max(self._last_onset, k)
        self._waiting.append(_Onset(k, float(self._hist_level[k - self._hist_start])))
        self._waiting.sort(key=lambda o: o.frame)

    def _restrikes(self, first: int, last: int) -> np.ndarray:
        """Frames in ``[first, last)`` where a drum is struck again while the last hit
        still rings (a tom struck twice 60 ms apart, a drag on the snare).

        The moving mean of the peak test then still holds the last hit's peak, so the
        new one is tested against the moving *median* instead: a local maximum of the
        onset strength (as in the peak test) that stands ``restrike_delta_db`` above the
        median of the last ``pre_avg_sec``, where the frame level also rises at least
        ``restrike_rise_db`` above its lowest over the last frame length (a new attack,
        not a wobble of what rings).
        """
        f = self._f
        ctx = max(f.pre_max, f.pre_avg, f.n_fft // f.hop)
        start = max(first, self._hist_start + ctx)
        if last <= start:
            return np.zeros(0, dtype=np.int64)
        win = np.lib.stride_tricks.sliding_window_view
        i0, i1 = start - self._hist_start, last - self._hist_start  # kept frames [i0, i1)
        env, level = self._env, self._hist_level
        median = np.median(win(env[i0 - f.pre_avg : i1 - 1], f.pre_avg), axis=1)
        local = win(env[i0 - f.pre_max : i1 + 1], f.pre_max + 2).max(axis=1)
        span = f.n_fft // f.hop
        low = win(level[i0 - span : i1 - 1], span).min(axis=1)
        high = np.maximum(level[i0:i1], level[i0 + 1 : i1 + 1])
        e = env[i0:i1]
        ok = (
            (e >= local)
            & (e >= median + float(self.config.restrike_delta_db or 0.0))
            & (high - low >= self.config.restrike_rise_db)
        )
        return np.flatnonzero(ok) + start

    def _frame_levels(self, k: int, n: int) -> list[float]:
        i = k - self._hist_start
        return self._hist_level[i : i + max(n, 1)].tolist()

    def _settle(self) -> Hits:
        f = self._f
        ready = [o for o in self._waiting if o.frame + f.lane_frames < self._n_frames]
        if not ready:
            return Hits.empty()
        self._waiting = [o for o in self._waiting if o.frame + f.lane_frames >= self._n_frames]
        onsets, lanes, vels = [], [], []
        for o in ready:
            i = o.frame - self._hist_start
            added = self._added_spectrum(i)
            if self._too_little(added):
                continue
            peak_db = float(self._hist_level[i : i + f.lane_frames + 1].max())
            vel = int(np.clip(round(1 + VELOCITY_PER_DB * (peak_db - VELOCITY_FLOOR_DBFS)), 1, 127))
            t = o.frame * f.frame_period_sec - self.config.bias_sec
            end = (o.frame + f.lane_frames + 1) * f.hop - self._raw_start
            if self.config.refine:
                # the samples up to the end of the onset's lane window are all here
                guess = round(t * f.sample_rate)
                found = refine_onset(self._raw, guess - self._raw_start, f.sample_rate, end=end)
                if found is not None:
                    t = (found + self._raw_start) / f.sample_rate
            sounded = self._fit(added, self._min_share)
            delay: dict[Lane, float] = {}
            if sounded and self.config.split_sec is not None and self.config.refine:
                lanes_heard = sounded + self._quiet_drums(added, sounded)
                first = round(t * f.sample_rate) - self._raw_start
                delay = lane_delays(
                    self._raw[: max(end, 0)],
                    first,
                    lanes_heard,
                    f.sample_rate,
                    self.config.split_sec,
                )
                sounded = sorted(set(sounded) | set(delay))
            t += self.start_sec
            for lane in sounded:
                onsets.append(max(t + delay.get(lane, 0.0), 0.0))
                lanes.append(int(lane))
                vels.append(vel)
        return Hits.from_arrays(onsets, lanes, vels)

    def _quiet_drums(self, added: np.ndarray, sounded: list[Lane]) -> list[Lane]:
        """For each band (:data:`_HOME_BAND`) none of the ``sounded`` drums lives in, the
        drum of that band with the largest part of the hit's fit, however small: if its
        own attack came clearly later (:func:`lane_delays`), it was struck on its own."""
        if float(added.sum()) <= 0.0:
            return []
        share = self._fit.shares(added)
        taken = {_HOME_BAND.get(x, 1) for x in sounded}
        best: dict[int, tuple[float, Lane]] = {}
        for k, key in enumerate(self._fit.keys):
            if key is None or share[k] <= 0.0 or any(_alike(key, x) for x in sounded):
                continue
            band = _HOME_BAND.get(key, 1)
            if band not in taken and share[k] > best.get(band, (0.0, key))[0]:
                best[band] = (float(share[k]), key)
        return [x for _, x in best.values()]

    def _added_frames(self, i: int) -> np.ndarray:
        """What an onset at kept-frame ``i`` added in each frame of its lane window: the
        mel magnitudes minus those just before it, rectified (bands below Nyquist)."""
        f = self._f
        after = self._hist_mag[i : i + f.lane_frames + 1]
        before = self._hist_mag[max(0, i - self.config.lag - 2) : max(0, i - self.config.lag)]
        base = before.min(axis=0) if before.shape[0] else np.zeros(_N_BANDS)
        return np.maximum(after - base, 0.0)[:, f.band_ok]

    def _too_little(self, added: np.ndarray) -> bool:
        """Whether an onset added too little to what was sounding to be a drum (a kick
        pedal's click): :attr:`DetectorConfig.min_added_dbfs`."""
        gate = self.config.min_added_dbfs
        return gate is not None and 20.0 * math.log10(max(float(added.sum()), 1e-10)) < gate

    def _added_spectrum(self, i: int) -> np.ndarray:
        """The mel magnitudes an onset at kept-frame ``i`` added over its lane window."""
        return self._added_frames(i).mean(axis=0)

    def _trim(self) -> None:
        """Forget frames no longer needed (bounded memory)."""
        need_from = min(
            [self._env_done - max(self._f.pre_max, self._f.pre_avg) - 2]
            + [o.frame - self.config.lag - 4 for o in self._waiting]
            + [k - self.config.lag - 4 for k in self._extra[:1]]
            + [self._n_frames - self._keep]
        )
        keep_from = need_from * self._f.hop - round(_REFINE_REACH_SEC * self.sample_rate)
        if keep_from - self._raw_start > 1 << 15:
            self._raw = self._raw[keep_from - self._raw_start :]
            self._raw_start = keep_from
        cut = need_from - self._hist_start
        if cut > 256:  # trim in chunks to keep the copies cheap
            self._hist_db = self._hist_db[cut:]
            self._hist_mag = self._hist_mag[cut:]
            self._hist_level = self._hist_level[cut:]
            self._env = self._env[cut:]
            self._band_env = self._band_env[cut:]
            self._hist_start += cut


#: What :func:`refine_onset` reads around a frame's onset: the attack is looked for from
#: ``_BEFORE_SEC`` before it to ``_AFTER_SEC`` after it, what sounded before it is the
#: ``_FLOOR_SEC`` before that, and each band's filter settles over ``_SETTLE_SEC`` first.
_BEFORE_SEC, _AFTER_SEC, _PEAK_SEC = 0.010, 0.006, 0.010
_FLOOR_SEC, _SETTLE_SEC, _ENVELOPE_SEC = 0.010, 0.030, 0.001
#: How far back a detector keeps samples for it (with room for the bias).
_REFINE_REACH_SEC = _BEFORE_SEC + _FLOOR_SEC + _SETTLE_SEC + _ENVELOPE_SEC + 0.010
#: What sounded before: this percentile of the energy over ``_FLOOR_SEC`` (a high one, so
#: that the ups and downs of a ringing cymbal or of music are not taken for the attack).
_FLOOR_PERCENTILE = 90.0
#: An attack must rise this far above what sounded before, in its band, to be trusted.
_MIN_RISE_DB = 6.0
#: Where on the way up (in dB, from what sounded before to the attack's peak) it starts.
_RISE_FRACTION = 0.10


@functools.cache
def _attack_bands(sample_rate: int) -> tuple[np.ndarray, ...]:
    """Causal 2nd-order Butterworth filters: below 250 Hz, 250 Hz-3 kHz, above 3 kHz."""
    signal = require("scipy.signal", "audio")
    top = min(3000.0, 0.45 * sample_rate)
    return (
        signal.butter(2, 250.0, "lowpass", fs=sample_rate, output="sos"),
        signal.butter(2, (250.0, top), "bandpass", fs=sample_rate, output="sos"),
        signal.butter(2, top, "highpass", fs=sample_rate, output="sos"),
    )


@functools.cache
def _attack_filters(sample_rate: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """:func:`_attack_bands` as transfer functions ``(b, a)``: a short segment runs
    through ``lfilter`` at a third of ``sosfilt``'s cost (it checks its sections on every
    call), to within 1e-12 of it at these orders."""
    signal = require("scipy.signal", "audio")
    return tuple(signal.sos2tf(sos) for sos in _attack_bands(sample_rate))


def _band_energy(x: np.ndarray, sample_rate: int, band: int, w: int) -> np.ndarray:
    """The energy of attack band ``band`` (0 low, 1 mid, 2 high) of ``x`` over its last
    ``w`` samples, at every sample (a causal running mean of the filtered square)."""
    signal = require("scipy.signal", "audio")
    b, a = _attack_filters(sample_rate)[band]
    total = np.cumsum(signal.lfilter(b, a, x) ** 2)
    energy = total.copy()
    energy[w:] -= total[:-w]
    return energy / w


def _band_level_db(
    samples: np.ndarray, sample_rate: int, band: int, envelope_sec: float
) -> np.ndarray:
    """The level (dB) of attack band ``band`` (0 low, 1 mid, 2 high; see
    :func:`_attack_bands`) of ``samples``: its energy over the last ``envelope_sec``."""
    w = max(1, round(envelope_sec * sample_rate))
    x = np.asarray(samples, dtype=np.float64)
    return 10.0 * np.log10(_band_energy(x, sample_rate, band, w) + 1e-12)


def refine_onset(
    samples: np.ndarray, guess: int, sample_rate: int, *, end: int | None = None
) -> int | None:
    """The sample where the attack of an onset found near ``guess`` starts.

    In each of three bands (:func:`_attack_bands`), the energy over the last 1 ms is
    followed from ``_BEFORE_SEC`` before ``guess`` to the attack's peak (within
    ``_PEAK_SEC`` after it). If it rises at least ``_MIN_RISE_DB`` above what was
    sounding (its 90th percentile over the ``_FLOOR_SEC`` before), the attack starts at
    the first sample of that rise to cross ``_RISE_FRACTION`` of it, in decibels. The
    filters are causal, so no band rises before the attack does: the earliest band gives
    the onset. The constants were chosen on renders of two built-in songs (mirrorball,
    fast-lane) and on synthetic hits, and checked on the other songs and on MDB Drums
    (``evaluation/audio.py``).

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float]
        Mono samples holding the onset and what came before it.
    guess : int
        The frame-based onset, as an index into ``samples``.
    sample_rate : int
    end : int, optional
        Read nothing from this index on (a stream: the samples settled so far).

    Returns
    -------
    int or None
        The onset as an index into ``samples``, within ``_BEFORE_SEC`` before and
        ``_AFTER_SEC`` after ``guess``; None when no band rises clearly.

    Examples
    --------
    A burst of noise that starts at sample 1000, over quieter noise, found again to a
    quarter of a millisecond from a guess 100 samples late:

    >>> rng = np.random.default_rng(0)
    >>> x = 0.01 * rng.normal(size=3000)
    >>> x[1000:] += np.exp(-np.arange(2000) / 400) * rng.normal(size=2000)
    >>> abs(refine_onset(x, 1100, 44100) - 1000) <= 11
    True
    """
    sr = int(sample_rate)
    n = samples.shape[0] if end is None else min(int(end), samples.shape[0])
    w = max(1, round(_ENVELOPE_SEC * sr))
    lo = guess - round(_BEFORE_SEC * sr)  # the earliest onset
    a = max(0, lo - round((_FLOOR_SEC + _SETTLE_SEC) * sr) - w)
    b = min(n, guess + round(_PEAK_SEC * sr) + 1)
    if lo - a < w or b - lo < 2 * w:
        return None
    seg = np.asarray(samples[a:b], dtype=np.float64)
    s0, s1 = lo - a, guess + round(_AFTER_SEC * sr) - a
    floor_from = max(0, s0 - round(_FLOOR_SEC * sr))
    best: int | None = None
    for band in range(len(_attack_bands(sr))):
        e = _band_energy(seg, sr, band, w)  # energy of the last w samples
        peak = s0 + int(np.argmax(e[s0:]))
        floor = _quantile(e[floor_from : s0 + 1], _FLOOR_PERCENTILE / 100.0) + 1e-30
        top = float(e[peak])
        if top < floor * 10 ** (_MIN_RISE_DB / 10):
            continue
        below = np.flatnonzero(e[s0 : peak + 1] < floor * (top / floor) ** _RISE_FRACTION)
        if below.size == 0:
            continue  # already risen when the search starts: no clear start in this band
        start = s0 + int(below[-1]) + 1
        if start <= s1 and (best is None or start < best):
            best = start
    return None if best is None else a + best


#: The band (of :func:`_attack_bands`) in which each drum's own attack is looked for.
_HOME_BAND = {
    Lane.KICK: 0,
    Lane.TOM_FLOOR: 0,
    Lane.SNARE: 1,
    Lane.TOM_HIGH: 1,
    Lane.TOM_MID: 1,
    Lane.HIHAT_CLOSED: 2,
    Lane.HIHAT_OPEN: 2,
    Lane.HIHAT_PEDAL: 2,
    Lane.CRASH: 2,
    Lane.RIDE: 2,
}
#: Each band's energy envelope for :func:`lane_delays`: long enough to smooth one period
#: of its lowest tones (a 50 Hz kick in the low band).
_LANE_ENVELOPE_SEC = (0.005, 0.001, 0.001)
#: The span over which :func:`lane_delays` measures a band's rise, and how much louder
#: (in dB) than before a later drum's band must grow to be heard as struck on its own.
_RISE_SPAN_SEC, _LANE_RISE_DB = 0.003, 6.0


def lane_delays(
    samples: np.ndarray,
    first: int,
    lanes: Sequence[Lane],
    sample_rate: int,
    split_sec: float,
) -> dict[Lane, float]:
    """How long after a hit's onset each of its drums was struck, if clearly later.

    Each drum's attack is looked for in its own band (the kick below 250 Hz, the snare
    and toms at 250 Hz-3 kHz, hi-hats and cymbals above 3 kHz; :func:`_attack_bands`).
    The hit's first attack is the earliest of the bands' steepest rises (of the energy,
    over ``_RISE_SPAN_SEC``). A drum whose band, ``split_sec`` or more after that,
    grows at least ``_LANE_RISE_DB`` louder than anything it held since the onset was
    struck on its own (a hi-hat 15 ms after the kick), at the start of the steepest
    rise on the way there; the others were struck with the hit. A kick's beater click
    fills the snare's band, so a snare struck just after a kick is not told apart.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float]
        Mono samples from well before the onset to the end of the hit's lane window.
    first : int
        The hit's onset, as an index into ``samples``.
    lanes : sequence of Lane
        The drums the hit sounded.
    sample_rate : int
    split_sec : float
        The least delay reported.

    Returns
    -------
    dict[Lane, float]
        The delay in seconds of each drum struck on its own after the hit's onset.
    """
    sr = int(sample_rate)
    bands = {_HOME_BAND.get(x, 1) for x in lanes}
    if len(bands) < 2:
        return {}
    d = max(1, round(_RISE_SPAN_SEC * sr))
    a = max(0, first - round((_SETTLE_SEC + 0.010) * sr))
    lo = first - a - round(0.002 * sr)
    seg = np.asarray(samples[a:], dtype=np.float64)
    if lo - d < 0 or seg.size - lo < 4 * d:
        return {}
    level, rises = {}, {}
    for b in sorted(bands):
        e = _band_level_db(seg, sr, b, _LANE_ENVELOPE_SEC[b])
        level[b] = e[lo:]
        rises[b] = e[lo:] - e[lo - d : e.size - d]  # rises[b][k]: over the span ending at lo + k
    # the hit's first attack: the earliest band's steepest rise
    earliest = min(int(np.argmax(r)) for r in rises.values()) - d
    after = earliest + round(split_sec * sr)  # a later drum's attack rises from here on
    out = {}
    for lane in lanes:
        b = _HOME_BAND.get(lane, 1)
        if after >= level[b].size or after < 1:
            continue
        top = after + int(np.argmax(level[b][after:]))
        if level[b][top] - float(level[b][:after].max()) < _LANE_RISE_DB:
            continue  # no louder than it already was: struck with the hit
        steepest = after + int(np.argmax(rises[b][after : top + 1]))
        out[lane] = (steepest - d - earliest) / sr
    return out


def _quantile(x: np.ndarray, q: float) -> float:
    """``np.quantile(x, q)`` (linear interpolation), to the last bit, without its
    overhead: :func:`refine_onset` takes one per band and onset."""
    n = x.size
    at = (n - 1) * q
    lo = math.floor(at)
    if lo >= n - 1:
        return float(np.max(x))
    part = np.partition(x, (lo, lo + 1))
    a, b = float(part[lo]), float(part[lo + 1])
    g = at - lo
    return b - (b - a) * (1.0 - g) if g >= 0.5 else a + (b - a) * g


def classify_added_spectrum(
    added: np.ndarray,
    templates: np.ndarray,
    lanes: Sequence[Lane | None],
    *,
    min_share: float = DetectorConfig.min_share,
    lane_weights: dict[Lane, float] | None = None,
) -> list[Lane]:
    """The lanes that sound in one hit, from the spectrum it added.

    Parameters
    ----------
    added : np.ndarray [shape=(n_bands,), float64, >= 0]
        The mel magnitudes the hit added.
    templates : np.ndarray [shape=(n_templates, n_bands), float64, unit sum]
    lanes : sequence of Lane or None [len n_templates]
        The lane of each template (a lane may have several); ``None`` for a sound that
        is not a drum.
    min_share : float
        A further lane sounds if its part of the fit is at least this share of the hit.
    lane_weights : dict[Lane, float], optional
        Each lane's part of the fit is multiplied by its weight (1 if not listed) before
        the lanes are ranked and compared with ``min_share``.

    Returns
    -------
    lanes : list of Lane
        Sorted; empty when the hit is a sound that is not a drum.

    Notes
    -----
    One non-negative least-squares fit of the square root of the normalised spectrum
    onto the square roots of all templates at once (so the quiet high bands of a hi-hat
    count beside the loud low bands of a kick struck with it). A lane's part is the sum
    of its templates' parts. The lanes are taken in order of their (weighted) parts: the
    first always, the others from ``min_share`` on, and never two look-alikes (two toms,
    a tom and the snare or the kick, a hi-hat and a cymbal). The joint fit matters: a tom
    lying between a snare and a hi-hat fits, alone, a snare struck with the hi-hat
    better than either; fitted with them, it gives way to the snare and the hi-hat.
    """
    return _LaneFit(templates, lanes, lane_weights)(added, min_share)


class _LaneFit:
    """:func:`classify_added_spectrum` for one kit, with the kit's arrays prepared once."""

    def __init__(
        self,
        templates: np.ndarray,
        lanes: Sequence[Lane | None],
        lane_weights: dict[Lane, float] | None = None,
    ) -> None:
        self._nnls = require("scipy.optimize", "audio").nnls
        self.keys: list[Lane | None] = list(dict.fromkeys(lanes))
        self.a = np.sqrt(np.asarray(templates, dtype=np.float64).T)
        self.norm = np.linalg.norm(self.a, axis=0)
        self.group = np.array([self.keys.index(x) for x in lanes])
        weights = lane_weights or {}
        self.weight = np.array([1.0 if k is None else weights.get(k, 1.0) for k in self.keys])
        self.first_drum = next(x for x in lanes if x is not None) if any(lanes) else None

    def shares(self, added: np.ndarray) -> np.ndarray:
        """Each of :attr:`keys`' (weighted) part of the fit of a hit's added spectrum."""
        x, _ = self._nnls(self.a, np.sqrt(added / float(added.sum())))
        share = np.bincount(self.group, weights=x * self.norm, minlength=len(self.keys))
        return np.asarray(share / max(float(share.sum()), 1e-12) * self.weight)

    def __call__(self, added: np.ndarray, min_share: float) -> list[Lane]:
        total = float(added.sum())
        if total <= 0.0 or self.first_drum is None:
            return [self.first_drum] if self.first_drum is not None else []
        share = self.shares(added)
        chosen: list[Lane | None] = []
        for rank, k in enumerate(np.argsort(-share, kind="stable").tolist()):
            if share[k] < min_share and rank > 0:
                break
            key = self.keys[k]
            if not any(_alike(key, c) for c in chosen):
                chosen.append(key)
        return sorted(x for x in chosen if x is not None)


def _alike(x: Lane | None, y: Lane | None) -> bool:
    return x is not None and y is not None and any(x in g and y in g for g in _LOOK_ALIKES)


_LOOK_ALIKES = (
    frozenset({Lane.KICK, Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR}),
    frozenset({Lane.SNARE, Lane.TOM_HIGH, Lane.TOM_MID, Lane.TOM_FLOOR}),
    frozenset({Lane.HIHAT_CLOSED, Lane.HIHAT_OPEN, Lane.HIHAT_PEDAL, Lane.CRASH, Lane.RIDE}),
)


def _check_rate(sample_rate: int, what: str) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise InputError(
            f"{what} has a sample rate of {sample_rate} Hz; cymbalism reads "
            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz (is the header damaged?)"
        )


def detect_hits(
    samples: np.ndarray,
    sample_rate: int,
    *,
    kit: KitTemplates | None = None,
    config: DetectorConfig | None = None,
) -> Hits:
    """Hits in a mono signal held in memory (the same detector as files and live input).

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float, -1..1]
    sample_rate : int
    kit : KitTemplates, optional
    config : DetectorConfig, optional

    Returns
    -------
    hits : Hits
        Onsets in seconds from the first sample.

    Examples
    --------
    Two drums rendered at known times are found where they were struck:

    >>> from cymbalism.io.audio import synthesize_hits
    >>> truth = Hits.from_arrays([0.5, 1.0], [Lane.KICK, Lane.SNARE], 100)
    >>> hits = detect_hits(synthesize_hits(truth, 44100), 44100)
    >>> [Lane(x).name for x in hits.lane]
    ['KICK', 'SNARE']
    >>> bool(np.all(np.abs(hits.onset_sec - truth.onset_sec) < 0.005))
    True
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    det = StreamingDetector(sample_rate, kit=kit, config=config)
    return Hits.concat([det.process(x), det.finish()])


def onset_spectra(
    samples: np.ndarray,
    sample_rate: int,
    *,
    config: DetectorConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every onset of a mono signal with the spectrum it added (for learning a kit).

    Returns
    -------
    onset_sec : np.ndarray [shape=(n,), float64, seconds]
    added : np.ndarray [shape=(n, 64), float64, >= 0]
        The mel magnitudes each onset added (zero in bands above Nyquist).
    """
    rec = _RecordingDetector(sample_rate, config=config)
    rec.process(np.asarray(samples, dtype=np.float64))
    rec.finish()
    if not rec.records:
        return np.empty(0), np.empty((0, _N_BANDS))
    t, a = zip(*rec.records, strict=True)
    return np.asarray(t), np.stack(a)


#: A stand-in kit for :class:`_RecordingDetector`, which only keeps the spectra.
_SPECTRA_ONLY = KitTemplates("spectra", (Lane.KICK,), np.full((1, _N_BANDS), 1.0 / _N_BANDS))


class _RecordingDetector(StreamingDetector):
    """A detector that also keeps each onset's added spectrum (for calibration)."""

    def __init__(self, sample_rate: int, *, config: DetectorConfig | None = None) -> None:
        super().__init__(sample_rate, kit=_SPECTRA_ONLY, config=config)
        self.records: list[tuple[float, np.ndarray]] = []

    def _settle(self) -> Hits:
        f = self._f
        for o in self._waiting:
            if o.frame + f.lane_frames < self._n_frames:
                added = self._added_spectrum(o.frame - self._hist_start)
                if self._too_little(added):
                    continue
                full = np.zeros(_N_BANDS)
                full[f.band_ok] = added
                t = o.frame * f.frame_period_sec - self.config.bias_sec
                self.records.append((t, full))
        return super()._settle()


def with_config(config: DetectorConfig | None = None, **changes: Any) -> DetectorConfig:
    """A copy of ``config`` (or the defaults) with some settings changed."""
    return replace(config or DetectorConfig(), **changes)
