"""Run several trials in one process, their training sharing one lane kernel.

`run_together(fns)` calls each function in its own thread with its training in the shared lane
kernel; `run_trials(specs, n_lanes)`, built on it, is `trial.run_trial` for a list of trials: each
trial runs the unchanged `runner.run_config` (its folder, config, trace, test, summary) in a
Python thread of its lane (a lane's thread runs its trials one after another), and every
`Training.advance` of the threads goes to a `LaneEngine`, which advances all of them together in
`lanes.run_lanes` (one trial per SIMD lane). The trials may be of different settings that share
the topology, rules and task (sweep_batches.make_batches), e.g. different sequence lengths.
Only one thread runs Python or the kernel at a time (the GIL; the kernel holds it), so this is
not multithreading of the arithmetic: the threads are just the simplest way to keep each trial's
own control flow (chunks, stop events, periodic checks, trace snapshots) exactly as it is when
the trial runs alone.

The engine is a barrier: the kernel runs when every live trial is waiting for its chunk; it
returns when at least one trial's chunk is done, that trial's thread handles it (trace, progress,
checks) and asks for its next chunk, and the kernel resumes the others mid-sequence. Testing and
periodic checks (`learn=False`) run on the single-trial fast path in the trial's own thread.
Trials whose rules differ from the others' (never within a batch of make_batches) run alone.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from .lane_state import (L_ACTIVE, L_DIV, L_EVENT, L_I, L_INSEQ, L_LMAX, L_NMAX, fits,
                         new_lane_state)
from .lanes import run_lanes
from .single import run_chunk_fast

_local = threading.local()
_NO_DATA = np.zeros((1, 1))  # training._NO_DATA: the data argument of tasks without a fixed set


class LaneEngine:
    def __init__(self, n_lanes: int, max_length: int = 0):
        self.n = n_lanes
        self.max_length = max_length  # the longest sequence of any trial that will run here
        self.cond = threading.Condition()
        self.live: set[int] = set()
        self.waiting: set[int] = set()
        self.args: dict[int, tuple] = {}
        self.results: dict[int, tuple] = {}
        self.state = None
        self.rules = None
        self.error: BaseException | None = None
        self.calls = 0
        self.alone = 0  # chunks that ran on the single-trial path (rules or shapes differed)

    def join(self, lane: int) -> None:
        with self.cond:
            self.live.add(lane)

    def leave(self, lane: int) -> None:
        with self.cond:
            self.live.discard(lane)
            self.cond.notify_all()

    def chunk(self, lane: int, args: tuple):
        """One trial's Training.advance: (net, scratch, rules, tp, data, rng, bufs, n, stop, log,
        recorder) -> (done, event, diverged_step)."""
        net, _, rules, tp, data, rng, bufs, n, stop, log, recorder = args
        if int(n) <= 0:
            return 0, 0, -1
        with self.cond:
            if self.state is None:
                self.state = new_lane_state(net, self.n, max(self.max_length, bufs[0].shape[0]),
                                            pad=4 if self.n <= 4 else 8, stop=stop, log=log)
                self.rules = rules
            # a trial whose rules, stop window, log or sequence length do not fit (the batches
            # of sweep_batches.make_batches fit) or a failed kernel: alone
            if (rules == self.rules and fits(self.state, stop, log) and self.error is None
                    and bufs[0].shape[0] <= self.state.xs.shape[1]):
                self.args[lane] = (net, args[1], tp, data, rng, stop, log, recorder)
                li = self.state.li
                li[lane, L_ACTIVE], li[lane, L_I], li[lane, L_NMAX] = 1, 0, int(n)
                li[lane, L_EVENT], li[lane, L_DIV] = 0, -1
                li[lane, L_LMAX] = bufs[0].shape[0]
                self.waiting.add(lane)
                while lane in self.waiting:
                    if self.waiting >= self.live:
                        self._run()
                        self.cond.notify_all()
                    else:
                        self.cond.wait()
                if lane not in self.results:  # the kernel failed while this trial waited
                    raise RuntimeError("the lane kernel failed in another trial of this "
                                       "batch") from self.error
                return self.results.pop(lane)
            self.alone += 1
        return run_chunk_fast(*args)  # outside the lock

    def _run(self) -> None:
        lanes = range(self.n)
        # trials that have not asked yet (or have left) keep their last objects; they are inactive
        first = next(iter(self.args.values()))
        objs = [self.args.get(l, first) for l in lanes]
        for l in lanes:
            if l not in self.args:
                self.state.li[l, L_ACTIVE] = 0
        try:
            run_lanes(tuple(o[0] for o in objs), tuple(o[1] for o in objs), self.state,
                      self.rules, *(tuple(o[i] for o in objs) for i in range(2, 8)))
        except BaseException as exc:  # wake every waiting trial with the error
            self.error = exc
            self.waiting.clear()
            raise
        self.calls += 1
        li = self.state.li
        for l in list(self.waiting):
            if li[l, L_ACTIVE] == 0:
                self.waiting.discard(l)
                assert li[l, L_INSEQ] == 0
                self.results[l] = (int(li[l, L_I]), int(li[l, L_EVENT]), int(li[l, L_DIV]))


def _dispatch_chunk_loop(net, scratch, rules, tp, data, rng, bufs, n, stop, log, recorder):
    """Training.chunk_loop while a batch runs: a trial thread's training goes to its engine."""
    engine = getattr(_local, "engine", None)
    args = (net, scratch, rules, tp, data, rng, bufs, n, stop, log, recorder)
    if engine is None or not rules.learn:
        return run_chunk_fast(*args)
    return engine.chunk(_local.lane, args)


