"""Player names given to performances when none are given (`default_names`)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from cymbalism.io.midi import write_hits
from cymbalism.io.performance import _what_differs, default_names, load_performance
from cymbalism.model.hits import Hits
from cymbalism.model.lanes import Lane
from cymbalism.model.tempo import TempoMap


def _take(path: Path) -> Path:
    return write_hits(path, Hits.from_arrays([0.5, 1.0, 1.5], Lane.SNARE), TempoMap.constant(120))


def test_files_named_alike_are_told_apart_by_what_differs(tmp_path: Path) -> None:
    # the jazz duos' names: "Condition 1 - 23 05 - Keys-glued.mid"
    keys = _take(tmp_path / "Condition 1 - 23 05 - Keys-glued.mid")
    drums = _take(tmp_path / "Condition 1 - 23 05 - Drums-glued.mid")
    both = [load_performance(keys), load_performance(drums)]
    assert default_names(both) == ["Keys", "Drums"]
    takes = [_take(tmp_path / f"nara_take3_{who}.mid") for who in ("ana", "ben")]
    assert default_names([load_performance(t) for t in takes]) == ["ana", "ben"]
    # names with nothing shared, or that would keep fewer than 3 characters, stay whole
    plain = [load_performance(_take(tmp_path / n)) for n in ("ana.mid", "ben.mid")]
    assert default_names(plain) == ["ana", "ben"]
    short = [load_performance(_take(tmp_path / f"s1_{who}.mid")) for who in "ab"]
    assert default_names(short) == ["s1_a", "s1_b"]
    # a word is never cut: "ana" and "anabel" share "ana" inside a word
    assert _what_differs(["take-ana", "take-anabel"]) == ["ana", "anabel"]
    assert _what_differs(["drumsA", "drumsB"]) == ["drumsA", "drumsB"]
    # channels and parts of one file keep the file's name; a file twice gets numbers
    assert default_names([load_performance(keys)] * 2) == [
        "Condition 1 - 23 05 - Keys-glued (1)", "Condition 1 - 23 05 - Keys-glued (2)"
    ]  # fmt: skip


_WORDS = st.lists(st.sampled_from(["take", "3", "Nara", "ana", "ben", "kit", "-", "_", " "]))


@given(st.lists(_WORDS, min_size=2, max_size=4), _WORDS, _WORDS)
def test_what_differs_only_takes_away_what_every_name_shares(middles, head, tail) -> None:
    names = ["".join(head + m + tail) for m in middles]
    if len(set(names)) != len(names):
        return
    short = _what_differs(names)
    assert len(set(short)) == len(short)
    if short == names:
        return
    assert all(len(s) >= 3 for s in short)
    # each name is one start shared by all, its own middle and one end shared by all

    def split_at(k: int) -> set[tuple[str, str]] | None:
        pairs = set()
        for n, s in zip(names, short, strict=True):
            if n[k : k + len(s)] != s:
                return None
            pairs.add((n[:k], n[k + len(s) :]))
        return pairs

    assert any(split_at(k) is not None and len(split_at(k)) == 1 for k in range(len(names[0])))
