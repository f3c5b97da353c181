"""Recordings of acoustic kits -> Hits: onset detection, lane classification, loudness.

This is the only package of cymbalism that knows about samples and frames. Everything
it returns is in seconds (float64) and :class:`~cymbalism.model.lanes.Lane` values.
One module per job:

- :mod:`~cymbalism.io.audio.detector`: the streaming onset detector and drum classifier
  (:class:`StreamingDetector`, :func:`detect_hits`, :class:`DetectorConfig`,
  :data:`DETECTOR_BIAS_SEC`, :data:`LIVE_CONFIG`, :func:`refine_onset`, :func:`lane_delays`);
- :mod:`~cymbalism.io.audio.templates`: kit templates and their files
  (:class:`KitTemplates`, :func:`default_kit`, :func:`profile_kit`,
  :func:`load_kit_templates`, ...);
- :mod:`~cymbalism.io.audio.learn`: learning a kit from recordings (:func:`calibrate_kit`);
- :mod:`~cymbalism.io.audio.files`: opening sound files in any format, block by block
  (:func:`open_sound`, :class:`SoundSource`, :class:`AudioBrokeOff`);
- :mod:`~cymbalism.io.audio.align`: recordings from separate devices on one clock
  (:func:`align_recordings`, :class:`ClockAlignment`);
- :mod:`~cymbalism.io.audio.bleed`: the song's recording heard in a take, found and
  taken out (:class:`Music`, :func:`find_music`, :func:`remove_music`);
- :mod:`~cymbalism.io.audio.read`: reading recordings (:func:`read_audio`,
  :class:`AudioPerformance`, :data:`AUDIO_SUFFIXES`);
- :mod:`~cymbalism.io.audio.synth`: a drum synthesizer with exactly known onsets
  (:func:`synthesize_hits`), for tests, benchmarks and evaluation.

Live sound-card input is :class:`cymbalism.live.microphone.AudioInput`. Every public name
of the modules above is importable from this package.
"""

from __future__ import annotations

from cymbalism.io.audio.align import ClockAlignment, align_recordings
from cymbalism.io.audio.bleed import Music, MusicInTake, find_music, remove_music
from cymbalism.io.audio.detector import (
    DETECTOR_BIAS_SEC,
    LIVE_CONFIG,
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    DetectorConfig,
    StreamingDetector,
    classify_added_spectrum,
    detect_hits,
    lane_delays,
    onset_spectra,
    refine_onset,
    with_config,
)
from cymbalism.io.audio.files import AudioBrokeOff, SoundSource, open_sound
from cymbalism.io.audio.learn import (
    DEFAULT_CALIBRATION_ORDER,
    calibrate_kit,
    learn_kit,
    learn_kit_from_mixtures,
)
from cymbalism.io.audio.read import (
    AUDIO_SUFFIXES,
    ONE_MIC_NOTE,
    AudioPerformance,
    AudioWarning,
    hit_summary,
    hits_without_music,
    read_audio,
)
from cymbalism.io.audio.synth import synthesize_hits
from cymbalism.io.audio.templates import (
    OTHER,
    KitTemplates,
    default_kit,
    kit_templates_dir,
    lane_label,
    list_kit_templates,
    load_kit_templates,
    parse_kit_lane,
    profile_kit,
    save_kit_templates,
)

__all__ = [
    "AUDIO_SUFFIXES",
    "DEFAULT_CALIBRATION_ORDER",
    "DETECTOR_BIAS_SEC",
    "LIVE_CONFIG",
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "ONE_MIC_NOTE",
    "OTHER",
    "AudioBrokeOff",
    "AudioPerformance",
    "AudioWarning",
    "ClockAlignment",
    "DetectorConfig",
    "KitTemplates",
    "Music",
    "MusicInTake",
    "SoundSource",
    "StreamingDetector",
    "align_recordings",
    "calibrate_kit",
    "classify_added_spectrum",
    "default_kit",
    "detect_hits",
    "find_music",
    "hit_summary",
    "hits_without_music",
    "kit_templates_dir",
    "lane_delays",
    "lane_label",
    "learn_kit",
    "learn_kit_from_mixtures",
    "list_kit_templates",
    "load_kit_templates",
    "onset_spectra",
    "open_sound",
    "parse_kit_lane",
    "profile_kit",
    "read_audio",
    "refine_onset",
    "remove_music",
    "save_kit_templates",
    "synthesize_hits",
    "with_config",
]
