"""Shared by the benchmarks: wall-clock timing of the fastest of several runs."""
from __future__ import annotations

import time
from typing import Callable


def best_time(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    """Seconds of the fastest of `repeats` calls (after one warm-up call when `warmup`)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)
