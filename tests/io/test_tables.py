"""Onset tables: onsetsync's wide CSV and the long format, in and out."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.tables import read_long, read_table, read_wide, write_long, write_wide
from cymbalism.model.onsets import OnsetTable

# A small table in onsetsync's layout: grid columns, two players, a density column.
ONSETSYNC_CSV = """\
Piece,Label.SD,SD,Section,Bass,Guitar,Bs_Dens,Gt_Dens,Tempo,Isochronous.SD.Time
Song_9,1:1,1,Son,10.002,10.011,3.0,2.5,120,10.0
Song_9,1:2,2,Son,,10.130,,4.0,120,10.125
Song_9,1:3,3,Son,10.248,,5.5,,120,10.25
Song_9,1:4,4,Son,10.371,10.380,2.0,1.0,120,10.375
"""


def _write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_onsetsync_wide_table_finds_players_reference_and_labels(tmp_path):
    table = read_wide(_write(tmp_path, ONSETSYNC_CSV))
    assert table.names == ("Bass", "Guitar")
    np.testing.assert_array_equal(table.column("Bass"), [10.002, np.nan, 10.248, 10.371])
    np.testing.assert_array_equal(table.column("Guitar"), [10.011, 10.130, np.nan, 10.380])
    np.testing.assert_array_equal(table.reference_sec, [10.0, 10.125, 10.25, 10.375])
    assert table.labels == ("1:1", "1:2", "1:3", "1:4")
    assert table.n_onsets() == {"Bass": 3, "Guitar": 3}


def test_named_players_and_their_errors(tmp_path):
    path = _write(tmp_path, ONSETSYNC_CSV)
    assert read_wide(path, players=["Guitar"]).names == ("Guitar",)
    with pytest.raises(InputError, match="no column 'Tres'"):
        read_wide(path, players=["Tres"])
    with pytest.raises(InputError, match="holds text"):
        read_wide(path, players=["Section"])


@given(
    values=arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 4)),
        elements=st.one_of(st.just(np.nan), st.floats(0, 5000, allow_nan=False)),
    ),
    with_reference=st.booleans(),
)
def test_wide_and_long_round_trips_are_exact(tmp_path_factory, values, with_reference):
    assume(np.isfinite(values).any(axis=0).all())  # every player played something
    tmp = tmp_path_factory.mktemp("rt")
    names = [f"p{k}" for k in range(values.shape[1])]
    ref = np.arange(values.shape[0]) * 0.25 if with_reference else None
    table = OnsetTable.from_columns(
        {n: values[:, k] for k, n in enumerate(names)},
        reference_sec=ref,
        labels=[f"e{k}" for k in range(values.shape[0])],
    )
    write_wide(tmp / "w.csv", table)
    back = read_wide(tmp / "w.csv", players=names)
    np.testing.assert_array_equal(back.onset_sec, table.onset_sec)
    assert back.labels == table.labels
    if with_reference:
        np.testing.assert_array_equal(back.reference_sec, ref)
    write_long(tmp / "l.csv", table)
    long = read_long(tmp / "l.csv")
    assert isinstance(long, OnsetTable)
    # Events where nobody played have no row in the long format.
    played = np.isfinite(values).any(axis=1)
    assert long.n_events == int(played.sum())
    assert sorted(long.names) == names
    for n in long.names:
        np.testing.assert_array_equal(long.column(n), table.column(n)[played])


def test_long_table_without_events_gives_each_players_onsets(tmp_path):
    path = tmp_path / "long.csv"
    write_long(path, {"A": np.array([0.5, 1.0]), "B": np.array([1.01, 0.49, 1.5])})
    onsets = read_table(path)
    assert isinstance(onsets, dict)
    np.testing.assert_array_equal(onsets["A"], [0.5, 1.0])
    np.testing.assert_array_equal(onsets["B"], [0.49, 1.01, 1.5])  # sorted
    with pytest.raises(InputError, match="no player 'C'"):
        read_table(path, players=["A", "C"])


def test_bad_tables_get_one_clear_error(tmp_path):
    with pytest.raises(NotFoundError):
        read_wide(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="row 3 has 2 cells"):
        read_wide(_write(tmp_path, "A,B,C\n1,2,3\n4,5\n"))
    with pytest.raises(InputError, match="no column of onset times"):
        read_wide(_write(tmp_path, "Section,Tempo\nSon,120\nSon,120\n"))
    with pytest.raises(InputError, match="empty"):
        read_wide(_write(tmp_path, ""))
    with pytest.raises(InputError, match="milliseconds"):
        read_wide(_write(tmp_path, "A\n1000\n99000\n"))
    with pytest.raises(InputError, match="onset_sec must hold"):
        read_long(_write(tmp_path, "player,onset_sec\nA,soon\n"))


def test_real_onsetsync_tables_read_with_their_players(shared_data):
    folder = shared_data / "ensemble_onsets"
    asere = read_wide(folder / "Asere_OU_2.csv")
    assert asere.names == ("Clave", "Bass", "Guitar", "Tres", "Bongo", "Bell")
    duo = read_wide(folder / "DebBh_Drut.csv")
    assert duo.names == ("Guitar", "Tabla")
    # Cross-check one column against a plain csv read of the file.
    with (folder / "DebBh_Drut.csv").open(newline="") as fh:
        tabla = [float(r["Tabla"]) if r["Tabla"] else np.nan for r in csv.DictReader(fh)]
    np.testing.assert_array_equal(duo.column("Tabla"), tabla)
