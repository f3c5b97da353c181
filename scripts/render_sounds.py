"""Render cymbalism's shipped sounds with FluidSynth from Debian's General MIDI soundfont.

    python scripts/render_sounds.py kit      # the sampled kit and the clicks
    python scripts/render_sounds.py music    # each built-in song's arrangement
    python scripts/render_sounds.py all

Needs the Debian packages ``fluidsynth`` and ``fluid-soundfont-gm`` (FluidR3_GM.sf2, MIT;
its license is copied beside the samples). The files written here are shipped in the
package; nothing is rendered or downloaded when cymbalism runs.

- The kit: every lane at three velocities (``sound/samples/<lane>-<velocity>.flac``) and
  two clicks, 44.1 kHz mono 16-bit FLAC, each cut to start on its first sample and to end
  when it has decayed by 60 dB. ``kit.json`` lists them (see :mod:`cymbalism.sound.kit`).
- The music: the ``[music]`` table of each song in ``src/cymbalism/songs/`` is turned
  into MIDI (:mod:`cymbalism.songs.music`) and rendered to ``songs/<name>.ogg`` (44.1 kHz
  stereo Ogg Vorbis, written in blocks).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cymbalism.model.lanes import LANE_TO_GM_NOTE, Lane  # noqa: E402
from cymbalism.sound.kit import CLICK_NOTES, KIT_DIR, LAYER_VELOCITIES, sample_name  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
LICENSE_SRC = Path("/usr/share/doc/fluid-soundfont-gm/copyright")
SAMPLE_RATE = 44_100
SILENCE_DB = -60.0


def fluidsynth(midi: Path, wav: Path, *, reverb: bool, gain: float = 0.5) -> np.ndarray:
    """Render a MIDI file to a float array (frames, channels) with the fluidsynth CLI."""
    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        sys.exit("needs the Debian packages fluidsynth and fluid-soundfont-gm")
    cmd = ["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(SAMPLE_RATE), "-O", "float"]
    cmd += ["-F", str(wav)]
    if not reverb:
        cmd += ["-R", "0", "-C", "0"]
    subprocess.run([*cmd, str(SOUNDFONT), str(midi)], check=True, capture_output=True)
    audio, sr = sf.read(wav, dtype="float64", always_2d=True)
    assert sr == SAMPLE_RATE, sr
    return audio


def one_drum(note: int, velocity: int, *, seconds: float = 4.0) -> mido.MidiFile:
    """A MIDI file that strikes one drum (channel 10) at time 0 and lets it ring."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))  # 120 BPM
    track.append(mido.Message("note_on", channel=9, note=note, velocity=velocity, time=0))
    track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=480))
    track.append(mido.MetaMessage("end_of_track", time=int(seconds * 960) - 480))
    return mid


def trim(x: np.ndarray) -> np.ndarray:
    """From the first sample that sounds to where the sound has decayed by 60 dB."""
    mono = np.abs(x)
    peak = float(mono.max())
    floor = peak * 10 ** (SILENCE_DB / 20)
    loud = np.flatnonzero(mono > floor)
    start = int(np.flatnonzero(mono > peak * 1e-4)[0])
    end = int(loud[-1]) + 1
    out = x[start:end].copy()
    fade = min(out.size // 4, SAMPLE_RATE // 100)  # 10 ms to silence
    out[out.size - fade :] *= np.linspace(1.0, 0.0, fade)
    return out


def render_kit(out_dir: Path) -> None:
    """Every lane at every layer velocity, and the two clicks, into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        jobs = [
            (sample_name(lane, v), LANE_TO_GM_NOTE[lane], v)
            for lane in Lane
            for v in LAYER_VELOCITIES
        ]
        jobs += [(f"click-{kind}", note, 110) for kind, note in CLICK_NOTES.items()]
        for name, note, velocity in jobs:
            midi = t / f"{name}.mid"
            one_drum(note, velocity).save(midi)
            audio = fluidsynth(midi, t / f"{name}.wav", reverb=False)
            raw[name] = trim(audio.mean(axis=1))
    # One gain for the whole kit keeps the layers' and drums' levels as the soundfont has them.
    gain = 0.9 / max(float(np.abs(x).max()) for x in raw.values())
    manifest: dict[str, object] = {
        "sample_rate": SAMPLE_RATE,
        "format": "FLAC, 16-bit PCM, mono; each file starts on the sound's first sample",
        "source": f"{SOUNDFONT.name} (Debian fluid-soundfont-gm, MIT), rendered by "
        "scripts/render_sounds.py with FluidSynth, reverb and chorus off",
        "license": "LICENSE-FluidR3_GM.txt",
        "layers": list(LAYER_VELOCITIES),
        "lanes": {},
        "chokes": {"hihat_open": ["hihat_closed", "hihat_pedal"]},
        "clicks": {},
    }
    for name, x in raw.items():
        sf.write(out_dir / f"{name}.flac", (x * gain).astype(np.float32), SAMPLE_RATE, "PCM_16")
    for lane in Lane:
        manifest["lanes"][lane.name.lower()] = {  # type: ignore[index]
            "lane": int(lane),
            "gm_note": LANE_TO_GM_NOTE[lane],
            "files": [f"{sample_name(lane, v)}.flac" for v in LAYER_VELOCITIES],
        }
    for kind in CLICK_NOTES:
        manifest["clicks"][kind] = f"click-{kind}.flac"  # type: ignore[index]
    (out_dir / "kit.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if LICENSE_SRC.is_file():
        shutil.copyfile(LICENSE_SRC, out_dir / "LICENSE-FluidR3_GM.txt")
    total = sum(p.stat().st_size for p in out_dir.glob("*.flac"))
    print(f"kit: {len(raw)} samples, {total / 1024:.0f} KiB in {out_dir}")


def render_music(names: list[str] | None) -> None:
    """Each built-in song's arrangement to ``songs/<name>.ogg``."""
    from cymbalism.songs.music import arrangement_midi, has_music

    from cymbalism import songs
    from cymbalism.sound.audio import write_audio

    song_dir = ROOT / "src" / "cymbalism" / "songs"
    for name in names or songs.song_names():
        if not has_music(name):
            print(f"{name}: no [music] table, skipped")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            midi = Path(tmp) / f"{name}.mid"
            arrangement_midi(name).save(midi)
            audio = fluidsynth(midi, Path(tmp) / f"{name}.wav", reverb=True, gain=0.4)
        # Level: a steady RMS so every song sits the same under the drums.
        rms = float(np.sqrt(np.mean(audio**2)))
        audio *= min(10 ** (-18 / 20) / max(rms, 1e-9), 0.95 / float(np.abs(audio).max()))
        out = song_dir / f"{name}.ogg"
        write_audio(out, audio.astype(np.float32), SAMPLE_RATE, quality=0.1)
        print(f"{name}: {audio.shape[0] / SAMPLE_RATE:.1f} s, {out.stat().st_size // 1024} KiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["kit", "music", "all"])
    parser.add_argument("songs", nargs="*", help="only these songs (music)")
    args = parser.parse_args()
    if args.what in {"kit", "all"}:
        render_kit(KIT_DIR)
    if args.what in {"music", "all"}:
        render_music(args.songs or None)


if __name__ == "__main__":
    main()
