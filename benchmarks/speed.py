"""Issue 7's figures: each beside its target and the baseline measured in the same run.

  1. one trial, one core: the reference loop (train_loop.run_chunk + kernel.run_sequence, the
     baseline), the fast loop (lstmsim/fast/single.py, what Training runs), and the CLI path
     (runner.train with the default trace.h5 writer, trace time included) on adding T=100; the
     fast loop on 6a and on the Reber net (4 blocks of 2 cells, targets at every step);
  2. trials per core: `lanes` trials of adding T=100 in the lane kernel (lstmsim/fast/lanes.py),
     aggregate steps/s, against the fast single-trial loop; and the kernel's generated step run
     alone (no per-lane or per-sequence work, on a trained state, states reset every 105 steps),
     the ceiling of the lane design on the machine; then 6a and the Reber net in lanes, against
     their own single-trial loops;
  3. two cores: the same lane run in two processes at once, against one process alone (wall time,
     the target's figure; and per CPU second of each process, which other jobs do not disturb);
     and, timed the same way, a loop of arithmetic alone: what the machine's two cores allow
     (two_cores.py);
  4. start-up: wall time of `python -m lstmsim task=adding max_sequences=1 test_size=1` with a
     warm cache (an upper bound on the time to the first training step), and that step alone;
  5. (opt-in, table7=yes: ~10 minutes of both cores) the headline: wall time of
     `python -m lstmsim reproduce table=7 workers=2`, the paper's 10 trials per row, against 15 min.

Rates are steps per CPU second of the process (time.process_time): on a shared machine they are
far less disturbed by other jobs than wall time; wall-time rates are printed beside them. Each is
the best of `repeats`. The C simulator's rate (target 1) is the issue's measurement, made on the
project's machine of the time (AMD EPYC, Zen 4), not re-measured here (its code is not available
here); on another CPU the target's 1.3 x is therefore only estimated by this figure, and
benchmarks/c_estimate.py estimates the C simulator's rate on this CPU.
Figure 2 also gives the ratio measured in pairs of back-to-back runs (`pairs`, default 10), whose
median is steadier than the ratio of two best-of figures measured minutes apart; and that median
at T = 500 and 1000, combined with T = 100's in the proportions of Table 7's steps (its rows
run 1.05 T steps a sequence each, for the same numbers of trials and sequences).
Usage: python benchmarks/speed.py [sequences=20000] [repeats=3] [lanes=8] [skip=startup,cores]
           [cli_sequences=N] [cores_sequences=N] [table7=yes] [baseline=DIR] [pairs=10]
       python benchmarks/speed.py only=paired [pairs=20] [pair_sequences=80000] [rounds=3] [T=100]
(cli_sequences: the CLI path's run, by default the adding preset's cap, 500,000 sequences)
(only=paired: figure 2's paired ratio alone, `rounds` times back to back, in longer pairs than the
full run's: pair_sequences of one trial against as many in the lanes, per pair)
(DIR: an older checkout, e.g. made with `git archive fa0359d | tar -x -C DIR`, timed the same way)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import two_cores
from common import cpu_name

from lstmsim import config
from lstmsim.kernel import make_scratch
from lstmsim.train_loop import run_chunk
from lstmsim.training import Training

C_SIMULATOR = 7.5e6  # the authors' C simulator, adding T=100, issue 7's machine (AMD Zen 4)
TARGET_SINGLE = 1.3 * C_SIMULATOR
TARGET_LANES = 2.5
TARGET_CORES = 1.9
TARGET_START = 1.0
TARGET_TABLE7 = 15 * 60.0


def _cfg(task, seed=0, **kw):
    return config.load(task, dict(seed=seed, max_sequences=10**7, stop="none", progress="none",
                                  **kw))


def _best(repeats, make, run):
    """Best of `repeats`: (steps per CPU second, steps per wall second) of run(make()); the set-up
    (configs, networks) is not timed."""
    best = (0.0, 0.0)
    for _ in range(repeats):
        obj = make()
        c0, w0 = time.process_time(), time.perf_counter()
        steps = run(obj)
        c1, w1 = time.process_time(), time.perf_counter()
        best = (max(best[0], steps / max(c1 - c0, 1e-9)), max(best[1], steps / max(w1 - w0, 1e-9)))
    return best


def single(task, n, repeats, reference=False, **kw):
    """One trial of `task` through Training.advance (the fast loop) or the reference loop."""
    def make():
        tr = Training(_cfg(task, **kw))
        if reference:
            tr.chunk_loop, tr.scratch = run_chunk, make_scratch(tr.net)
        tr.compile()
        return tr

    def run(tr):
        tr.advance(n)
        return int(tr.stop.ints[5])
    run(make())  # compile / load outside the timing
    return _best(repeats, make, run)


def lanes_setup(task, n, n_lanes, **kw):
    """n_lanes trials (seeds 0..n_lanes-1) ready to run n sequences each in the lane kernel."""
    from lstmsim.fast.batch import _NO_DATA
    from lstmsim.fast.lane_state import new_lane_state

    trs = [Training(_cfg(task, seed=i, **kw)) for i in range(n_lanes)]
    st = new_lane_state(trs[0].net, n_lanes, trs[0].max_length, pad=4 if n_lanes <= 4 else 8,
                        stop=trs[0].stop, log=trs[0].log)
    T = lambda f: tuple(f(t) for t in trs)  # noqa: E731
    args = (T(lambda t: t.net), T(lambda t: t.scratch), st, trs[0].rules, T(lambda t: t.tp),
            T(lambda t: t.data.get("train", _NO_DATA)), T(lambda t: t.train_rng),
            T(lambda t: t.stop), T(lambda t: t.log), T(lambda t: t.recorder))
    return trs, st, args, n


def lanes_go(setup):
    """Run the lanes of lanes_setup through their n sequences; returns the steps done. In
    requests of at most LOG_CAPACITY sequences a lane, as Training.advance asks: a request writes
    its results into each trial's log, which holds that many (the kernel does not check)."""
    from lstmsim.fast.lane_state import L_ACTIVE, L_I, L_NMAX
    from lstmsim.fast.lanes import run_lanes
    from lstmsim.training import LOG_CAPACITY

    trs, st, args, n = setup
    n_lanes = len(trs)
    for start in range(0, n, LOG_CAPACITY):
        st.li[:n_lanes, L_ACTIVE], st.li[:n_lanes, L_I] = 1, 0
        st.li[:n_lanes, L_NMAX] = min(LOG_CAPACITY, n - start)
        while st.li[:n_lanes, L_ACTIVE].any():
            run_lanes(*args)
    return sum(int(t.stop.ints[5]) for t in trs)


