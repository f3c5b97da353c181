"""A chart as JSON, exactly: tempo map, time signatures, sections and every part.

Floats are written with ``repr`` precision, so a chart read back is equal to the one
stored (``Chart`` parts compare by position, lane and velocity).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from cymbalism.errors import InputError
from cymbalism.model.chart import Chart, Level, Part, Roll
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap

__all__ = ["chart_digest", "chart_from_json", "chart_to_json"]

_FORMAT = 1


def _part_doc(part: Part) -> dict[str, list]:
    return {"qn": part.qn.tolist(), "lane": part.lane.tolist(), "velocity": part.velocity.tolist()}


def _part_from_doc(doc: dict[str, list]) -> Part:
    return Part(
        np.asarray(doc["qn"], dtype=np.float64),
        np.asarray(doc["lane"], dtype=np.int8),
        np.asarray(doc["velocity"], dtype=np.int16),
    )


def chart_to_json(chart: Chart) -> str:
    """The chart as a compact JSON string."""
    doc: dict[str, Any] = {
        "format": _FORMAT,
        "title": chart.title,
        "artist": chart.artist,
        "tempos": [[float(q), float(b)] for q, b in chart.tempo_map.tempos],
        "time_signatures": [
            [float(q), int(n), int(d)] for q, n, d in chart.tempo_map.time_signatures
        ],
        "sections": [[float(q), str(name)] for q, name in chart.sections],
        "end_qn": float(chart.end_qn),
        "metadata": {str(k): str(v) for k, v in chart.metadata.items()},
        "parts": {level.name.lower(): _part_doc(part) for level, part in chart.parts.items()},
    }
    if chart.expert_plus is not None:
        doc["expert_plus"] = _part_doc(chart.expert_plus)
    if chart.rolls:
        doc["rolls"] = {
            level.name.lower(): [[r.start_qn, r.end_qn, [int(x) for x in r.lanes]] for r in rolls]
            for level, rolls in chart.rolls.items()
        }
    return json.dumps(doc, separators=(",", ":"))


def chart_from_json(text: str) -> Chart:
    """The chart stored by :func:`chart_to_json`."""
    try:
        doc = json.loads(text)
        parts = {Level.parse(name): _part_from_doc(p) for name, p in doc["parts"].items()}
        plus = doc.get("expert_plus")
        tempo_map = TempoMap(
            [tuple(t) for t in doc["tempos"]],
            [(float(q), int(n), int(d)) for q, n, d in doc["time_signatures"]],
        )
        return Chart(
            title=doc["title"],
            tempo_map=tempo_map,
            parts=parts,
            sections=tuple((float(q), str(n)) for q, n in doc["sections"]),
            end_qn=float(doc["end_qn"]),
            artist=doc.get("artist", ""),
            metadata=doc.get("metadata", {}),
            expert_plus=None if plus is None else _part_from_doc(plus),
            rolls={
                Level.parse(name): tuple(
                    Roll(float(a), float(b), tuple(Lane(int(x)) for x in lanes))
                    for a, b, lanes in rolls
                )
                for name, rolls in doc.get("rolls", {}).items()
            },
        )
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"a stored chart could not be read back: {exc}") from None


def chart_digest(chart_json: str) -> str:
    """A SHA-256 of the chart's JSON: equal charts have equal digests."""
    return hashlib.sha256(chart_json.encode()).hexdigest()
