"""How fast do simulated beginners climb the path while duetting with a simulated expert?

Run: ``.venv/bin/python evaluation/lesson.py [--song mirrorball] [--minutes 20] [--seeds 5]``

What is simulated
-----------------
An expert (``cymbalism.simulate.EXPERT``) plays the full part of the song, on repeat,
for ``--minutes``; a beginner plays the part the :class:`~cymbalism.coaching.lesson.LessonPath`
gives them, starting at Beginner, at the song's tempo (they play with the expert, so the
tempo stays at 100%). The two are simulated together with
:func:`cymbalism.simulate.simulate_duet` (phase correction toward the click and toward
each other) in stretches of four bars; after every bar the path judges the beginner's
bar (the shared align/timing code) and may change the level. As in the live engine, the
new level applies from the bar after next: the bar between was laid out before the
change, is played at the old level and not judged by the path; the rest of the stretch
is then played again at the new level. Each stretch
starts the two players' phase correction afresh (on the click, with their biases).

The beginner is ``cymbalism.simulate.BEGINNER`` with its own learning switched off and
replaced by one that spans the whole session and depends on the part:

- practice factor ``f(t) = r + (1 - r) exp(-t / L)`` over the minutes played, with
  ``r = 0.1`` and the learning time ``L`` = 90 s (fast), 180 s (typical), 360 s (slow);
- load ``g = D(level) / D(Beginner)``, the part's difficulty score
  (:func:`cymbalism.coaching.simplify.part_difficulty`) relative to the Beginner part;
- miss, extra and wrong-drum rates are the preset's times ``f g^1.5`` (capped at 1);
  the timekeeper and motor noise the preset's times ``f g^0.75``; the preset's 22 ms
  late bias and its coupling gains stay as they are.

For each learner and seed the script reports when the path reached Easy, Medium, Hard
and the full (Expert) part, when the beginner first played the Easy part (or harder) in
sync with the expert (an 8-second stretch where their asynchrony's SD was under 30 ms
and the beginner hit at least 85% of the notes), and when the duo came together for
good (:func:`cymbalism.analysis.sync.came_together`). Times are minutes of playing;
the table gives the median over seeds and the range.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from cymbalism.analysis.align import align
from cymbalism.analysis.sync import (
    DEFAULT_SYNC_WINDOW_SEC,
    TOGETHER_SD_SEC,
    asynchrony,
    came_together,
    windowed_sync,
)
from cymbalism.coaching.lesson import LessonPath, LessonSettings
from cymbalism.coaching.simplify import fold_lanes, part_difficulty
from cymbalism.io.charts import load_chart
from cymbalism.model.chart import Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.simulate import BEGINNER, EXPERT, DrummerModel, simulate_duet

LEARNERS = {"fast": 90.0, "typical": 180.0, "slow": 360.0}
#: How steeply a harder part raises the error rates (the noise rises with half of it).
LOAD_EXPONENT = 1.5
LEARNED_FRACTION = 0.1
STRETCH_BARS = 4
SYNC_SD_SEC = TOGETHER_SD_SEC
SYNC_WINDOW_SEC = DEFAULT_SYNC_WINDOW_SEC


@dataclass
class Run:
    reached_min: dict[Level, float]
    in_sync_easy_min: float | None
    came_together_min: float | None
    final_level: Level


def _stretch(song: Chart, first_bar: int, n_bars: int) -> Chart:
    """Bars ``first_bar`` .. ``first_bar + n_bars - 1`` of the song (wrapping round), from 0."""
    tm = song.tempo_map
    total = song.n_bars
    parts = {}
    for lv in song.levels:
        pieces_qn, pieces_lane, pieces_vel = [], [], []
        for k in range(n_bars):
            bar = (first_bar + k) % total
            a, b = float(tm.bar_to_qn(bar)), float(tm.bar_to_qn(bar + 1))
            p = song.part(lv).between(a, b)
            pieces_qn.append(p.qn - a + k * (b - a))
            pieces_lane.append(p.lane)
            pieces_vel.append(p.velocity)
        parts[lv] = Part.from_arrays(
            np.concatenate(pieces_qn), np.concatenate(pieces_lane), np.concatenate(pieces_vel)
        )
    parts = {lv: p for lv, p in parts.items() if len(p)}
    bar_qn = float(tm.bar_length_qn(0))
    return Chart(song.title, tm, parts, end_qn=n_bars * bar_qn)


def _learner(base: DrummerModel, practice: float, load: float) -> DrummerModel:
    noise = practice * load ** (LOAD_EXPONENT / 2)
    rate = practice * load**LOAD_EXPONENT
    return base.with_(
        timekeeper_sd_sec=base.timekeeper_sd_sec * noise,
        motor_sd_sec=base.motor_sd_sec * noise,
        miss_rate=min(1.0, base.miss_rate * rate),
        extra_rate=min(1.0, base.extra_rate * rate),
        wrong_lane_rate=min(1.0, base.wrong_lane_rate * rate),
        learning_time_sec=0.0,
        learned_fraction=1.0,
    )


def run_lesson(song: Chart, learning_time_sec: float, *, minutes: float, seed: int) -> Run:
    tm = song.tempo_map
    if not tm.is_constant or len(tm.time_signatures) != 1:
        raise SystemExit("the evaluation needs a song with one tempo and one time signature")
    bar_sec = float(tm.qn_to_sec(tm.bar_length_qn(0)))
    diff = {lv: part_difficulty(song.part(lv), tm, end_qn=song.end_qn).score for lv in song.levels}
    curve = BEGINNER.with_(learning_time_sec=learning_time_sec, learned_fraction=LEARNED_FRACTION)
    # a duet keeps the song's tempo: the path may not slow it down
    path = LessonPath(song, settings=LessonSettings(min_tempo_scale=1.0))
    rng = np.random.default_rng(seed)
    expert_hits, learner_hits, expert_t, learner_t = [], [], [], []
    reached = {path.level: 0.0}
    t = 0.0
    bar = 0
    n_total = int(minutes * 60.0 / bar_sec)
    played = 0
    # As live: a change decided at the end of a bar applies from the bar after next; the
    # bar between was laid out before it, is played at the old level and not reported.
    laid_out_level = path.level
    while played < n_total:
        level = laid_out_level
        chunk = _stretch(song, bar, STRETCH_BARS)
        model = _learner(BEGINNER, float(curve.practice(t)), diff[level] / diff[Level.BEGINNER])
        a, b = simulate_duet(
            chunk, EXPERT, model, level_a=Level.EXPERT, level_b=level,
            seed=int(rng.integers(2**31)),
        )  # fmt: skip
        for k in range(STRETCH_BARS):
            lo, hi = k * bar_sec, (k + 1) * bar_sec
            w = path.settings.window_sec
            mine = b.between(lo - w, hi - w).shifted(t - lo)
            theirs = a.between(lo - w, hi - w).shifted(t - lo)
            targets = path.targets_for_bar(bar % song.n_bars, start_sec=t, level=level)
            expert_t.append(
                path.targets_for_bar(bar % song.n_bars, start_sec=t, level=Level.EXPERT)
            )
            folded = Hits(mine.onset_sec, fold_lanes(mine.lane, level), mine.velocity)
            reported = level == path.level
            if reported:
                path.on_bar_end(bar % song.n_bars, align(folded, targets))
            expert_hits.append(theirs)
            learner_hits.append(folded)
            learner_t.append(targets)
            t += bar_sec
            bar += 1
            played += 1
            if not reported:  # the bar between: the new level starts now
                laid_out_level = path.level
                reached.setdefault(path.level, t)
                break
            if played >= n_total:
                break
    expert_all, learner_all = Hits.concat(expert_hits), Hits.concat(learner_hits)
    al_e = align(expert_all, Hits.concat(expert_t))
    al_l = align(learner_all, Hits.concat(learner_t))
    asy = asynchrony(al_e, al_l)
    together = came_together(asy, threshold_sec=SYNC_SD_SEC, window_sec=SYNC_WINDOW_SEC)
    in_sync = _first_in_sync(asy, al_l, path, song)
    return Run(
        reached_min={lv: s / 60.0 for lv, s in reached.items()},
        in_sync_easy_min=None if in_sync is None else in_sync / 60.0,
        came_together_min=None if together is None else together / 60.0,
        final_level=path.level,
    )


def _first_in_sync(asy, al_learner, path: LessonPath, song: Chart) -> float | None:
    """The first 8-s stretch at Easy or harder with asynchrony SD < 30 ms and >= 85% hit."""
    w = windowed_sync(asy, window_sec=SYNC_WINDOW_SEC, hop_sec=1.0)
    tgt = al_learner.targets.onset_sec
    hit = al_learner.matched
    # the level played at each time: from the bar history
    bar_sec = float(song.tempo_map.qn_to_sec(song.tempo_map.bar_length_qn(0)))
    levels = np.array([r.level for r in path.history])
    for centre, n, sd in zip(w.time_sec, w.n, w.sd_sec, strict=True):
        if n < 4 or not sd < SYNC_SD_SEC:
            continue
        start, stop = centre - SYNC_WINDOW_SEC / 2, centre + SYNC_WINDOW_SEC / 2
        bars = np.arange(int(start // bar_sec), min(int(stop // bar_sec) + 1, levels.size))
        if bars.size == 0 or levels[np.clip(bars, 0, levels.size - 1)].min() < Level.EASY:
            continue
        sel = (tgt >= start) & (tgt < stop)
        if sel.any() and hit[sel].mean() >= 0.85:
            return float(start)
    return None


def _fmt(values: list[float | None]) -> str:
    """Median (range) over seeds, or how many seeds got there when not all did."""
    got = sorted(v for v in values if v is not None)
    if not got:
        return "not reached"
    if len(got) < len(values):
        return f"{len(got)}/{len(values)} seeds ({got[0]:.1f}-{got[-1]:.1f})"
    text = f"{float(np.median(got)):.1f}"
    return text + (f" ({got[0]:.1f}-{got[-1]:.1f})" if len(got) > 1 else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--song", default="mirrorball")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    song = load_chart(args.song)
    started = time.perf_counter()
    print(f"{song.title} at {song.tempo_map.bpm[0]:g} BPM, {args.minutes:g} min per lesson, "
          f"{args.seeds} seeds; minutes of playing, median (range)")  # fmt: skip
    header = ["learner", "L (s)", "Easy", "Medium", "Hard", "full part", "Easy in sync",
              "came together", "final level"]  # fmt: skip
    rows = []
    for name, learning in LEARNERS.items():
        runs = [run_lesson(song, learning, minutes=args.minutes, seed=s) for s in range(args.seeds)]
        finals = sorted({r.final_level.label for r in runs})
        rows.append([
            name, f"{learning:g}",
            *[_fmt([r.reached_min.get(lv) for r in runs])
              for lv in (Level.EASY, Level.MEDIUM, Level.HARD, Level.EXPERT)],
            _fmt([r.in_sync_easy_min for r in runs]),
            _fmt([r.came_together_min for r in runs]),
            "/".join(finals),
        ])  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        print("  ".join(str(x).ljust(wd) for x, wd in zip(row, widths, strict=True)))
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
