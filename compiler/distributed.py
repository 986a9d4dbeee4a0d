"""Sharded evaluation on Dask distributed: independent shards of samples, merged exactly (DESIGN §5).

`run_shards(fn, job, shards, ...)` computes `fn(job, indices)` for every shard and
adds the results in shard order (`Counts` merge by addition: counts, never means
of means). Without a cluster (`workers=1` and no scheduler) it runs the shards one
by one in this process; otherwise on an embedded `LocalCluster` (`workers` worker
processes, one thread each) or on an existing cluster (`scheduler="tcp://HOST:PORT"`).
A shard whose task raises is retried once; a worker that dies takes its running
shard to another worker once (the scheduler's allowed failures); a shard that
still fails is reported by its sample indices. Dask is the `snnc[dist]` extra.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np

from snnc.compiler.errors import SnncError

CONNECT_TIMEOUT = 10.0  # seconds to reach an existing scheduler before giving up


class ShardError(SnncError):
    """A shard failed twice (or its worker died twice); names the samples it held."""


def default_workers() -> int:
    """Worker processes for an embedded cluster: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def shard_size(target: str, n: int, workers: int, requested: int | None = None) -> int:
    """Samples per shard: as asked, else sized from the backend (Lava's ~1-2 s start-up per run wants few, large
    shards: one per worker; the fast runtimes take 64 so the progress bar moves and a lost shard costs little)."""
    if requested is not None:
        if requested < 1:
            raise SnncError(f"--shard-size must be a positive integer, got {requested}")
        return requested
    if target in ("loihi", "lava"):
        return max(1, -(-n // max(1, workers)))
    return 64


def _span(idx: np.ndarray) -> str:
    return f"samples {int(idx[0])}..{int(idx[-1])}" if len(idx) else "no samples"


def _client(workers: int, scheduler: str | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SnncError("distributed verification needs Dask: pip install 'snnc[dist]' "
                        "(or run with --workers 1 and no --scheduler)") from None
    import dask

    dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.worker.daemon": False,
                     "distributed.logging.distributed": "error"})
    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT), None
        except (OSError, TimeoutError) as e:
            raise SnncError(f"--scheduler {scheduler}: cannot reach the Dask scheduler within "
                            f"{CONNECT_TIMEOUT:.0f} s ({type(e).__name__})") from None
        except ValueError as e:
            raise SnncError(f"--scheduler {scheduler}: not a scheduler address ({e})") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster


def run_shards(fn: Callable[[Any, np.ndarray], Any], job: Any, shards: Sequence[np.ndarray], zero: Any,
               workers: int = 1, scheduler: str | None = None, desc: str = "shards",
               on_client: Callable[[Any], None] | None = None) -> Any:
    """`zero + fn(job, shards[0]) + fn(job, shards[1]) + ...`, on Dask unless workers == 1 and no scheduler."""
    from tqdm import tqdm

    if workers < 1:
        raise SnncError(f"--workers must be a positive integer, got {workers}")
    if workers == 1 and not scheduler:
        total = zero
        for idx in tqdm(shards, desc=desc, unit="shard", disable=None, leave=False):
            total = total + fn(job, idx)
        return total
    client, cluster = _client(workers, scheduler)
    try:
        if on_client is not None:
            on_client(client)
        from dask.distributed import as_completed
        job_f = client.scatter(job, broadcast=True)  # the data travels once per worker, not once per shard
        futures = [client.submit(fn, job_f, idx, retries=1, pure=False, key=f"snnc-{desc}-{i}")
                   for i, idx in enumerate(shards)]
        order = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        failed: list[str] = []
        bar = tqdm(total=len(futures), desc=f"{desc} (dask)", unit="shard", disable=None, leave=False)
        for f in as_completed(futures):
            i = order[f.key]
            if f.status == "finished":
                results[i] = f.result()
            else:
                err = f.exception()
                failed.append(f"{_span(shards[i])} ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})")
            bar.update(1)
        bar.close()
        if failed:
            raise ShardError(f"{desc}: {len(failed)} shard(s) failed after a retry: " + "; ".join(failed))
        total = zero
        for r in results:  # in shard order, so the merge is the same as the single-process run's
            total = total + r
        return total
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
