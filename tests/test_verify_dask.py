"""Data-set verification on a real Dask LocalCluster: the same figures as one process, a killed worker's shard
retried, and the bad inputs that must fail before any shard starts."""
from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

pytest.importorskip("distributed", reason="Dask is the snnc[dist] extra, installed by `make setup`")

from factories_verify import ecg_data, ecg_model  # noqa: E402
from snnc.compiler.distributed import ShardError, run_shards  # noqa: E402
from snnc.compiler.errors import SnncError  # noqa: E402
from snnc.compiler.evaluate import Counts, Job, evaluate_shard, shards  # noqa: E402
from snnc.compiler.targets import get_target  # noqa: E402


@pytest.fixture(scope="module")
def ecg(tmp_path_factory):
    import argparse
    from snnc.cli.commands import model_graph
    d = tmp_path_factory.mktemp("ecg_dask")
    ecg_model(d / "ecg.pt")
    x, y = ecg_data(12, 200)
    np.savez(d / "ecg_test.npz", x=x, y=y)
    g = model_graph(argparse.Namespace(model=str(d / "ecg.pt"), input_kind=None), "float64", x)[0]
    return d, g, x, y


def _job(g, x, y):
    g2 = g.copy()  # a target that diverges somewhere, so the counts carry flips and a first divergence
    rec = next(n for n in g.nodes if n.endswith(".rec"))
    W = g.nodes[rec].W.copy()
    W[0, 0] += 0.5
    g2.nodes[rec] = g.nodes[rec].replace(W=W)
    return Job(reference=g, graph=g2, run=get_target("numpy").run_graph, x=x, y=y, label_output=g.outputs[0])


def _slow_shard(job, idx):
    time.sleep(0.4)  # 12 shards on 2 workers take > 2 s: a kill at 1 s lands mid-run
    return evaluate_shard(job, idx)


def _kill_one_worker_after(seconds: float, killed: list):
    def on_client(client):
        pid = next(iter(client.run(os.getpid).values()))

        def kill():
            time.sleep(seconds)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        threading.Thread(target=kill, daemon=True).start()
    return on_client


def test_local_cluster_equals_one_process_even_when_a_worker_is_killed(ecg):
    _, g, x, y = ecg
    job = _job(g, x, y)
    parts = shards(x.shape[1], 1)  # 12 shards, so that a worker dies with work left
    single = run_shards(evaluate_shard, job, parts, Counts(), workers=1)
    assert single.samples == 12 and single.flips > 0 and single.first is not None
    assert run_shards(evaluate_shard, job, parts, Counts(), workers=2) == single
    killed: list = []
    t0 = time.monotonic()
    after_kill = run_shards(_slow_shard, job, parts, Counts(), workers=2, on_client=_kill_one_worker_after(1.0, killed))
    assert killed and time.monotonic() - t0 > 1.0  # the worker died while shards were left
    assert after_kill == single


def _fail_on_sample_3(job, idx):
    if 3 in idx:
        raise RuntimeError("sample 3 is cursed")
    return evaluate_shard(job, idx)


def test_a_shard_that_fails_twice_is_named_by_its_samples(ecg):
    _, g, x, y = ecg
    with pytest.raises(ShardError, match=r"samples 2\.\.3 \(RuntimeError: sample 3 is cursed\)"):
        run_shards(_fail_on_sample_3, _job(g, x, y), shards(6, 2), Counts(), workers=2)


def test_cli_workers_2_prints_the_figures_of_workers_1(ecg, run_snnc):
    d, *_ = ecg
    args = ["verify", str(d / "ecg.pt"), "--targets", "numpy", "--dataset", str(d / "ecg_test.npz"), "--shard-size", "3"]
    one, two = run_snnc(*args, "--workers", "1"), run_snnc(*args, "--workers", "2")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    rows = lambda out: [ln for ln in out.splitlines() if "%" in ln]  # noqa: E731
    assert rows(one.stdout) and rows(one.stdout) == rows(two.stdout)


def test_unreachable_scheduler_and_bad_labels_fail_before_any_shard(ecg, run_snnc, tmp_path):
    d, _, x, y = ecg
    t0 = time.monotonic()
    p = run_snnc("verify", str(d / "ecg.pt"), "--dataset", str(d / "ecg_test.npz"), "--scheduler", "tcp://127.0.0.1:9")
    assert p.returncode == 1 and "tcp://127.0.0.1:9" in p.stderr and time.monotonic() - t0 < 60
    bad = y.copy()
    bad[5, 2] = 6  # the ECG readout has 6 classes, 0..5
    np.savez(tmp_path / "bad.npz", x=x, y=bad)
    p = run_snnc("verify", str(d / "ecg.pt"), "--dataset", str(tmp_path / "bad.npz"))
    assert p.returncode == 1 and "label 6 is out of range" in p.stderr and "bad.npz" in p.stderr
    with pytest.raises(SnncError, match="--workers must be a positive integer"):
        run_shards(evaluate_shard, None, [], Counts(), workers=0)
