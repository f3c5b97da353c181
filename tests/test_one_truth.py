"""One truth: what the players saw live is what is stored, reported, replayed and analysed.

A random session (two players, one of them on the lesson path or not, the other on the
Expert or the Expert+ (double-kick) part, a loop, a tempo scale, a click that follows the
duo, an early stop, a player who leaves and may come back) is driven through the engine
hit by hit under the fake clock, the players playing the notes as they are laid out. The
session is stored, read back and reported, the lesson is replayed from the store as
``cymbalism lesson`` replays it, and the exported hits, read back from the CSV file, are
analysed again: every count and figure must be identical on every path.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import asdict, dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cymbalism.analysis.summary import analyze_players
from cymbalism.coaching.lesson import replay_session
from cymbalism.live.clock import FakeClock
from cymbalism.live.engine import Engine, LiveOptions, LiveResult
from cymbalism.live.run import summarize_for_store
from cymbalism.model.chart import PADS, Chart, Level, Part
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.session import Player, Settings, within_spans
from cymbalism.report.analysis import analyse_stored, level_at, played_hits, player_targets
from cymbalism.report.export import export_rows, write_export
from cymbalism.report.text import summary_sentences
from cymbalism.store import Store
from tests.live.test_engine import groove_chart
from tests.test_expert_plus import with_double_kicks

#: How each kind of player plays: mean error, its SD (seconds), share of notes missed.
SKILL = {"steady": (0.004, 0.008, 0.02), "shaky": (0.020, 0.030, 0.25)}


def same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN, through dicts, lists and dataclasses."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return bool(a == b)


@dataclass(frozen=True)
class Plan:
    """One random session."""

    loop: tuple[int, int] | None
    repeats: int
    tempo_scale: float
    follow: bool
    lesson: bool
    ben: str  # "steady" or "shaky"
    stop_frac: float | None
    leave_frac: float | None
    back_after_sec: float | None
    seed: int
    ana_plus: bool = False  # Ana plays the Expert+ part
    pads: bool = False  # a chart made for four pads: the hi-hat's notes taken on its tom
    # Ana's hi-hat pedal on the backbeat: "free" (the chart has no pedal note, as no game
    # chart has) or "charted" (her parts have pedal notes there)
    pedal: str | None = None


def with_backbeat_pedal(chart: Chart) -> Chart:
    """``chart`` with a hi-hat pedal note on every snare note of its Expert and Expert+ parts."""
    parts = {}
    for lv in (Level.EXPERT, Level.EXPERT_PLUS):
        part = chart.part(lv)
        snare = part.lane == Lane.SNARE
        parts[lv] = Part.from_arrays(
            np.concatenate([part.qn, part.qn[snare]]),
            np.concatenate([part.lane, np.full(int(snare.sum()), int(Lane.HIHAT_PEDAL))]),
            np.concatenate([part.velocity, np.full(int(snare.sum()), 90)]),
        )
    return chart.with_parts(parts)


def play_session(store: Store, plan: Plan) -> tuple[Engine, LiveResult, int]:
    """Play ``plan`` through the engine under the fake clock, recording to ``store``."""
    chart = with_double_kicks(groove_chart(bars=8))
    if plan.pads:  # its yellow read as the hi-hat, and the high tom shares the pad
        chart = dataclasses.replace(chart, metadata={**chart.metadata, PADS: "cymbals"})
    if plan.pedal == "charted":
        chart = with_backbeat_pedal(chart)
    ana = Level.EXPERT_PLUS if plan.ana_plus else Level.EXPERT
    players = [Player("Ana", ana), Player("Ben", Level.BEGINNER)]
    s = Settings(tempo_scale=plan.tempo_scale, follow=plan.follow, count_in_bars=1)
    options = LiveOptions(
        loop_bars=plan.loop,
        loop_repeats=plan.repeats,
        lesson_players=("Ben",) if plan.lesson else (),
    )
    writer = store.start_session(chart, players, settings=s, flush_ms=0, flush_hits=1 << 30)
    clock = FakeClock()
    engine = Engine(chart, players, s, clock, writer, options=options, start_ns=0)
    rng = np.random.default_rng(plan.seed)
    bars = 8 if plan.loop is None else (plan.loop[1] - plan.loop[0] + 1) * plan.repeats
    length = bars * 2.0 / plan.tempo_scale  # about: 4/4 at 120 BPM
    stop = None if plan.stop_frac is None else plan.stop_frac * length
    leave = None if plan.leave_frac is None else plan.leave_frac * length
    back = None if leave is None or plan.back_after_sec is None else leave + plan.back_after_sec
    pending: list[tuple[float, str, int, int]] = []
    seen = {"Ana": 0, "Ben": 0}
    skill = {"Ana": SKILL["steady"], "Ben": SKILL[plan.ben]}
    t = -engine.count_in_sec
    away = False
    while True:
        t += 0.01
        if stop is not None and t >= stop:
            break
        if leave is not None and not away and t >= leave and (back is None or t < back):
            engine.player_left("Ben", song_sec=leave)
            away = True
        if back is not None and away and t >= back:
            engine.player_rejoined("Ben", song_sec=back)
            away = False
        for name in ("Ana", "Ben"):  # each plays what is laid out for them
            tg = engine.laid_out(name)
            bias, sd, miss = skill[name]
            for k in range(seen[name], len(tg)):
                if rng.random() < miss:
                    continue
                on = float(tg.onset_sec[k]) + bias + rng.normal(0, sd)
                lane = int(tg.lane[k])
                if plan.pads and lane == Lane.HIHAT_CLOSED and rng.random() < 0.5:
                    lane = int(Lane.TOM_HIGH)  # the other drum of the yellow pad
                pending.append((on, name, lane, int(rng.integers(40, 127))))
                chick = {"free": "Ana", "charted": "Ben"}.get(plan.pedal or "")
                if lane == Lane.SNARE and name == chick:  # a chick with the snare
                    pending.append((on + 0.004, name, int(Lane.HIHAT_PEDAL), 70))
                if rng.random() < 0.05:  # an extra hit, on any drum
                    pending.append((on + 0.2, name, int(rng.integers(0, len(Lane))), 80))
            seen[name] = len(tg)
        pending.sort()
        while pending and pending[0][0] <= t:
            on, name, lane, vel = pending.pop(0)
            if not (away and name == "Ben"):  # a player who left plays nothing here
                engine.push_hit(name, lane, vel, song_sec=on)
        clock.set_ns(max(clock.now_ns(), engine.sec_to_ns(t)))
        engine.tick(song_sec=t)
        if math.isfinite(engine.end_sec) and t > engine.end_sec + 0.5:
            stop = None  # played to the end
            break
    result = engine.finish(until_sec=stop)
    sid = writer.finish()
    summary, duet = summarize_for_store(result)
    store.save_summary(sid, summary, duet)
    return engine, result, sid


def read_export(path) -> dict[str, Hits]:  # type: ignore[no-untyped-def]
    """Each player's hits from an exported CSV file (rows of missed notes left out)."""
    cols: dict[str, list[list[float]]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["verdict"] == "miss":
                continue
            c = cols.setdefault(row["player"], [[], [], []])
            c[0].append(float(row["onset_sec"]))
            c[1].append(int(row["lane"]))
            c[2].append(int(row["velocity"]))
    return {name: Hits.from_arrays(*c) for name, c in cols.items()}


plans = st.builds(
    Plan,
    loop=st.sampled_from([None, (3, 5), (1, 2)]),
    repeats=st.integers(1, 2),
    tempo_scale=st.sampled_from([1.0, 0.8, 1.1]),
    follow=st.booleans(),
    lesson=st.booleans(),
    ben=st.sampled_from(sorted(SKILL)),
    stop_frac=st.one_of(st.none(), st.floats(0.3, 0.95)),
    leave_frac=st.one_of(st.none(), st.floats(0.2, 0.8)),
    back_after_sec=st.one_of(st.none(), st.floats(1.0, 4.0)),
    seed=st.integers(0, 10_000),
    ana_plus=st.booleans(),
    pads=st.booleans(),
    pedal=st.sampled_from([None, "free", "charted"]),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=plans)
def test_every_path_gives_the_same_figures(tmp_path, plan: Plan) -> None:
    db = tmp_path / f"s{plan.seed}.sqlite3"
    db.unlink(missing_ok=True)
    with Store(f"sqlite:///{db}") as store:
        engine, result, sid = play_session(store, plan)
        stored = store.load(sid)
        info = store.info(sid)
    live = result.session
    analysis = analyse_stored(stored)

    # the stored session is the live one
    assert stored.session.until_sec == live.until_sec
    assert stored.session.layout == live.layout
    assert stored.session.length_sec == live.length_sec == analysis.duration_sec
    for p in live.players:
        q = stored.session.player(p.name)
        assert q.hits == p.hits and q.present == p.present and q.level is p.level
    assert live.player("Ana").level is (Level.EXPERT_PLUS if plan.ana_plus else Level.EXPERT)
    assert analysis.player("Ana").start_level is live.player("Ana").level

    # the report is the live summary, figure for figure (its words too)
    for mine, rep in zip(result.report.players, analysis.players, strict=True):
        assert mine.name == rep.name
        assert mine.alignment == rep.alignment
        assert same(asdict(mine.stats), asdict(rep.stats))
        assert same(
            {k: asdict(v) for k, v in mine.by_lane.items()},
            {k: asdict(v) for k, v in rep.by_lane.items()},
        )
        levels = result.levels[mine.name]
        assert rep.level_reached == max(lv for _, lv in levels)
        assert [(s.at_sec, s.to_level) for s in rep.level_changes] == levels[1:]
        cached = next(s for s in info.players if s.name == mine.name).summary
        assert cached is not None and cached.level_reached == rep.level_reached
        assert same(cached.hit_rate, mine.stats.hit_rate)
        assert same(cached.mean_error_sec, mine.stats.mean_error_sec)
    pair = result.report.sync
    if pair is None:
        assert analysis.sync is None
    else:
        assert analysis.asynchrony is not None
        assert np.array_equal(analysis.asynchrony.time_sec, pair.asynchrony.time_sec)
        assert np.array_equal(analysis.asynchrony.asynchrony_sec, pair.asynchrony.asynchrony_sec)
        assert same(asdict(analysis.sync), asdict(pair.stats))
    assert analysis.came_together_sec == result.came_together_sec
    if plan.pads:  # half of Ana's hi-hat notes were taken on the high tom, and counted
        ana = analysis.player("Ana").alignment
        hit_sec = ana.hits.onset_sec[ana.hit_index[ana.hit_index >= 0]]
        hats = ana.targets.onset_sec[ana.targets.lane == Lane.HIHAT_CLOSED]
        played = stored.session.player("Ana").hits
        toms = played.onset_sec[played.lane == Lane.TOM_HIGH]
        if hats.size and toms.size:
            on_a_hat = toms[np.abs(toms[:, None] - hats[None, :]).min(axis=1) < 0.03]
            if on_a_hat.size:  # judged drum by drum, no high tom could hit a hi-hat note
                assert np.isin(on_a_hat, hit_sec).any()
    if plan.pedal is not None:  # the pedal is kept as played, and judged only if charted
        ana = analysis.player("Ana").alignment
        played = stored.session.player("Ana").hits
        pedal_hits = played.onset_sec[played.lane == Lane.HIHAT_PEDAL]
        judged = ana.hits.onset_sec[ana.hits.lane == Lane.HIHAT_PEDAL]
        if plan.pedal == "free":
            assert judged.size == 0  # neither hit nor extra, and in the export as played
            rows = [r for r in export_rows(analysis) if r["player"] == "Ana"]
            free = sorted(r["onset_sec"] for r in rows if r["verdict"] == "not judged")
            assert free == pedal_hits[within_spans(pedal_hits, live.judged_spans("Ana"))].tolist()
            if free:
                said = f"Ana's {len(free)} hi-hat pedal stroke"
                assert said in " ".join(summary_sentences(analysis))
        else:
            assert np.isin(judged, pedal_hits).all()
            chick = ana.targets.lane == Lane.HIHAT_PEDAL
            if pedal_hits.size and chick.any():
                assert (ana.hit_index[chick] >= 0).any()
            # Ben chicks with his snare: judged only at a level whose part writes the
            # pedal, kept unjudged at the others (the easier parts drop the pedal)
            ben = analysis.player("Ben")
            hits = stored.session.player("Ben").hits
            at = level_at(ben.start_level, ben.level_changes, hits.onset_sec)
            writes = {
                int(lv): bool(np.any(stored.chart.part(lv).lane == Lane.HIHAT_PEDAL))
                for lv in np.unique(at).tolist()
            }
            chicks = (hits.lane == Lane.HIHAT_PEDAL) & within_spans(
                hits.onset_sec, live.judged_spans("Ben")
            )
            free = chicks & ~np.array([writes[int(lv)] for lv in at], dtype=bool)
            assert ben.unjudged.onset_sec.tolist() == hits.onset_sec[free].tolist()
            judged_ben = ben.alignment.hits.lane == Lane.HIHAT_PEDAL
            assert int(judged_ben.sum()) == int((chicks & ~free).sum())
    assert (info.duet.came_together_sec if info.duet else None) == result.came_together_sec
    words = " ".join(summary_sentences(analysis))
    for p in live.players:
        left = any(math.isfinite(b) for _, b in p.present)
        assert (f"{p.name} left at" in words) == left

    # the lesson replayed from the store, as `cymbalism lesson` does, takes the path the
    # engine took, bar for bar, never beyond the parts the report says were played
    if plan.lesson:
        replay = replay_session(stored.session, "Ben", grace_sec=engine.options.grace_sec)
        live_path = engine._paths["Ben"]
        assert [(c.bar, c.level, c.tempo_scale) for c in replay.changes] == [
            (c.bar, c.level, c.tempo_scale) for c in live_path.changes
        ]
        assert [(b.bar, b.level, b.stats.n_notes, b.stats.n_hit) for b in replay.history] == [
            (b.bar, b.level, b.stats.n_notes, b.stats.n_hit) for b in live_path.history
        ]
        assert replay.final_level == live_path.level
        assert all(b.level <= analysis.player("Ben").level_reached for b in replay.history)

    # the exported hits, read back from the file and analysed, give the same figures again
    exported = read_export(write_export(analysis, tmp_path / f"s{plan.seed}.csv"))
    chart = stored.chart.scaled(stored.session.settings.tempo_scale)
    names = [p.name for p in stored.session.players]
    steps = [stored.level_changes.get(n, ()) for n in names]
    offline = analyze_players(
        [
            played_hits(exported.get(p.name, Hits.empty()), p.level, s, chart=chart)
            for p, s in zip(stored.session.players, steps, strict=True)
        ],
        tempo_map=chart.tempo_map,
        targets=[
            player_targets(chart, p.level, s, stored.session.layout)
            for p, s in zip(stored.session.players, steps, strict=True)
        ],
        names=names,
        window_sec=stored.session.settings.window_sec,
        spans=[stored.session.judged_spans(n) for n in names],
    )
    if plan.ana_plus:  # the double kicks were there to play, and were judged
        layout = stored.session.layout
        plus = player_targets(chart, Level.EXPERT_PLUS, (), layout)
        assert len(plus) > len(player_targets(chart, Level.EXPERT, (), layout))
    for off, mine in zip(offline.players, result.report.players, strict=True):
        assert off.alignment == mine.alignment
        assert same(asdict(off.stats), asdict(mine.stats))
    if pair is not None:
        assert offline.sync is not None
        assert same(asdict(offline.sync.stats), asdict(pair.stats))
        assert offline.sync.came_together_sec == pair.came_together_sec


def test_a_player_who_left_is_judged_only_while_there(tmp_path) -> None:
    plan = Plan(None, 1, 1.0, False, False, "steady", None, 0.3, None, 3)
    with Store(f"sqlite:///{tmp_path}/s.sqlite3") as store:
        _, result, sid = play_session(store, plan)
        stored = store.load(sid)
        info = store.info(sid)
    analysis = analyse_stored(stored)
    ben = stored.session.player("Ben")
    assert ben.left_sec == pytest.approx(0.3 * 16.0, abs=0.02)
    assert info.status == "finished"
    # none of Ben's notes after he left is counted, and the sync stops there too
    rep = analysis.player("Ben")
    assert len(rep.alignment.targets) and rep.alignment.targets.onset_sec.max() < ben.left_sec
    assert analysis.asynchrony is not None
    assert analysis.asynchrony.time_sec.max() < ben.left_sec
    # Ben hit nearly all he was there for: left, not missing the rest of the song
    assert rep.stats.hit_rate > 0.9
    words = " ".join(summary_sentences(analysis))
    assert "Ben left at 0:05, and is judged only while there." in words
    assert "to the end" not in words
    assert result.report.players[1].stats.n_notes == rep.stats.n_notes
