"""E-kit note maps as data files."""

from __future__ import annotations

import numpy as np
import pytest

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.kits import (
    DEFAULT_CROSSTALK_MS,
    DEFAULT_CROSSTALK_RATIO,
    DEFAULT_RETRIGGER_MASK_MS,
    KitMap,
    TriggerSettings,
    known_kits,
    load_kit,
)
from cymbalism.model.lanes import GM_NOTE_TO_LANE, Lane


def test_general_midi_file_agrees_with_the_model_table():
    assert dict(load_kit("gm").notes) == dict(GM_NOTE_TO_LANE)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("td17", "Roland TD-17"),
        ("Roland TD-11", "Roland TD-11"),
        ("roland_td11", "Roland TD-11"),
        ("NITRO MESH", "Alesis Nitro"),
        ("dtx402", "Yamaha DTX"),
        ("General MIDI", "General MIDI"),
    ],
)
def test_kits_are_found_by_name_alias_or_file_name(name, expected):
    assert load_kit(name).name == expected


def test_every_built_in_kit_maps_the_core_of_a_kit():
    kits = known_kits()
    assert {"general_midi", "roland_td11", "roland_td17", "alesis_nitro", "yamaha_dtx"} <= set(kits)
    for kit in kits.values():
        assert kit.notes[36] is Lane.KICK and kit.notes[38] is Lane.SNARE, kit.name
        assert kit.notes[42] is Lane.HIHAT_CLOSED and kit.notes[44] is Lane.HIHAT_PEDAL
        # the lookup table agrees with the mapping, and unmapped notes are -1
        table = kit.table
        assert all(table[n] == lane for n, lane in kit.notes.items())
        assert (table >= 0).sum() == len(kit.notes)


def test_td17_aux_pad_is_a_crash_but_not_in_general_midi():
    notes = np.array([27, 36, 60])
    assert load_kit("td17").lanes_of(notes).tolist() == [Lane.CRASH, Lane.KICK, -1]
    assert load_kit("gm").lanes_of(notes).tolist() == [-1, Lane.KICK, -1]
    with pytest.raises(InputError, match="0-127"):
        load_kit("gm").lanes_of(np.array([128]))


def test_unknown_kit_lists_the_known_ones():
    with pytest.raises(NotFoundError, match=r"unknown kit 'td99'.*roland_td17 \(Roland TD-17\)"):
        load_kit("td99")
    with pytest.raises(NotFoundError, match="does not exist"):
        load_kit("/nonexistent/kit.toml")


def test_a_kit_file_of_ones_own(tmp_path):
    path = tmp_path / "practice_pad.toml"
    path.write_text(
        'name = "Practice pads"\n[notes]\n60 = "snare"\n61 = "BD"\n62 = "open hi-hat"\n'
    )
    kit = load_kit(path)
    assert isinstance(kit, KitMap) and kit.name == "Practice pads"
    assert dict(kit.notes) == {60: Lane.SNARE, 61: Lane.KICK, 62: Lane.HIHAT_OPEN}
    assert load_kit(str(path)).notes == kit.notes
    assert load_kit(kit) is kit


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[notes\n", "not valid TOML"),
        ('name = "x"\n', "needs a \\[notes\\] table"),
        ('[notes]\nkick = "kick"\n', "not a MIDI note number"),
        ('[notes]\n200 = "kick"\n', "outside 0-127"),
        ('[notes]\n36 = "cowbell"\n', "note 36: unknown lane 'cowbell'"),
        ('[notes]\n36 = "kick"\n[filter]\nmask_ms = 5\n', "unknown \\[filter\\] keys"),
        ('[notes]\n36 = "kick"\n[filter]\nretrigger_mask_ms = 40\n', "would drop flams"),
        ('[notes]\n36 = "kick"\n[filter]\ncrosstalk_ratio = 1.5\n', "within 0-1"),
        ('[notes]\n36 = "kick"\n[filter]\ncrosstalk_ms = "soon"\n', "must be numbers"),
        ('filter = 3\n[notes]\n36 = "kick"\n', "must be a table"),
    ],
)
def test_malformed_kit_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_kit(path)


def test_a_kit_file_tunes_the_trigger_filter(tmp_path):
    # the default, well below a flam's 20-50 ms, unless the kit's file says otherwise
    assert load_kit("td17").trigger == TriggerSettings(
        DEFAULT_RETRIGGER_MASK_MS, DEFAULT_CROSSTALK_MS, DEFAULT_CROSSTALK_RATIO
    )
    assert DEFAULT_RETRIGGER_MASK_MS < 20 and DEFAULT_CROSSTALK_MS < 20
    path = tmp_path / "mesh.toml"
    path.write_text('[notes]\n38 = "snare"\n[filter]\nretrigger_mask_ms = 5\ncrosstalk_ms = 0\n')
    kit = load_kit(path)
    assert kit.trigger == TriggerSettings(5.0, 0.0, DEFAULT_CROSSTALK_RATIO)