class _ThreadDisplay:
    """runner.Display while a batch runs: each trial thread's own progress-file display."""

    def __new__(cls, *args, **kwargs):
        return _local.display(*args, **kwargs)


def run_together(fns: list, engine: LaneEngine | None = None) -> list[tuple]:
    """Call every fn() in its own thread, all their Training.advance calls going to one LaneEngine
    (one lane each, in list order). Returns (value, None) or (None, exception) per fn."""
    from ..training import Training

    engine = engine or LaneEngine(len(fns))
    results: list[tuple] = [(None, None)] * len(fns)

    def work(lane: int) -> None:
        _local.engine, _local.lane = engine, lane
        try:
            results[lane] = (fns[lane](), None)
        except BaseException as exc:  # noqa: BLE001 - reported per fn
            results[lane] = (None, exc)
        finally:
            engine.leave(lane)

    saved = Training.__dict__["chunk_loop"]
    Training.chunk_loop = staticmethod(_dispatch_chunk_loop)
    try:
        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(fns))]
        for i in range(len(fns)):
            engine.join(i)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        Training.chunk_loop = saved
    return results


def run_trials(specs: list[dict], n_lanes: int | None = None) -> list[dict]:
    """trial.run_trial for several trials at once, at most n_lanes (default: all) of them
    together in one lane kernel. Each lane runs trials one after another, taking the next spec in
    list order when its trial ends, so that trials of different lengths (Table 7's T = 100, 500
    and 1000; trials that stop early) keep the lanes full; sweep_batches.make_batches puts the longest
    first. A trial's results do not depend on its lane or neighbours (lanes.py). Returns the
    results in spec order; a trial that raised has {"error": exception} instead."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from .. import runner
    from ..trial import PROGRESS_FILE, _progress_file_display, run_trial_here

    n_lanes = max(1, min(len(specs), n_lanes or len(specs)))
    results: list = [None] * len(specs)
    order = iter(range(len(specs)))
    taking = threading.Lock()

    def lane():
        while True:
            with taking:
                i = next(order, None)
            if i is None:
                return
            try:
                _local.display = _progress_file_display(Path(specs[i]["run_dir"]) / PROGRESS_FILE)
                results[i] = run_trial_here(specs[i])
            except BaseException as exc:  # noqa: BLE001 - reported per trial; the lane goes on
                results[i] = {"error": exc}

    saved = runner.Display
    runner.Display = _ThreadDisplay
    try:
        out = run_together([lane] * n_lanes, LaneEngine(n_lanes, max(map(_max_length, specs))))
    finally:
        runner.Display = saved
    failed = next((exc for _, exc in out if exc is not None), None)
    return [{"error": failed or RuntimeError("not run")} if r is None else r for r in results]


def _max_length(spec: dict) -> int:
    """The longest sequence of a trial spec's task (the lane state's rows must hold it); 0 if its
    config does not load (the trial then fails in its own thread, with its own message)."""
    from .. import config
    from ..task_kinds import TASK_KINDS

    try:
        cfg = config.load(spec["task"], dict(spec["overrides"]))
        return int(TASK_KINDS[cfg.kind].max_length(cfg))
    except Exception:  # noqa: BLE001 - reported by the trial itself
        return 0


def warm(cfg, n_lanes: int) -> None:
    """Compile (or load from Numba's cache) the lane kernel for n_lanes trials of `cfg` without
    running anything, so that worker processes load it instead of compiling it at once."""
    from ..training import Training

    trs = [Training(cfg) for _ in range(n_lanes)]
    st = new_lane_state(trs[0].net, n_lanes, trs[0].max_length, pad=4 if n_lanes <= 4 else 8,
                        stop=trs[0].stop, log=trs[0].log)
    data = tuple(t.data.get("train", _NO_DATA) for t in trs)
    run_lanes(tuple(t.net for t in trs), tuple(t.scratch for t in trs), st, trs[0].rules,
              tuple(t.tp for t in trs), data, tuple(t.train_rng for t in trs),
              tuple(t.stop for t in trs), tuple(t.log for t in trs),
              tuple(t.recorder for t in trs))
