"""Analyse a corpus: many files (or stored sessions) at once, in parallel, on Dask.

A corpus is a folder of MIDI (or audio) files, a Groove-MIDI-style ``info.csv`` that lists
them with their metadata, or the stored sessions; a run may take several
(:func:`discover_all`). Each file becomes one **job**; each job
gives one **row per player**: hits, tempo (from the file and estimated from the hits),
timing against the grid the player aimed at, phase correction toward the click, and, for
sessions of two or more players, the asynchrony and coupling between them. A file that
cannot be read, or a listing that cannot be read among several, gives one row with its
``error``; the run goes on.

Jobs run in chunks: in this process (``workers=1``), on a local pool of worker processes
(Dask's multiprocessing scheduler, the default), on a fresh local Dask cluster
(``scheduler="local"``), or on a running Dask distributed cluster (``scheduler=ADDRESS``).
The rows come back in job order whichever way they ran.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cymbalism.errors import CymbalismError, InputError, NotFoundError, require
from cymbalism.io.audio.files import SOUND_SUFFIXES
from cymbalism.io.performance import MIDI_SUFFIXES as _MIDI

__all__ = [
    "AUDIO_SUFFIXES",
    "COLUMNS",
    "MIDI_SUFFIXES",
    "Job",
    "analyze_job",
    "check_output",
    "discover",
    "discover_all",
    "run_corpus",
    "summarize",
    "to_frame",
    "write_results",
]

#: Files a folder corpus picks up (those :func:`cymbalism.io.performance.load_performance`
#: reads).
MIDI_SUFFIXES = tuple(sorted(_MIDI))
AUDIO_SUFFIXES = SOUND_SUFFIXES
#: Files read as a session store (SQLite).
STORE_SUFFIXES = (".sqlite", ".sqlite3", ".db")

#: The figures of every row, in order (metadata columns of an info.csv come after ``file``).
COLUMNS = (
    "file",
    "player",
    "error",
    "n_hits",
    "duration_sec",
    "file_bpm",
    "tempo_bpm",
    "tempo_confidence",
    "drift_bpm_per_min",
    "n_notes",
    "hit_rate",
    "n_extra",
    "mean_error_ms",
    "sd_error_ms",
    "mean_abs_error_ms",
    "alpha_click",
    "sigma_t_ms",
    "sigma_m_ms",
    "partner",
    "sync_n",
    "sync_mean_ms",
    "sync_sd_ms",
    "sync_mean_abs_ms",
    "alpha_partner",
    "seconds",
)


@dataclass(frozen=True)
class Job:
    """One file of a corpus.

    Attributes
    ----------
    path : str
        The file to analyse.
    file : str
        How rows name it (path relative to the corpus, or the info.csv id).
    meta : dict
        Metadata copied into every row (info.csv columns such as drummer, style, bpm).
    player : str
        The name of the file's player when the metadata does not give one.
    session_id : int or None
        For a stored session: its id, and ``path`` is the store's URL.
    error : str or None
        Why the job cannot run (a listing that could not be read): it gives one row
        with this error.
    """

    path: str
    file: str
    meta: dict[str, Any] = field(default_factory=dict)
    player: str = ""
    session_id: int | None = None
    error: str | None = None


def discover(path: str | Path) -> list[Job]:
    """The jobs of a corpus at ``path``.

    Parameters
    ----------
    path : str or Path
        A folder (every MIDI and audio file under it, sorted); an ``info.csv`` with a
        ``midi_filename`` (or ``audio_filename``, ``filename``, ``path``) column relative
        to the CSV's folder, whose other columns become metadata; or the stored sessions:
        ``"store"`` (the default store), a database URL, or a SQLite file.

    Raises
    ------
    NotFoundError
        If the path does not exist.
    InputError
        If the folder holds no MIDI or audio file, or the CSV has no file column.
    """
    text = str(path)
    if text == "store" or "://" in text or text.lower().endswith(STORE_SUFFIXES):
        return _from_store(None if text == "store" else text)
    p = Path(path)
    if p.is_dir():
        suffixes = MIDI_SUFFIXES + AUDIO_SUFFIXES
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes)
        if not files:
            raise InputError(f"{p}: no MIDI or audio files in this folder")
        return [
            Job(path=str(f), file=str(f.relative_to(p)), player=_player_of(f, p)) for f in files
        ]
    if not p.exists():
        raise NotFoundError(f"no corpus at {p}")
    if p.suffix.lower() != ".csv":
        raise InputError(f"{p}: give a folder of MIDI/audio files or an info.csv")
    return _from_info_csv(p)


def discover_all(paths: Sequence[str | Path]) -> list[Job]:
    """The jobs of several corpora (folders, info.csv files, stores), in the order given.

    A corpus that cannot be listed (a missing folder, an info.csv that is not UTF-8)
    becomes one job that carries its error, so the run goes on with the others.

    Raises
    ------
    InputError, NotFoundError
        If no path is given, or none of them can be listed (the first one's error).
    """
    if not paths:
        raise InputError("give at least one corpus: a folder, an info.csv or 'store'")
    jobs: list[Job] = []
    failed: list[CymbalismError] = []
    for path in paths:
        try:
            jobs += discover(path)
        except CymbalismError as exc:
            failed.append(exc)
            jobs.append(Job(path=str(path), file=str(path), error=str(exc)))
    if len(failed) == len(paths):
        raise failed[0]
    return jobs


def _from_store(url: str | None) -> list[Job]:
    """One job per stored session (``url`` None: the default store)."""
    from cymbalism.store import Store

    if url is not None and "://" not in url:
        if not Path(url).is_file():
            raise NotFoundError(f"no session store at {url}")
        url = f"sqlite:///{Path(url).resolve()}"
    with Store(url) as store:
        address = store.engine.url.render_as_string(hide_password=False)
        infos = store.sessions()
    if not infos:
        raise InputError(f"there are no sessions in {url or 'the default store'} yet")
    return [
        Job(
            path=address,
            file=f"session/{info.id}",
            meta={"session_id": info.id, "title": info.title, "started_at": info.started_at},
            session_id=info.id,
        )
        for info in infos
    ]


def _player_of(f: Path, root: Path) -> str:
    """A folder corpus names a player after the file's top folder (drummer1/...), or 'player'."""
    parts = f.relative_to(root).parts
    return parts[0] if len(parts) > 1 else "player"


def _from_info_csv(p: Path) -> list[Job]:
    from cymbalism.io.tables import read_csv

    header, cells = read_csv(p, what="corpus listing")
    rows = [dict(zip(header, r, strict=True)) for r in cells]
    if not rows:
        raise InputError(f"{p}: the table lists no files")
    cols = list(rows[0])
    file_col = next(
        (c for c in ("midi_filename", "audio_filename", "filename", "path", "file") if c in cols),
        None,
    )
    if file_col is None:
        raise InputError(f"{p}: no column naming the files (midi_filename, filename or path)")
    jobs = []
    for row in rows:
        rel = (row.get(file_col) or "").strip()
        meta = {k: _meta_value(v) for k, v in row.items() if k not in (file_col, "audio_filename")}
        player = str(meta.get("drummer") or meta.get("player") or "player")
        jobs.append(Job(path=str(p.parent / rel), file=rel, meta=meta, player=player))
    return jobs


def _meta_value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and "." not in text else value


def _ms(value: float) -> float:
    return float(value) * 1e3


def _error_row(job: Job, exc: BaseException) -> dict[str, Any]:
    kind = "" if isinstance(exc, CymbalismError) else f"{type(exc).__name__}: "
    return {"file": job.file, **job.meta, "player": job.player, "error": f"{kind}{exc}"}


@dataclass(frozen=True)
class _Performance:
    """What one job plays: each player's hits, their names, the tempo map, their parts;
    for a stored session, already judged as it was live (``report``)."""

    hits: list[Any]
    names: list[str]
    tempo_map: Any
    targets: list[Any] | None = None
    report: Any = None


def _load_file(job: Job) -> _Performance:
    """A MIDI file or a recording; a recording is judged against the click it followed."""
    from cymbalism.io.performance import load_performance

    perf = load_performance(job.path)
    if len(perf.hits) == 0:
        raise InputError(f"{job.path}: no drum hits")
    tempo_map = perf.tempo_map
    if tempo_map is None:  # audio carries no tempo map
        from cymbalism.analysis.tempo import click_grid

        hits = perf.hits
        tempo_map = click_grid(
            hits.onset_sec, weight=hits.velocity.astype(np.float64), lane=hits.lane
        )
    return _Performance([perf.hits], [job.player], tempo_map)


_STORES: dict[str, Any] = {}


def _load_session(job: Job) -> _Performance:
    """A stored session, every player judged as the live engine and the report judge it."""
    from cymbalism.report.analysis import judge_session
    from cymbalism.store import Store

    store = _STORES.get(job.path)
    if store is None:  # one connection pool per worker process and database
        store = _STORES[job.path] = Store(job.path)
    stored = store.load(int(job.session_id or 0))
    if not stored.session.players:
        raise InputError(f"session {job.session_id} has no players")
    report = judge_session(stored.session, level_changes=stored.level_changes)
    hits = [p.alignment.hits for p in report.players]
    names = [p.name for p in report.players]
    tempo_map = stored.chart.tempo_map.scaled(stored.session.settings.tempo_scale)
    return _Performance(hits, names, tempo_map, report=report)


def _figure_rows(job: Job, perf: _Performance) -> list[dict[str, Any]]:
    """One row per player: timing, tempo, click and partner coupling, sync to the partner."""
    from cymbalism.analysis.coupling import fit_phase_correction, onset_table_from_alignments
    from cymbalism.analysis.summary import analyze_players
    from cymbalism.analysis.tempo import tempo_estimate

    report = perf.report or analyze_players(
        perf.hits, tempo_map=perf.tempo_map, targets=perf.targets, names=perf.names
    )
    table = onset_table_from_alignments(
        {p.name: p.alignment for p in report.players}
    ).with_reference_as("click")
    fit = fit_phase_correction(table)
    rows = []
    for k, player in enumerate(report.players):
        hits, stats = player.alignment.hits, player.stats
        weight = hits.velocity.astype(np.float64)
        try:
            tempo = tempo_estimate(hits.onset_sec, weight=weight, lane=hits.lane)
            tempo_bpm, tempo_confidence = tempo.bpm, tempo.confidence
        except CymbalismError:  # too few hits for a tempo
            tempo_bpm = tempo_confidence = float("nan")
        row: dict[str, Any] = {
            "file": job.file,
            **job.meta,
            "player": player.name,
            "error": None,
            "n_hits": len(hits),
            "duration_sec": hits.duration_sec,
            "file_bpm": report.tempo_bpm,
            "tempo_bpm": tempo_bpm,
            "tempo_confidence": tempo_confidence,
            "drift_bpm_per_min": _drift(hits.onset_sec, weight, tempo_bpm),
            "n_notes": stats.n_notes,
            "hit_rate": stats.hit_rate,
            "n_extra": stats.n_extra,
            "mean_error_ms": _ms(stats.mean_error_sec),
            "sd_error_ms": _ms(stats.sd_error_sec),
            "mean_abs_error_ms": _ms(stats.mean_abs_error_sec),
            "alpha_click": fit.gain(player.name, "click"),
            "sigma_t_ms": _ms(fit.sigma_t_sec[k]),
            "sigma_m_ms": _ms(fit.sigma_m_sec[k]),
        }
        pair = next((p for p in report.pairs if player.name in (p.a, p.b)), None)
        if pair is not None:
            partner = pair.b if pair.a == player.name else pair.a
            sign = 1.0 if pair.a == player.name else -1.0
            row.update(
                {
                    "partner": partner,
                    "sync_n": pair.stats.n,
                    "sync_mean_ms": sign * _ms(pair.stats.mean_sec),
                    "sync_sd_ms": _ms(pair.stats.sd_sec),
                    "sync_mean_abs_ms": _ms(pair.stats.mean_abs_sec),
                    "alpha_partner": fit.gain(player.name, partner),
                }
            )
        rows.append(row)
    return rows


def _drift(onset_sec: np.ndarray, weight: np.ndarray, bpm: float) -> float:
    """The tempo drift (BPM per minute) around ``bpm``; NaN where a short or odd file has
    none."""
    from cymbalism.analysis.tempo import tempo_curve

    try:
        return tempo_curve(onset_sec, weight=weight, reference_bpm=bpm).drift_bpm_per_min
    except (CymbalismError, ValueError, FloatingPointError):
        return float("nan")


def analyze_job(job: Job) -> list[dict[str, Any]]:
    """The rows of one job; never raises: a failure becomes one row with ``error`` set."""
    started = time.perf_counter()
    try:
        if job.error is not None:
            raise InputError(job.error)
        if job.session_id is None and not Path(job.path).is_file():
            raise NotFoundError(f"{job.path}: no such file")
        with np.errstate(all="ignore"):
            perf = _load_session(job) if job.session_id is not None else _load_file(job)
            rows = _figure_rows(job, perf)
    except Exception as exc:  # one bad file must never stop a corpus run
        rows = [_error_row(job, exc)]
    seconds = time.perf_counter() - started
    for row in rows:
        row["seconds"] = seconds / len(rows)
    return rows


def analyze_chunk(jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """The rows of several jobs, in order (one task of the parallel run)."""
    return [row for job in jobs for row in analyze_job(job)]


def _chunks(jobs: Sequence[Job], size: int) -> Iterator[list[Job]]:
    for k in range(0, len(jobs), size):
        yield list(jobs[k : k + size])


def _chunk_size(n_jobs: int, n_workers: int) -> int:
    # About 16 tasks per worker: enough to balance and show progress, few enough that
    # scheduling costs little next to reading the files.
    return max(1, min(32, n_jobs // max(1, 16 * n_workers)))


def run_corpus(
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    connect_timeout_sec: float = 10.0,
) -> list[dict[str, Any]]:
    """Analyse every job, in parallel, and return all rows in job order.

    Parameters
    ----------
    jobs : sequence of Job
    workers : int, optional
        Worker processes (default: every CPU). 1 runs in this process.
    scheduler : str, optional
        ``None``: a local process pool (Dask multiprocessing); ``"local"``: start a local
        Dask distributed cluster of ``workers`` processes; otherwise the address of a
        running Dask scheduler (``tcp://host:8786``).
    chunk_size : int, optional
        Jobs per task (default: about 16 tasks per worker, at most 32 jobs each).
    on_progress : callable(done, total), optional
        Called as jobs finish.
    connect_timeout_sec : float
        How long to wait for a Dask scheduler to answer.

    Returns
    -------
    rows : list of dict
        One per file and player (see ``COLUMNS``).

    Raises
    ------
    InputError
        If ``workers`` is not positive.
    MissingExtraError
        If Dask is not installed (``pip install 'cymbalism[corpus]'``).
    """
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    if n_workers < 1:
        raise InputError(f"workers must be 1 or more, got {workers}")
    total = len(jobs)
    size = chunk_size or _chunk_size(total, n_workers)
    chunks = list(_chunks(jobs, size))
    done = 0
    report = on_progress or (lambda _d, _t: None)
    report(0, total)
    if scheduler is None and n_workers == 1:
        rows: list[dict[str, Any]] = []
        for chunk in chunks:
            rows += analyze_chunk(chunk)
            done += len(chunk)
            report(done, total)
        return rows
    if scheduler is None:
        return _run_process_pool(chunks, n_workers, report, total)
    return _run_distributed(chunks, scheduler, n_workers, report, total, connect_timeout_sec)


def _run_process_pool(
    chunks: list[list[Job]], n_workers: int, report: Callable[[int, int], None], total: int
) -> list[dict[str, Any]]:
    dask = require("dask", "corpus")
    require("dask.multiprocessing", "corpus")
    from dask.callbacks import Callback

    counts = {f"chunk-{k}": len(c) for k, c in enumerate(chunks)}
    state = {"done": 0}

    class _Progress(Callback):  # type: ignore[misc]
        def _posttask(self, key: Any, result: Any, dsk: Any, st: Any, worker_id: Any) -> None:
            state["done"] += counts.get(key, 0)
            report(state["done"], total)

    graph: dict[str, Any] = {f"chunk-{k}": (analyze_chunk, c) for k, c in enumerate(chunks)}
    keys = list(graph)
    with _Progress():
        results = dask.multiprocessing.get(graph, keys, num_workers=n_workers)
    return [row for part in results for row in part]


def _run_distributed(
    chunks: list[list[Job]],
    scheduler: str,
    n_workers: int,
    report: Callable[[int, int], None],
    total: int,
    timeout_sec: float,
) -> list[dict[str, Any]]:
    distributed = require("distributed", "corpus")
    cluster = None
    if scheduler == "local":
        cluster = distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        try:
            client = distributed.Client(address, timeout=f"{timeout_sec}s")
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"cannot reach a Dask scheduler at {address!r} ({exc}); "
                "start one with `dask scheduler` or leave out --scheduler"
            ) from None
        with client:
            futures = client.map(analyze_chunk, chunks, pure=False)
            index = {f.key: k for k, f in enumerate(futures)}
            parts: list[list[dict[str, Any]]] = [[] for _ in chunks]
            done = 0
            for fut in distributed.as_completed(futures):
                k = index[fut.key]
                parts[k] = fut.result()
                done += len(chunks[k])
                report(done, total)
    finally:
        if cluster is not None:
            cluster.close()
    return [row for part in parts for row in part]


def to_frame(rows: Sequence[dict[str, Any]]) -> Any:
    """The rows as a pandas DataFrame with the ``COLUMNS`` first (metadata after ``file``)."""
    pd = require("pandas", "corpus")
    frame = pd.DataFrame(list(rows))
    for col in COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    meta = [c for c in frame.columns if c not in COLUMNS]
    order = ["file", *meta, *[c for c in COLUMNS if c != "file"]]
    frame = frame[order]
    for col in ("error", "player", "partner"):
        frame[col] = frame[col].astype("string")
    return frame


def check_output(out: str | Path) -> Path:
    """Check before a long run that ``out`` can be written: a .parquet or .csv in a folder.

    Raises
    ------
    InputError
        If the suffix is neither, or the folder does not exist.
    """
    out = Path(out)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(f"{out}: write the results to a .parquet or a .csv file")
    if not out.parent.is_dir():
        raise InputError(f"{out}: the folder {out.parent} does not exist")
    return out


def write_results(rows: Sequence[dict[str, Any]], out: str | Path) -> Any:
    """Write the rows to Parquet (or CSV, by the suffix of ``out``); return the frame."""
    frame = to_frame(rows)
    out = Path(out)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=False)
    else:
        require("pyarrow", "corpus")
        meta_cols = [c for c in frame.columns if frame[c].dtype == object]
        for c in meta_cols:
            frame[c] = frame[c].map(lambda v: None if v is None else str(v)).astype("string")
        frame.to_parquet(out, index=False)
    return frame


def summarize(frame: Any, *, by: str = "player") -> Any:
    """Per ``by`` (a column such as player or style): files, hits and the median figures.

    Error rows are left out. Returns a pandas DataFrame sorted by ``by``.
    """
    ok = frame[frame["error"].isna()]
    numeric = ["hit_rate", "mean_error_ms", "sd_error_ms", "tempo_bpm", "alpha_click"]
    grouped = ok.groupby(by, sort=True)
    out = grouped[numeric].median()
    out.insert(0, "hits", grouped["n_hits"].sum())
    out.insert(0, "files", grouped["file"].nunique())
    return out.reset_index()
