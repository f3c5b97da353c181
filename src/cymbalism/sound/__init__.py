"""What people hear: a sampled kit, song audio and stems, the mixer, time-stretch, render.

Conventions
-----------
- Sound is float32 frames, shape ``(n, 2)`` (stereo) at one sample rate per mixer,
  44.1 kHz unless a sound device asks for another; every source is resampled to it
  when loaded (soxr).
- Song time is seconds from the chart's time zero, as everywhere in cymbalism. A
  recording is placed on it once, at load (:class:`cymbalism.sound.audio.SongAudio`:
  song.ini ``delay``, the chart's ``Offset``, ``--audio-offset``). Frame ``f`` of a mixer
  sounds at song second ``f / sample_rate`` (negative during the count-in).
- Practice tempo, loops and following the duo are the engine's bar layout
  (:class:`cymbalism.model.session.BarLayout`); :mod:`cymbalism.sound.music` turns each
  bar into the stretch of the recording that sounds in it (Signalsmith Stretch).
- Samples and frames exist only here and in :mod:`cymbalism.io.audio`.

Modules: :mod:`~cymbalism.sound.kit` (the sampled kit), :mod:`~cymbalism.sound.audio`
(song folders, stems, reading and writing audio files), :mod:`~cymbalism.sound.stretch`
(time-stretch), :mod:`~cymbalism.sound.music` (the recording along the bar layout),
:mod:`~cymbalism.sound.mixer` (channels and the one callback),
:mod:`~cymbalism.sound.render` (sessions and practice tracks to files) and
:mod:`~cymbalism.sound.device` (the sound card).
"""
