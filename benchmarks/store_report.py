"""Store a 20-minute duet (about 50,000 hits) and build its report; compare with a baseline.

    python benchmarks/store_report.py [--minutes 20] [--db URL] [--repeat 3]

Steps timed (the best of ``--repeat`` runs, in this one process, after a warm-up run
that pays for the imports and font loading, which is reported on its own), as wall-clock
and as CPU seconds of this process (the CPU figure stays honest on a busy machine):

- **store**: ``Store.save_session`` (in one transaction: COPY on PostgreSQL, one
  executemany of a Core insert on SQLite);
- **baseline store**: the same hits as one ORM object per hit (``session.add_all``),
  the way an ORM tutorial would write it;
- **report**: read the session back, analyse it, render the HTML report (5 plots inline)
  and the share card.

The goal is store + report under 2 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def duet_chart(minutes: float):  # type: ignore[no-untyped-def]
    """A dense groove at 180 BPM: 16th-note hi-hats, kick and snare on 8ths, ride on beats."""
    from cymbalism.model.chart import Chart, Level, Part
    from cymbalism.model.lanes import Lane
    from cymbalism.model.tempo import TempoMap

    bpm = 180.0
    bars = int(minutes * bpm / 4)
    sixteenths = np.arange(bars * 16) / 4.0
    eighths = np.arange(bars * 8) / 2.0
    quarters = np.arange(bars * 4, dtype=np.float64)
    kick_snare = np.where((eighths % 2) < 1, Lane.KICK, Lane.SNARE)
    full = Part.from_arrays(
        np.concatenate([sixteenths, eighths, quarters]),
        np.concatenate(
            [
                np.full(sixteenths.size, Lane.HIHAT_CLOSED),
                kick_snare,
                np.full(quarters.size, Lane.RIDE),
            ]
        ),
        100,
    )
    easy = Part.from_arrays(quarters, np.where(quarters % 2 < 1, Lane.KICK, Lane.SNARE), 100)
    return Chart(
        "Twenty-minute jam",
        TempoMap.constant(bpm),
        {Level.EASY: easy, Level.EXPERT: full},
        artist="benchmark",
    )


def simulated_session(minutes: float):  # type: ignore[no-untyped-def]
    """An expert and a beginner; the beginner moves from Easy to Expert after 2 minutes."""
    from cymbalism.model.chart import Level
    from cymbalism.model.hits import Hits
    from cymbalism.model.session import Player, Session
    from cymbalism.simulate import BEGINNER, EXPERT, simulate_duet
    from cymbalism.store import LevelStep

    chart = duet_chart(minutes)
    at_sec = 120.0
    a, b_easy = simulate_duet(chart, EXPERT, BEGINNER, level_b=Level.EASY, seed=1)
    _, b_full = simulate_duet(chart, EXPERT, BEGINNER, level_b=Level.EXPERT, seed=1)
    b = Hits.concat([b_easy.between(-np.inf, at_sec), b_full.between(at_sec, np.inf)])
    session = Session(
        chart,
        (Player("Expert", Level.EXPERT, hits=a), Player("Beginner", Level.EASY, hits=b)),
    )
    steps = {"Beginner": (LevelStep(at_sec, Level.EASY, Level.EXPERT, "promoted"),)}
    return session, steps


def orm_baseline(url: str, session) -> float:  # type: ignore[no-untyped-def]
    """Store the same session's hits as one ORM object per hit; seconds taken."""
    from sqlalchemy.orm import Session as OrmSession

    from cymbalism.store import Store
    from cymbalism.store.models import Hit, SessionPlayerRow

    with Store(url) as store:
        writer = store.start_session(
            session.chart, [p.__class__(p.name, p.level) for p in session.players], flush_ms=0
        )
        writer.close()
        t0 = time.perf_counter()
        with OrmSession(store.engine) as orm, orm.begin():
            seats = (
                orm.query(SessionPlayerRow)
                .filter_by(session_id=writer.session_id)
                .order_by(SessionPlayerRow.seat)
                .all()
            )
            for seat, p in zip(seats, session.players, strict=True):
                orm.add_all(
                    Hit(
                        session_player_id=seat.id, onset_sec=float(t), lane=int(ln), velocity=int(v)
                    )
                    for t, ln, v in zip(p.hits.onset_sec, p.hits.lane, p.hits.velocity, strict=True)
                )
        return time.perf_counter() - t0


def run_once(url: str, session, steps, out: Path) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """Store the session, then build its report; wall and CPU seconds for each."""
    from cymbalism.report.analysis import analyse_stored
    from cymbalism.report.card import write_card
    from cymbalism.report.html import write_html
    from cymbalism.store import Store

    with Store(url) as store:
        t0, c0 = time.perf_counter(), time.process_time()
        session_id = store.save_session(session, level_changes=steps)
        t1, c1 = time.perf_counter(), time.process_time()
        analysis = analyse_stored(store.load(session_id))
        write_html(analysis, out / f"session-{session_id}.html")
        write_card(analysis, out / f"card-{session_id}.png")
        t2, c2 = time.perf_counter(), time.process_time()
    return t1 - t0, t2 - t1, c1 - c0, c2 - c1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--db", help="a database URL (default: a fresh SQLite file)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    session, steps = simulated_session(args.minutes)
    n_hits = sum(len(p.hits) for p in session.players)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        url = args.db or f"sqlite:///{out / 'bench.sqlite3'}"
        cold = run_once(url, session, steps, out)
        runs = [run_once(url, session, steps, out) for _ in range(args.repeat)]
        base_url = args.db or f"sqlite:///{out / 'baseline.sqlite3'}"
        baseline = min(orm_baseline(base_url, session) for _ in range(max(1, args.repeat - 1)))
    store_sec, report_sec = min(r[0] for r in runs), min(r[1] for r in runs)
    store_cpu, report_cpu = min(r[2] for r in runs), min(r[3] for r in runs)
    backend = url.split(":", 1)[0]
    print(f"{args.minutes:g}-minute duet, {n_hits} hits, {backend}")
    print(f"{'step':<40}{'wall s':>9}{'CPU s':>8}{'hits/s':>10}{'vs baseline':>14}")
    rows = [
        ("store: bulk insert (cymbalism)", store_sec, store_cpu, baseline / store_sec),
        ("store: ORM object per hit (baseline)", baseline, None, 1.0),
        ("report: load, analyse, HTML + card", report_sec, report_cpu, None),
        ("store + report", store_sec + report_sec, store_cpu + report_cpu, None),
        ("store + report, first run (cold)", cold[0] + cold[1], cold[2] + cold[3], None),
    ]
    for name, sec, cpu, ratio in rows:
        cpu_s = f"{cpu:.3f}" if cpu is not None else ""
        rate_s = f"{n_hits / sec:,.0f}" if ratio else ""
        ratio_s = f"{ratio:.1f}x faster" if ratio and ratio != 1.0 else ("1.0x" if ratio else "")
        print(f"{name:<40}{sec:>9.3f}{cpu_s:>8}{rate_s:>10}{ratio_s:>14}")
    goal = store_sec + report_sec
    print(
        f"goal: store + report under 2 s -> {'met' if goal < 2 else 'NOT met'} "
        f"({goal:.2f} s wall, {store_cpu + report_cpu:.2f} s CPU)"
    )


if __name__ == "__main__":
    main()
