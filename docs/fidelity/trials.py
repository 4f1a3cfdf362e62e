"""Issue 9 measurements: run N trials of one adding setting; report stall length and ST3.

  python docs/fidelity/trials.py NAME trials=6 workers=1 lanes=1 T=500 max_sequences=1500000 \
      [key=value ...]
Trial k uses seed=first_seed+k. With lanes=N, each worker process runs N trials together in the
lane kernel (lstmsim/fast/batch.py; each trial's numbers are exactly those it gets alone). For each
trial: `onset`, the first multiple of 1000 sequences at which the running mean |error| of the last
2000 sequences is below 0.08 (half of the 1/6 that predicting the mean gives: the end of the
stall), and `solved_at`, when ST3 fired. Results are appended to docs/fidelity/results.jsonl, one
line per trial.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
RESULTS = Path(__file__).with_name("results.jsonl")
ONSET_ERROR = 0.08


def one(args):
    name, seed, overrides = args
    from lstmsim import config
    from lstmsim.training import Training
    from lstmsim.train_loop import EVENT_DIVERGED, EVENT_STOP, I_FILLED, I_SEQS

    cfg = config.load("adding", dict(overrides, seed=seed, progress="none"))
    tr = Training(cfg)
    ints, cap = tr.stop.ints, int(cfg.max_sequences)
    onset, solved_at, status = None, None, "capped"
    t0 = time.perf_counter()
    while ints[I_SEQS] < cap:
        done, event, _ = tr.advance(min(1000, cap - ints[I_SEQS]))
        filled = ints[I_FILLED]
        if onset is None and filled == cfg.window and tr.stop.err_sum[0] / filled < ONSET_ERROR:
            onset = int(ints[I_SEQS])
        if event == EVENT_STOP:
            solved_at, status = int(ints[I_SEQS]), "solved"
            break
        if event == EVENT_DIVERGED:
            status = "diverged"
            break
    seconds = time.perf_counter() - t0
    test = tr.evaluate(int(cfg.test_size))
    return {"name": name, "overrides": overrides, "seed": seed, "status": status, "onset": onset,
            "solved_at": solved_at, "sequences": int(ints[I_SEQS]),
            "test_wrong_abs": test["test_wrong_abs"], "test_wrong_squared": test["test_wrong_squared"],
            "test_mean_abs_error": test["test_mean_abs_error"], "seconds": round(seconds, 1)}


def group(args_list):
    """one() for several trials of the same setting at once, their training in one lane kernel."""
    from lstmsim.fast.batch import run_together

    if len(args_list) == 1:
        return [one(args_list[0])]
    out = run_together([lambda a=a: one(a) for a in args_list])
    for _, exc in out:
        if exc is not None:
            raise exc
    return [value for value, _ in out]


def _commit():
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent).stdout.strip() or None
    except OSError:
        return None


def main(argv):
    name, opts = argv[0], dict(a.split("=", 1) for a in argv[1:])
    trials = int(opts.pop("trials", 6))
    workers = int(opts.pop("workers", 1))
    first = int(opts.pop("first_seed", 0))
    lanes = int(opts.pop("lanes", 1))
    jobs = [(name, first + k, opts) for k in range(trials)]
    groups = [jobs[i:i + lanes] for i in range(0, trials, lanes)]
    commit = _commit()
    with ProcessPoolExecutor(workers) as pool:
        for r in (r for rs in pool.map(group, groups) for r in rs):
            r["commit"] = commit
            with open(RESULTS, "a") as fh:
                fh.write(json.dumps(r) + "\n")
            print(f"{name} seed={r['seed']}: onset {r['onset']}, {r['status']} at "
                  f"{r['solved_at'] or r['sequences']:,} (wrong abs {r['test_wrong_abs']}, squared "
                  f"{r['test_wrong_squared']}, {r['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
