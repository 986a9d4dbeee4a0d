"""The README's accuracy table: every trained fixture on every target, measured on its test split.

    .venv/bin/python examples/accuracy_table.py            # prints the table and rewrites it in README.md
    .venv/bin/python examples/accuracy_table.py --lava-samples 8 --no-readme

Per fixture: accuracy in PyTorch (frontends/zoo.py `evaluate`), NumPy float32 and
float64, ONNX, Lava float, after `quantize(loihi)` on the NumPy integer runtime and
Lava `fixed_pt`, after int8 and float16 (NumPy runtime); the mean spike rate; the
rank-coded LSTM's mean decision step. Lava's CPU simulator runs at about 1 % of the
NumPy runtime's speed, so Lava runs the first `--lava-samples` test samples (the
cell says how many). A cell that was not measured says why: a numbered note under the
table holds the whole reason (the error snnc gave). Snnc targets are scored with
compiler/evaluate.py, the function `snnc verify --dataset` uses.
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import numpy as np
import torch

from snnc.compiler.errors import SnncError
from snnc.compiler.evaluate import Counts, Job, evaluate_shard, shards
from snnc.compiler.readout import is_quantized
from snnc.compiler.targets import get_target
from snnc.frontends import zoo
from snnc.frontends.datasets import load_dataset
from snnc.frontends.tracing import trace

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["PyTorch", "NumPy f32", "NumPy f64", "ONNX", "Lava float", "Loihi fixed (NumPy int)", "Lava fixed_pt",
           "int8", "float16"]
BEGIN, END = "<!-- accuracy-table:begin -->", "<!-- accuracy-table:end -->"


def _graph(model, x, name):
    from snnc.compiler.inputkinds import resolve
    g = trace(model, torch.zeros(2, 1, x.shape[2]))
    g.meta["source"] = f"fixture {name}"
    return resolve(g, data=x)  # the test data decides the input kind (ECG: {-1, 0, 1} is graded)


WORKERS = 1  # --workers: Dask worker processes for the shards (1: in this process)
NOTES: list[str] = []  # the reasons of the cells that were not measured, numbered under the table


def _not_measured(what: str, why: str) -> str:
    """A cell that says why it holds no number: `what [k]`, note k the whole reason (shared by equal reasons)."""
    why = " ".join(str(why).split())
    if why not in NOTES:
        NOTES.append(why)
    return f"{what} [{NOTES.index(why) + 1}]"


def _score(ref, graph, target: str, x, y, rule: str, n: int, dtype: str = "float64") -> str:
    """Accuracy of `graph` on `target` over the first n samples, as a table cell."""
    from snnc.compiler.distributed import run_shards, shard_size
    job = Job(reference=ref, graph=graph, run=get_target(target).run_graph, x=x[:, :n], y=y[..., :n],
              label_output=ref.outputs[0], dtype=dtype, rule=rule, options={"timeout": 3600},
              dequantize=is_quantized(graph))
    try:
        parts = shards(n, shard_size(target, n, WORKERS))
        c = run_shards(evaluate_shard, job, parts, Counts(), workers=min(WORKERS, len(parts)), desc=target)
    except SnncError as e:
        return _not_measured("cannot run", f"{target}: {e}")
    cell = f"{100 * c.correct / c.scored:.2f}"
    return cell + (f" ({n} samples; float NumPy {100 * c.ref_correct / c.scored:.2f} on them)" if n < x.shape[1] else "")


def fixture_row(name: str, lava_samples: int, skip_lava: bool) -> list[str]:
    info = zoo.PRETRAINED[name]
    model, _ = zoo.load_pretrained(name)
    model.eval()
    x, y = load_dataset(info.dataset, "test")
    N = x.shape[1]
    t0 = time.perf_counter()
    py = zoo.evaluate(model, name)
    rule = "last"
    graph = _graph(model.double(), x, name)
    from snnc.runtime.inputs import noise_inputs
    noisy = " (torch's own noise; the snnc targets draw NumPy's, seed 0)" if noise_inputs(graph) else ""
    row = {"PyTorch": f"{100 * py['accuracy']:.2f}{noisy}"}
    row["NumPy f32"] = _score(graph, graph, "numpy", x, y, rule, N, "float32")
    row["NumPy f64"] = _score(graph, graph, "numpy", x, y, rule, N)
    row["ONNX"] = _score(graph, graph, "onnx", x, y, rule, N)
    nl = min(N, lava_samples)
    row["Lava float"] = "not run (--skip-lava)" if skip_lava else _score(graph, graph, "loihi", x, y, rule, nl)
    from snnc.compiler.passes.quantize import quantize
    calib = load_dataset(info.dataset, "train")[0][:, :32]
    try:
        q = quantize(graph, "loihi", calib)
    except SnncError as e:
        row["Loihi fixed (NumPy int)"] = row["Lava fixed_pt"] = _not_measured("quantize failed", e)
    else:
        row["Loihi fixed (NumPy int)"] = _score(graph, q, "numpy", x, y, rule, N)
        row["Lava fixed_pt"] = "not run (--skip-lava)" if skip_lava else _score(graph, q, "loihi", x, y, rule, nl)
    for scheme in ("int8", "float16"):
        try:
            row[scheme] = _score(graph, quantize(graph, scheme, calib), "numpy", x, y, rule, N)
        except SnncError as e:
            row[scheme] = _not_measured("quantize failed", e)
    rate = py.get("spike_rate", {}).get("mean")
    extra = f"{rate:.4f}" if rate is not None else "no spiking layer"
    dec = f"{py['mean_decision_steps']:.2f} of {py['steps']}" if "mean_decision_steps" in py else "no early exit"
    print(f"  {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return [name, str(N)] + [row[c] for c in COLUMNS] + [extra, dec]


def table(rows: list[list[str]]) -> str:
    head = ["fixture", "test samples"] + COLUMNS + ["spike rate (PyTorch)", "mean decision step"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", help="comma-separated fixture names (default: every shipped fixture)")
    ap.add_argument("--lava-samples", type=int, default=16, help="test samples Lava runs (default 16)")
    ap.add_argument("--skip-lava", action="store_true", help="do not run Lava (its cells say so)")
    ap.add_argument("--no-readme", action="store_true", help="print only; do not rewrite README.md")
    ap.add_argument("--workers", type=int, default=1, help="Dask worker processes for the evaluation shards (default 1: "
                                                           "in this process, without Dask)")
    args = ap.parse_args()
    global WORKERS
    WORKERS = args.workers
    torch.set_num_threads(1)
    names = args.fixtures.split(",") if args.fixtures else list(zoo.PRETRAINED)
    rows = []
    for n in names:
        if not zoo.pretrained_path(n).exists():
            rows.append([n, "-"] + [f"not measured: {zoo.pretrained_path(n).name} is not shipped"] + [""] * (len(COLUMNS) + 1))
            continue
        rows.append(fixture_row(n, args.lava_samples, args.skip_lava))
    md = table(rows)
    if NOTES:
        md += "\n\nCells not measured:\n\n" + "\n".join(f"{i}. {n}" for i, n in enumerate(NOTES, 1))
    print(md)
    if not args.no_readme:
        readme = REPO / "README.md"
        text = readme.read_text()
        cmd = "python examples/accuracy_table.py" + (f" --lava-samples {args.lava_samples}" if args.lava_samples != 16 else "")
        block = (f"{BEGIN}\n{md}\n\nAccuracy in % on each fixture's test split (`{cmd}`); "
                 f"Loihi fixed point after `quantize(loihi)` calibrated on 32 training samples; Lava on the first "
                 f"{args.lava_samples} test samples.\n{END}")
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: block, text, flags=re.S) if BEGIN in text \
            else text.rstrip() + "\n\n## Accuracy on every target\n\n" + block + "\n"
        readme.write_text(text)
        print(f"wrote the table into {readme}")


if __name__ == "__main__":
    main()
