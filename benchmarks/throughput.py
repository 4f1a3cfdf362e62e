"""Steps per second on the adding problem at T=100, one core (issue 2's floor: 5 M steps/s).

Two figures, measured in the same process:
  cli path     - lstmsim.runner.run_config, exactly what `python -m lstmsim task=adding` runs
                 (chunked compiled loop, progress off, the final test excluded from the timing)
  bare kernel  - one call of the compiled loop over all sequences, no Python in between
Usage: python benchmarks/throughput.py [sequences=50000] [repeats=3] [T=100]
"""

from __future__ import annotations

import sys
import tempfile
import time

from common import cpu_name

from lstmsim import config
from lstmsim.runner import run_config
from lstmsim.training import Training

FLOOR = 5.0e6  # steps/s through the CLI path (issue 2)


def main(argv: list[str]) -> None:
    opts = dict(a.split("=", 1) for a in argv)
    n = int(opts.get("sequences", 50000))
    repeats = int(opts.get("repeats", 3))
    T = int(opts.get("T", 100))
    base = dict(T=T, seed=0, max_sequences=n, stop="none", progress="none", test_size=1)

    def bare():
        tr = Training(config.load("adding", base))
        tr.compile()
        t0 = time.perf_counter()
        done = 0
        while done < n:
            done += tr.advance(n - done)[0]
        return tr.stop.ints[5] / (time.perf_counter() - t0)

    def cli_path():
        with tempfile.TemporaryDirectory() as out:
            cfg = config.load("adding", dict(base, out=out))
            s = run_config(cfg)
            return s["steps_trained"] / s["train_seconds"]

    bare()  # compile / load the cache outside the timing
    kernel_rate = max(bare() for _ in range(repeats))
    cli_rate = max(cli_path() for _ in range(repeats))
    print(f"machine: {cpu_name()}, 1 core, float64")
    print(f"adding T={T}, {n:,} sequences, best of {repeats}")
    print(f"  bare kernel : {kernel_rate / 1e6:6.2f} M steps/s")
    print(f"  cli path    : {cli_rate / 1e6:6.2f} M steps/s  ({cli_rate / kernel_rate:.2f} x kernel)")
    print(f"  floor       : {FLOOR / 1e6:6.2f} M steps/s  -> {'OK' if cli_rate >= FLOOR else 'BELOW'}")


if __name__ == "__main__":
    main(sys.argv[1:])
