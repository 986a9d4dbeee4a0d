"""examples/accuracy_table.py: every cell of a fixture's row is a measured number or a reason, given in full in a note."""
from __future__ import annotations

import importlib.util
import re

from conftest import REPO


def _table_module():
    spec = importlib.util.spec_from_file_location("accuracy_table", REPO / "examples" / "accuracy_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rc_lstm_row_measures_what_runs_and_says_why_the_rest_did_not():
    at = _table_module()
    row = at.fixture_row("digits-rc", lava_samples=2, skip_lava=False)  # an LSTM: Lava and Loihi refuse it
    cells = dict(zip(["fixture", "test samples", *at.COLUMNS, "spike rate", "decision"], row))
    assert cells["test samples"] == "540"
    for col in ("PyTorch", "NumPy f32", "NumPy f64", "ONNX", "int8", "float16"):
        assert re.fullmatch(r"\d+\.\d\d", cells[col]) and float(cells[col]) > 80, (col, cells[col])
    for col in ("Lava float", "Loihi fixed (NumPy int)", "Lava fixed_pt"):
        m = re.fullmatch(r"(cannot run|quantize failed) \[(\d+)\]", cells[col])
        assert m, (col, cells[col])
        note = at.NOTES[int(m.group(2)) - 1]
        assert "LSTM" in note or "Loihi" in note, note  # the whole reason, not cut off
    assert cells["spike rate"] == "no spiking layer"
    assert re.fullmatch(r"\d+\.\d\d of 16", cells["decision"])
    text = at.table([row])
    assert text.count("\n") == 2 and text.startswith("| fixture | test samples | PyTorch |")
