"""One truth: what the players saw live is what is stored, reported, replayed and analysed.

A random session (two players, one of them on the lesson path or not, a loop, a tempo
scale, a click that follows the duo, an early stop, a player who leaves and may come
back) is driven through the engine hit by hit under the fake clock, the players playing
the notes as they are laid out. The session is stored, read back and reported, the
lesson is replayed, and the exported hits are analysed: every count and figure must be
identical on every path.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cymbalism.analysis.summary import analyze_players
from cymbalism.coaching.lesson import replay_lesson
from cymbalism.live.clock import NS_PER_SEC, FakeClock
from cymbalism.live.engine import Engine, LiveOptions
from cymbalism.live.run import summarize_for_store
from cymbalism.model.chart import Level
from cymbalism.model.hits import Hits
from cymbalism.model.session import Player, Settings
from cymbalism.report.analysis import analyse_stored, player_targets, played_hits
from cymbalism.report.export import hit_table
from cymbalism.store import Store
from tests.live.test_engine import groove_chart


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def play_session(
    store: Store,
    *,
    loop: tuple[int, int] | None,
    repeats: int,
    tempo_scale: float,
    follow: bool,
    lesson: bool,
    stop_frac: float | None,
    leave_frac: float | None,
    back_after_sec: float | None,
    seed: int,
):
    chart = groove_chart(bars=12)
    players = [Player("Ana", Level.EXPERT), Player("Ben", Level.BEGINNER)]
    s = Settings(tempo_scale=tempo_scale, follow=follow, count_in_bars=1)
    options = LiveOptions(
        loop_bars=loop, loop_repeats=repeats, lesson_players=("Ben",) if lesson else ()
    )
    writer = store.start_session(chart, players, settings=s, flush_ms=0, flush_hits=1 << 30)
    clock = FakeClock()
    engine = Engine(chart, players, s, clock, writer, options=options, start_ns=0)
    rng = np.random.default_rng(seed)
    # rough length, to place the stop and the leaving
    length = 24.0 / tempo_scale * (1 if loop is None else (loop[1] - loop[0] + 1) * repeats / 12)
    stop = None if stop_frac is None else stop_frac * length
    leave = None if leave_frac is None else leave_frac * length
    back = None if leave is None or back_after_sec is None else leave + back_after_sec
    pending: list[tuple[float, str, int, int]] = []
    seen = {"Ana": 0, "Ben": 0}
    skill = {"Ana": (0.004, 0.010, 0.03), "Ben": (0.020, 0.030, 0.25)}
    t = -engine.count_in_sec
    step = 0.01
    left = back_done = False
    while True:
        t += step
        if stop is not None and t >= stop:
            break
        if leave is not None and not left and t >= leave:
            engine.player_left("Ben", song_sec=leave)
            left = True
        if back is not None and left and not back_done and t >= back:
            engine.player_rejoined("Ben", song_sec=back)
            back_done = True
        for name in ("Ana", "Ben"):  # the players play what is laid out for them
            tg = engine.laid_out(name)
            bias, sd, miss = skill[name]
            for k in range(seen[name], len(tg)):
                if rng.random() < miss:
                    continue
                on = float(tg.onset_sec[k]) + bias + rng.normal(0, sd)
                pending.append((on, name, int(tg.lane[k]), int(rng.integers(40, 127))))
                if rng.random() < 0.05:  # an extra hit
                    pending.append((on + 0.2, name, int(rng.integers(0, 3)), 80))
            seen[name] = len(tg)
        pending.sort()
        while pending and pending[0][0] <= t:
            on, name, lane, vel = pending.pop(0)
            away = left and not back_done and name == "Ben"
            if not away:
                engine.push_hit(name, lane, vel, song_sec=on)
        clock.set_ns(max(clock.now_ns(), engine.sec_to_ns(t)))
        engine.tick(song_sec=t)
        if math.isfinite(engine.end_sec) and t > engine.end_sec + 0.5:
            stop = None
            break
    result = engine.finish(until_sec=stop)
    sid = writer.finish()
    summary, duet = summarize_for_store(result)
    store.save_summary(sid, summary, duet)
    return engine, result, sid


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    loop=st.sampled_from([None, (3, 5), (1, 2)]),
    repeats=st.integers(1, 2),
    tempo_scale=st.sampled_from([1.0, 0.8, 1.1]),
    follow=st.booleans(),
    lesson=st.booleans(),
    stop_frac=st.one_of(st.none(), st.floats(0.3, 0.95)),
    leave_frac=st.one_of(st.none(), st.floats(0.2, 0.8)),
    back_after_sec=st.one_of(st.none(), st.floats(1.0, 4.0)),
    seed=st.integers(0, 10_000),
)
def test_every_path_gives_the_same_figures(
    tmp_path, loop, repeats, tempo_scale, follow, lesson, stop_frac, leave_frac, back_after_sec, seed
) -> None:
    with Store(f"sqlite:///{tmp_path}/s{seed}.sqlite3") as store:
        engine, result, sid = play_session(
            store,
            loop=loop,
            repeats=repeats,
            tempo_scale=tempo_scale,
            follow=follow,
            lesson=lesson,
            stop_frac=stop_frac,
            leave_frac=leave_frac,
            back_after_sec=back_after_sec,
            seed=seed,
        )
        stored = store.load(sid)
        info = store.info(sid)
    analysis = analyse_stored(stored)
    # the stored session is the live one
    assert stored.session.until_sec == result.session.until_sec
    assert stored.session.layout == result.session.layout
    assert stored.session.length_sec == result.session.length_sec == analysis.duration_sec
    for p in result.session.players:
        q = stored.session.player(p.name)
        assert q.hits == p.hits and q.present == p.present
    # the report's figures are the live summary's, count for count
    for live, rep in zip(result.report.players, analysis.players, strict=True):
        assert live.name == rep.name
        assert live.alignment == rep.alignment
        a, b = live.stats, rep.stats
        assert (a.n_notes, a.n_hit, a.n_miss, a.n_extra) == (b.n_notes, b.n_hit, b.n_miss, b.n_extra)
        for f in ("hit_rate", "mean_error_sec", "sd_error_sec", "mean_abs_error_sec"):
            assert same(getattr(a, f), getattr(b, f)), f
        reached = max(lv for _, lv in result.levels[live.name])
        assert rep.level_reached == reached
        steps = [(round(s.at_sec, 9), s.to_level) for s in rep.level_changes]
        assert steps == [(round(at, 9), lv) for at, lv in result.levels[live.name][1:]]
        cached = next(s for s in info.players if s.name == live.name).summary
        assert cached is not None and cached.level_reached == reached
        assert same(cached.hit_rate, a.hit_rate)
    if result.sync is None:
        assert analysis.sync is None
    else:
        assert analysis.sync is not None and analysis.sync.n == result.sync.n
        for f in ("mean_sec", "sd_sec", "mean_abs_sec"):
            assert same(getattr(analysis.sync, f), getattr(result.sync, f)), f
    assert analysis.came_together_sec == result.came_together_sec
    assert (info.duet.came_together_sec if info.duet else None) == result.came_together_sec
    # the lesson replayed from the store takes the path the engine took, bar for bar
    if lesson:
        ben = stored.session.player("Ben")
        s = stored.session.settings
        replay = replay_lesson(
            engine.chart,
            ben.hits,
            start_level=ben.level,
            tempo_scale=min(1.0, s.tempo_scale),
            layout=stored.session.layout,
            base_map=engine.chart.tempo_map.scaled(s.tempo_scale),
            until_sec=stored.session.until_sec,
            present=ben.present,
            window_sec=s.window_sec,
            wait_sec=s.window_sec + engine.options.grace_sec,
        )
        live_path = engine._paths["Ben"]
        assert [(c.bar, c.level, c.tempo_scale) for c in replay.changes] == [
            (c.bar, c.level, c.tempo_scale) for c in live_path.changes
        ]
    # the exported hits, analysed offline, give the same figures again
    table = hit_table(analysis, misses=False)
    hits, targets, spans, names = [], [], [], []
    for p in stored.session.players:
        mine = table["player"] == p.name
        exported = Hits.from_arrays(
            table["onset_sec"][mine], table["lane"][mine], table["velocity"][mine]
        )
        steps = stored.level_changes.get(p.name, ())
        hits.append(played_hits(exported, p.level, steps))
        targets.append(player_targets(engine.chart, p.level, steps, stored.session.layout))
        spans.append(stored.session.judged_spans(p.name))
        names.append(p.name)
    offline = analyze_players(
        hits,
        tempo_map=engine.base_map,
        targets=targets,
        names=names,
        window_sec=stored.session.settings.window_sec,
        spans=spans,
    )
    for off, live in zip(offline.players, result.report.players, strict=True):
        assert (off.stats.n_notes, off.stats.n_hit, off.stats.n_extra) == (
            live.stats.n_notes,
            live.stats.n_hit,
            live.stats.n_extra,
        )
        assert same(off.stats.mean_error_sec, live.stats.mean_error_sec)
    assert offline.sync is None or (
        result.sync is not None and offline.sync.stats.n == result.sync.n
    )


def test_a_player_who_left_is_judged_only_while_there(tmp_path) -> None:
    with Store(f"sqlite:///{tmp_path}/s.sqlite3") as store:
        engine, result, sid = play_session(
            store,
            loop=None,
            repeats=1,
            tempo_scale=1.0,
            follow=False,
            lesson=False,
            stop_frac=None,
            leave_frac=0.3,
            back_after_sec=None,
            seed=3,
        )
        analysis = analyse_stored(store.load(sid))
    ben = result.session.player("Ben")
    assert ben.left_sec is not None and ben.left_sec == pytest.approx(7.2, abs=0.02)
    # no note of Ben's after he left is counted, and the sync stops there too
    targets = result.report.players[1].alignment.targets
    assert len(targets) and targets.onset_sec.max() < ben.left_sec
    assert result.report.sync.asynchrony.time_sec.max() < ben.left_sec
    from cymbalism.report.text import summary_sentences

    words = " ".join(summary_sentences(analysis))
    assert "Ben left at 0:07" in words
    assert "until Ben left" in words or "never settled" in words