def lanes_run(task, n, n_lanes, **kw):
    return lanes_go(lanes_setup(task, n, n_lanes, **kw))


def paired_ratio(n, n_lanes, pairs, **kw):
    """The lanes' aggregate rate over the fast loop's on the adding problem (`kw`: its overrides,
    e.g. T), measured in `pairs` back-to-back pairs of runs of equal work (n sequences of one
    trial, n / n_lanes sequences a lane), the order
    alternating; returns the per-pair ratios. On this noisy shared machine the rates drift by
    10% and more within minutes, so a ratio of two best-of figures measured minutes apart
    carries that drift; a pair's two runs see the same conditions."""
    def rate_single():
        tr = Training(_cfg("adding", **kw))
        tr.compile()
        c = time.process_time()
        tr.advance(n)
        return int(tr.stop.ints[5]) / (time.process_time() - c)

    def rate_lanes():
        setup = lanes_setup("adding", max(n // n_lanes, 1), n_lanes, **kw)
        c = time.process_time()
        steps = lanes_go(setup)
        return steps / (time.process_time() - c)

    lanes_run("adding", 2, n_lanes, **kw)  # compile / load outside the timing
    ratios = []
    for i in range(pairs):
        if i % 2:
            lane, one = rate_lanes(), rate_single()
        else:
            one, lane = rate_single(), rate_lanes()
        ratios.append(lane / one)
    return ratios


def lane_step_alone(n_lanes, ticks, repeats):
    """Lane-steps per CPU second of the lane kernel's generated step (tick, partials, shift) run
    back to back on one lane state: what the lanes would give with no per-lane work at all.

    The state is a real one: the weights and activations of the lanes after 100 sequences of
    training, and the cell states and partials are zeroed every 105 ticks as a sequence start
    zeroes them. (Running on made-up weights without those resets lets the cell states drift
    through the range where the logistic's results are subnormal, whose arithmetic is many times
    slower: this figure then read 22 instead of 30 M steps/s.)"""
    from numba import njit

    from lstmsim.fast.unrolled import dims_from_spec, layout, step

    @njit(error_model="numpy")
    def steps(spec, Z, s0, s1, p0, p1, n, period):
        for i in range(n):
            if i % period == 0:  # a sequence start: states and partials from zero
                Z[s0:s1] = 0.0
                Z[p0:p1] = 0.0
            step(spec, Z)  # tick, partials, shift: a quiet tick's arithmetic
        return n

    setup = lanes_setup("adding", 100, n_lanes, T=100)
    lanes_go(setup)
    st = setup[1]
    ly, NL = layout(dims_from_spec(st.spec)), st.live.shape[0]
    rows = (ly["S"] * NL, (ly["S"] + ly["Nc"]) * NL,  # Z's cell-state and partials rows
            ly["P"] * NL, (ly["P"] + 2 * ly["Nc"] * ly["D"]) * NL)
    Z0 = st.Z.copy()

    def make():
        st.Z[:] = Z0
        return st

    steps(st.spec, st.Z, *rows, 10, 105)
    return _best(repeats, make, lambda s: n_lanes * steps(s.spec, s.Z, *rows, ticks, 105))[0]


def older_checkout(checkout, n, repeats):
    """`single('adding', n, repeats, T=100)` of an older checkout of lstmsim (e.g. the one before
    issue 7), in a process that imports lstmsim from it; RuntimeError if that process fails."""
    checkout = os.path.realpath(checkout)
    code = ("import os, sys, json; sys.path.insert(0, %r); sys.path.insert(0, %r); import speed; "
            "import lstmsim; where = os.path.realpath(lstmsim.__file__); "
            "assert where.startswith(%r + os.sep), 'lstmsim is imported from ' + where; "
            "print(json.dumps(speed.single('adding', %d, %d, T=100)))"
            % (checkout, os.path.dirname(os.path.abspath(__file__)), checkout, n, repeats))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=checkout))
    if out.returncode != 0:
        raise RuntimeError(f"the older checkout's loop failed: {out.stderr.strip()[-300:]}")
    return tuple(json.loads(out.stdout.strip().splitlines()[-1]))


