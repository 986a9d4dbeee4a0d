"""`make demo` (scripts/demo.sh) in its quick mode: every step runs, every output lands, none half-written."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from conftest import REPO

DEMO = REPO / "scripts" / "demo.sh"
# quick mode: 4 test sequences cut to 120 steps, Lava on 1; the Loihi accuracy bar is loose on so few steps
QUICK = {"SAMPLES": "4", "STEPS": "120", "LAVA_SAMPLES": "1", "MAX_DROP": "50"}


def _demo(out: Path, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, "OUT": str(out), **env}
    return subprocess.run(["bash", str(DEMO)], capture_output=True, text=True, env=full, timeout=900)


def test_demo_quick_runs_every_target_and_replaces_an_old_output(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / ".snnc-demo").touch()  # an earlier demo output: replaced as a whole
    (out / "stale.txt").write_text("from an earlier run")
    p = _demo(out, **QUICK)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    names = ["ecg.pt", "ecg_test.npz", "calib.npy", "x4.npy", "ecg.snn", "ecg.onnx", "ecg.lava", "ecg_loihi.snn",
             "ecg_loihi.lava", "quantize.txt", "verify_float.txt", "verify_loihi.txt", "report.txt", "report.json",
             "energy.png"]
    for n in names:
        assert (out / n).stat().st_size > 0, n
    assert not (out / "stale.txt").exists()
    assert list(tmp_path.iterdir()) == [out], "a partial folder was left behind"
    assert (out / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "report.json").read_text())
    # the summary names every target with its accuracy, each verified
    summary = p.stdout.split("== accuracy per target")[1].split("== outputs")[0]
    found = re.findall(r"^  (PASS|FAIL) (.+?)\s+\d+\s+[\d.]+ %", summary, flags=re.M)
    rows = {target: verdict for verdict, target in found}
    assert len(found) == len(rows) == summary.count("\n  PASS ") + summary.count("\n  FAIL "), summary
    assert rows == {t: "PASS" for t in ("pytorch", "numpy", "onnx", "loihi", "numpy (loihi)", "loihi (loihi)")}, summary
    assert "vs the NumPy integer runtime: bit-exact" in (out / "verify_loihi.txt").read_text()
    assert "first 1 samples" in (out / "verify_float.txt").read_text()  # the Lava subset is stated
    assert f"== outputs in {out}/" in p.stdout
    assert "quick mode: the test set cut to x [120, 4, 4]" in p.stdout


def test_demo_refuses_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "keep.txt").write_text("user data")
    p = _demo(out)
    assert p.returncode == 2
    assert f"demo: {out} exists and is not a demo output" in p.stderr
    assert [f.name for f in out.iterdir()] == ["keep.txt"]


def test_demo_failure_leaves_the_old_output_and_names_the_partial_one(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / ".snnc-demo").touch()
    (out / "old.txt").write_text("previous run")
    p = _demo(out, SNNC_QTDB_DIR=str(tmp_path / "no-data"), **QUICK)
    assert p.returncode != 0
    assert 'demo: FAILED at step "the trained fixture and its data"' in p.stderr
    assert (out / "old.txt").read_text() == "previous run"
    partial = [f for f in tmp_path.iterdir() if f.name.startswith("demo.partial-")]
    assert len(partial) == 1 and str(partial[0]) in p.stderr
    assert (partial[0] / "ecg.pt").exists() and not (partial[0] / "report.json").exists()
