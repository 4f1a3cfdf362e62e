"""One trial of a sweep: one task config + one seed -> its own run folder. A pure unit of work.

`run_trial(spec)` is what every executor runs (in-process, a local worker process, or a Dask worker
anywhere): it loads the config from the task and overrides in `spec`, runs it into `spec["run_dir"]`
with `runner.run_config`, and returns the summary together with the bytes of the files it wrote, so
that a sweep on a cluster without a shared file system still collects them (`return_files`).

Seeds: trial k of a sweep with root seed R runs with

    seed = SeedSequence(R).spawn(k + 1)[k].generate_state(1, np.uint64)[0] >> 1

(a 63-bit integer; `spawn`'s k-th child is SeedSequence(R, spawn_key=(k,)), so it does not depend on
how many trials the sweep has, nor on which worker runs the trial). Every setting of a sweep uses
the same seed for its trial k (common random numbers), so settings are compared on the same draws.

While the trial trains, `progress.json` in its folder holds the latest progress state (sequences so
far, running error, ...), rewritten at most once a second; the sweep's display reads it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

PROGRESS_FILE = "progress.json"


def trial_seed(root: int, k: int) -> int:
    """The run seed of trial k under root seed `root` (see module doc)."""
    child = np.random.SeedSequence(int(root), spawn_key=(int(k),))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


def run_trial(spec: dict) -> dict:
    """Run one trial. spec: task, overrides (dict, includes seed), run_dir, and return_files (for
    workers that may not share the sweep's file system). Returns {"summary": dict, "files":
    {name: bytes}} (files empty unless return_files)."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from . import runner

    saved = runner.Display
    runner.Display = _progress_file_display(Path(spec["run_dir"]) / PROGRESS_FILE)
    try:
        return run_trial_here(spec)
    finally:
        runner.Display = saved


def run_trial_batch(specs: list[dict], n_lanes: int | None = None) -> list[dict]:
    """Run several trials together, their training in one lane kernel of n_lanes lanes (default:
    one per spec; one trial per SIMD lane, each lane taking the next spec when its trial ends,
    lstmsim/fast/batch.py); each trial's folder and results are exactly those of `run_trial`.
    Returns one result per spec, {"error": "Type: message"} for a trial that failed."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from .fast.batch import run_trials

    out = []
    for r in run_trials(specs, n_lanes):
        if "error" in r:
            exc = r["error"]
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            r = {"error": f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"}
        out.append(r)
    return out


def run_trial_here(spec: dict) -> dict:
    """run_trial with whatever runner.Display is set to (the batch sets one per thread)."""
    from . import config, runner

    from .errors import UserError
    from .resume_cmd import resume

    cfg = config.load(spec["task"], dict(spec["overrides"]))
    run_dir = Path(spec["run_dir"])
    summary = None
    if spec.get("resume"):  # a killed trial with a checkpoint: continue it (bit-identical)
        try:
            summary = resume(run_dir, progress="none")
        except UserError:  # a damaged checkpoint or trace: run the trial again
            shutil.rmtree(run_dir, ignore_errors=True)
    if summary is None:
        summary = runner.run_config(cfg, run_dir)
    files = {}
    if spec.get("return_files"):
        files = {p.name: p.read_bytes() for p in sorted(run_dir.iterdir())
                 if p.is_file() and p.name != PROGRESS_FILE}
    return {"summary": summary, "files": files}


def read_progress(run_dir: Path) -> dict | None:
    """The latest progress state a running trial wrote, or None."""
    try:
        return json.loads((Path(run_dir) / PROGRESS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _progress_file_display(path: Path):
    """A runner Display that writes its state to `path` instead of a terminal.

    The runner has no progress hook, so `run_trial` swaps this class in for `runner.Display` for
    the duration of the trial (a worker runs one trial at a time).
    """
    from .progress import Display

    class ProgressFileDisplay(Display):
        def __init__(self, mode: str, title: str, plain_every: float = 10.0):
            super().__init__("none", title, plain_every)
            self._last = 0.0
            self._write({"sequences": 0, "phase": "compiling"})

        def update(self, state: dict, final: bool = False) -> None:
            now = time.monotonic()
            if final or now - self._last >= 1.0:
                self._last = now
                self._write({**state, "phase": "testing" if final else "training"})

        def _write(self, state: dict) -> None:
            state = {k: v for k, v in state.items() if isinstance(v, (int, float, str, type(None)))}
            state["time"] = time.time()
            tmp = path.with_name(path.name + ".tmp")
            try:
                tmp.write_text(json.dumps(state))
                os.replace(tmp, path)
            except OSError:
                pass  # progress is a courtesy; never fail a trial over it

    return ProgressFileDisplay