def cli_path(n):
    """What `python -m lstmsim task=adding` runs between compiling and testing: runner.train with
    the default trace.h5 writer (per-sequence results, per-step traces, weight snapshots), timed
    over the whole loop, trace writing included."""
    import tempfile
    from pathlib import Path

    from lstmsim import runner
    from lstmsim.progress import Display
    from lstmsim.trace import FILE_NAME, TraceWriter

    with tempfile.TemporaryDirectory() as out:
        cfg = config.load("adding", dict(T=100, seed=0, max_sequences=n, stop="none",
                                         progress="none", out=out))
        training = Training(cfg)
        tracer = TraceWriter(Path(out) / FILE_NAME, cfg, training, time.time())
        training.compile()
        w0 = time.perf_counter()
        with Display("none", "") as display:
            runner.train(training, display, tracer)
        rate = int(training.stop.ints[5]) / (time.perf_counter() - w0)
        tracer.close("benchmark")
        return rate


def startup():
    """Wall seconds of a whole warm run of 1 sequence, and of the in-process first step."""
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "lstmsim", "task=adding", "max_sequences=1", "test_size=1",
               "progress=none", f"out={out}"]
        subprocess.run(cmd, capture_output=True, check=True)  # the cache is warm after this
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        code = ("import time; t0 = time.perf_counter(); from lstmsim import config; "
                "from lstmsim.training import Training; "
                "tr = Training(config.load('adding', {'progress': 'none'})); tr.advance(1); "
                "print(time.perf_counter() - t0)")
        first = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                         check=True, text=True).stdout) for _ in range(3))
    return min(times), first


def paired_only(opts, n_lanes):
    """Target 2's paired ratio alone (only=paired): the ratio moves with the hour by more than
    most changes move it, so a claim about it needs several long series, run back to back."""
    pairs, n = int(opts.get("pairs", 20)), int(opts.get("pair_sequences", 80000))
    T = int(opts.get("T", 100))
    print(f"\n2. paired ratio, {n_lanes} lanes against one trial, adding T={T}: {pairs} pairs of "
          f"{n} sequences (one trial) and {max(n // n_lanes, 1)} a lane")
    for r in range(int(opts.get("rounds", 3))):
        print(f"   round {r + 1}: {paired_summary(paired_ratio(n, n_lanes, pairs, T=T))[1]}",
              flush=True)


