"""What checkpoints cost: size of checkpoint.npz and time per checkpoint, on the adding problem.

    python benchmarks/checkpoint_overhead.py [task=adding] [sequences=200000] [every=10000]

Runs the task's preset (trace on, as by default) three times in this process: checkpoints only at
the cap (practically none), the defaults (every 100,000 sequences or 60 s), and one every `every`
sequences; prints the checkpoint file's size, the time one checkpoint takes (the forced trace
flush, collecting the state, writing, fsync and rename) and the runs' wall times.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstmsim import checkpoint, config  # noqa: E402
from lstmsim.runner import run_config  # noqa: E402


def main(argv: list[str]) -> None:
    opts = dict(a.split("=", 1) for a in argv)
    task = opts.get("task", "adding")
    n, every = int(opts.get("sequences", 200000)), int(opts.get("every", 10000))
    spent: list[float] = []
    write = checkpoint.Checkpointer.write

    def timed(self, *args, **kwargs):
        t0 = time.perf_counter()
        write(self, *args, **kwargs)
        spent.append(time.perf_counter() - t0)

    checkpoint.Checkpointer.write = timed
    with tempfile.TemporaryDirectory() as out:
        settings = {"at the cap only": dict(checkpoint_every=10**9, checkpoint_seconds=1e9),
                    "defaults": {},
                    f"every {every:,}": dict(checkpoint_every=every, checkpoint_seconds=1e9)}
        for label, extra in settings.items():
            spent.clear()
            cfg = config.load(task, dict(max_sequences=n, progress="none", out=out, stop="none",
                                         **extra))
            t0 = time.perf_counter()
            s = run_config(cfg)
            wall = time.perf_counter() - t0
            size = (Path(s["run_dir"]) / checkpoint.FILE_NAME).stat().st_size
            per = sum(spent) / len(spent) if spent else float("nan")
            print(f"{label:>18}: {len(spent):3d} checkpoints, {size / 1024:.1f} KiB each, "
                  f"{per * 1e3:.1f} ms per checkpoint, {sum(spent):.2f} s in checkpoints, "
                  f"run {wall:.2f} s, {s['steps_per_second'] / 1e6:.2f} M steps/s")


if __name__ == "__main__":
    main(sys.argv[1:])
