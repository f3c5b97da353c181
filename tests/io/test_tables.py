"""Onset tables: onsetsync's wide CSV and the long format, in and out."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.tables import (
    player_columns,
    read_long,
    read_table,
    read_wide,
    write_long,
    write_wide,
)
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


def _sitar_tabla(tmp_path, matra_name="Matra"):
    """A sitar + tabla table on a 10-beat cycle (jhaptal): the beat number within the cycle
    counts 1-10 and starts again; the players' onsets rise through the piece."""
    rng = np.random.default_rng(3)
    rows = [f"Raga,Cycle,{matra_name},Sitar,Tabla,Row"]
    for k in range(60):
        cycle, beat = divmod(k, 10)
        t = 2955.0 + 0.6 * k
        sitar = f"{t + rng.normal(0, 0.01):.4f}" if k % 3 else ""
        tabla = f"{t + rng.normal(0, 0.01):.4f}"
        rows.append(f"Yaman,{cycle + 1},{beat + 1},{sitar},{tabla},{k + 1}")
    return _write(tmp_path, "\n".join(rows) + "\n", name="sitar_tabla.csv")


@pytest.mark.parametrize("matra", ["Matra", "Pulse"])
def test_player_columns_are_picked_by_what_they_hold(tmp_path, matra):
    path = _sitar_tabla(tmp_path, matra)
    table = read_wide(path)
    assert table.names == ("Sitar", "Tabla")
    choice = player_columns(path)
    assert choice.taken == ("Sitar", "Tabla") and not choice.named
    assert "goes back down 5 times" in choice.skipped[matra]
    assert "counts up one by one" in choice.skipped["Row"]
    assert choice.skipped["Cycle"] == "a grid column" and choice.skipped["Raga"] == "holds text"
    text = choice.describe()
    assert text.startswith("players (picked by their onset times): Sitar, Tabla; not players:")
    assert f"{matra} (goes back down" in text
    # the user names them: the named ones are taken, whatever they hold
    named = player_columns(path, players=["Tabla"])
    assert named.taken == ("Tabla",) and named.named
    assert read_wide(path, players=["Tabla", matra]).names == ("Tabla", matra)
    with pytest.raises(InputError, match="no column 'Tanpura'"):
        player_columns(path, players=["Tanpura"])


def test_a_table_in_another_encoding_is_one_clear_error(tmp_path):
    text = "Piece,Guitarra,Bajo\nSon,1.01,1.02\nSon\xf3,2.01,2.03\n"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(text.encode("latin-1"))
    for read in (read_wide, read_table, player_columns):
        with pytest.raises(InputError, match=r"latin\.csv is not UTF-8 text: byte 0xf3 on line 3"):
            read(latin)
    # UTF-16 with a byte-order mark (a spreadsheet's "Unicode text") reads
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(text.encode("utf-16"))
    assert read_wide(utf16).names == ("Guitarra", "Bajo")


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
