"""Helpers shared by the benchmark scripts: machine description and a timing wrapper."""

from __future__ import annotations

import os
import platform
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")


def cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_of(repeats: int, fn):
    """Run fn() `repeats` times; return the result with the smallest wall time and that time."""
    best = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
        if best is None or dt < best[1]:
            best = (result, dt)
    return best