def paired_summary(ratios):
    """The median of paired ratios, and a line with it, their range and target 2's verdict."""
    ratios = sorted(ratios)
    med = statistics.median(ratios)
    return med, (f"median {med:.2f} x, range {ratios[0]:.2f}-{ratios[-1]:.2f} x; target "
                 f"{TARGET_LANES} x -> {'OK' if med >= TARGET_LANES else 'BELOW'}")


def _children_cpu() -> float:
    """CPU seconds used so far by this process's finished child processes (and theirs)."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main(argv):
    opts = dict(a.split("=", 1) for a in argv)
    if opts.get("only", "paired") != "paired":
        print(f"speed.py: only={opts['only']!r}: the one choice is only=paired", file=sys.stderr)
        sys.exit(2)
    n = int(opts.get("sequences", 20000))
    repeats = int(opts.get("repeats", 3))
    n_lanes = int(opts.get("lanes", 8))
    skip = set(opts.get("skip", "").split(","))
    load = os.getloadavg()[0]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, load average {load:.1f} at start; "
          "float64; M steps/s per CPU second (wall-time rate in brackets); best of "
          f"{repeats}")
    M = 1e6
    if "only" in opts:
        paired_only(opts, n_lanes)
        return

    print("\n1. one trial, one core")
    if "baseline" in opts:  # the same loop of an older checkout (e.g. before issue 7), same run
        try:
            old = older_checkout(opts["baseline"], n, repeats)
            old = f"{old[0] / 1e6:6.2f}  [{old[1] / 1e6:6.2f}]"
        except RuntimeError as e:
            old = str(e)
        print(f"   adding T=100, {opts['baseline']} (older checkout): {old}")
    ref = single("adding", n, repeats, reference=True, T=100)
    fast = single("adding", n, repeats, T=100)
    # the preset's cap (what `python -m lstmsim task=adding` runs): the loop's fixed costs (opening
    # trace.h5, the first traced sequences, the chunk-size ramp) and its per-chunk costs (chunks
    # end at each of the ~100 weight snapshots) are ~15% of a 20,000-sequence run, ~7% of 200,000
    cli_n = int(opts.get("cli_sequences", config.load("adding", {}).max_sequences))
    cli = max(cli_path(cli_n) for _ in range(repeats))
    print(f"   adding T=100 reference loop (baseline): {ref[0] / M:6.2f}  [{ref[1] / M:6.2f}]")
    print(f"   adding T=100 fast loop               : {fast[0] / M:6.2f}  [{fast[1] / M:6.2f}]"
          f"  {fast[0] / ref[0]:.2f} x baseline")
    print(f"   adding T=100 CLI path, traces on ({cli_n} sequences): [{cli / M:6.2f}]  "
          f"target {TARGET_SINGLE / M:.1f} (1.3 x C simulator {C_SIMULATOR / M:.1f}) -> "
          f"{'OK' if cli >= TARGET_SINGLE else 'BELOW'}")
    others = (("order6a", "6a (temporal order)"), ("reber", "Reber net (targets every step)"))
    fast_other = {}
    for task, label in others:
        m = max(n // 10, 500)
        r = single(task, m, repeats, reference=True)
        f = fast_other[task] = single(task, m, repeats)
        print(f"   {label:30s}: reference {r[0] / M:6.2f}, fast {f[0] / M:6.2f}  "
              f"({f[0] / r[0]:.2f} x)")

    print(f"\n2. {n_lanes} trials in one lane kernel, one core (adding T=100)")
    m = max(n // n_lanes, 200)
    lanes_run("adding", 2, n_lanes, T=100)  # compile / load
    agg = _best(repeats, lambda: lanes_setup("adding", m, n_lanes, T=100), lanes_go)
    print(f"   aggregate {agg[0] / M:6.2f}  [{agg[1] / M:6.2f}]  = {agg[0] / fast[0]:.2f} x the fast "
          f"single-trial loop, {agg[0] / ref[0]:.2f} x baseline; target {TARGET_LANES} x -> "
          f"{'OK' if agg[0] >= TARGET_LANES * fast[0] else 'BELOW'}")
    pairs = int(opts.get("pairs", 10))
    med, line = paired_summary(paired_ratio(max(n, 8000), n_lanes, pairs, T=100))
    print(f"   paired ({pairs} pairs of back-to-back runs, one trial then the lanes or the other "
          f"way round): {line}")
    # Table 7's rows: every trial runs the preset's cap (none reaches ST3 under the literal rule;
    # docs/fidelity.md), so a row's steps are proportional to its mean length, 1.05 T
    medians = {100: med}
    for T in (500, 1000):
        medians[T] = statistics.median(paired_ratio(max(n * 100 // T, 2000), n_lanes, pairs, T=T))
    mix = sum(1.05 * T for T in medians) / sum(1.05 * T / r for T, r in medians.items())
    print(f"   the same at T = 500 and 1000: medians {medians[500]:.2f} x and {medians[1000]:.2f} x; "
          f"Table 7's mix of steps (T = 100/500/1000, 1 : 5 : 10): {mix:.2f} x")
    alone = lane_step_alone(n_lanes, 20 * m, repeats)
    print(f"   the generated lane step alone (no per-lane or per-sequence work): {alone / M:6.2f} "
          f"= {alone / fast[0]:.2f} x the fast loop: the ceiling of the lane design on this machine")
    for task, label in others:  # (not the target's figure; sweeps of these run in lanes too)
        # as many sequences as adding's: with few, the end of the run, when lanes that finished
        # early sit idle, weighs on the figure (Reber, 100 sequences a lane: 0.84 x; 600: 1.4 x)
        m = max(n // n_lanes, 300)
        lanes_run(task, 2, n_lanes)
        agg = _best(repeats, lambda: lanes_setup(task, m, n_lanes), lanes_go)
        print(f"   {label:30s}: {n_lanes} lanes {agg[0] / M:6.2f}  [{agg[1] / M:6.2f}]  = "
              f"{agg[0] / fast_other[task][0]:.2f} x its fast single-trial loop")

    if "cores" not in skip:
        print("\n3. two cores (two processes, each the lane run of 2.; wall time, then CPU time)")
        # long enough (a few seconds) that start-up skew does not matter
        (one, two), (one_cpu, two_cpu) = two_cores.lanes(int(opts.get("cores_sequences", 20 * m)),
                                                         n_lanes, repeats)
        print(f"   one process [{one / M:6.2f}], two at once [{two / M:6.2f}] = {two / one:.2f} x; "
              f"target {TARGET_CORES} x -> {'OK' if two >= TARGET_CORES * one else 'BELOW'}")
        print(f"   per CPU second of each process: one {one_cpu / M:6.2f}, two at once "
              f"{two_cpu / M:6.2f} = {two_cpu / one_cpu:.2f} x (the cost of sharing the machine's "
              "caches and memory, without other jobs' share of the cores)")
        (a_one, a_two), _ = two_cores.arithmetic(repeats)
        print(f"   the machine's ceiling, a loop of arithmetic alone (two_cores.spin) timed the same "
              f"way: two at once = {a_two / a_one:.2f} x one")

    if "startup" not in skip:
        print("\n4. start-up with a warm cache (wall time)")
        whole, first = startup()
        print(f"   python -m lstmsim task=adding max_sequences=1 test_size=1: {whole:.2f} s "
              f"(import, config, compile-cache load, 1 sequence, test, files)")
        print(f"   import + Training + first step in a fresh process: {first:.2f} s; target "
              f"< {TARGET_START:.0f} s -> {'OK' if first < TARGET_START else 'BELOW'}")
    if opts.get("table7") == "yes":
        print("\n5. python -m lstmsim reproduce table=7 workers=2 (10 trials per row; wall time)")
        import tempfile

        with tempfile.TemporaryDirectory() as out:
            c0, w0 = _children_cpu(), time.perf_counter()
            subprocess.run([sys.executable, "-m", "lstmsim", "reproduce", "table=7", "workers=2",
                            "progress=none", f"out={out}"], check=True, capture_output=True)
            cpu, wall = _children_cpu() - c0, time.perf_counter() - w0
            trained = sum(json.loads(p.read_text())["steps_trained"]
                          for p in Path(out).glob("sweeps/*/*/trial-*/summary.json"))
        print(f"   {wall / 60:.1f} min; target {TARGET_TABLE7 / 60:.0f} min -> "
              f"{'OK' if wall < TARGET_TABLE7 else 'BELOW'}")
        # the whole run's rate: lanes, tests, traces, checkpoints, Python and start-up included
        print(f"   {trained / 1e9:.2f} G steps trained, {trained / cpu / M:.1f} M steps per CPU "
              f"second of the whole run ({cpu:.0f} s)")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
