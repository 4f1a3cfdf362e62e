"""benchmarks/speed.py's only=paired mode and benchmarks/c_estimate.py (issue 7): their options
reach the measuring functions, every round is printed with its figures and the target's verdict,
and bad input is refused with one line and exit code 2. The measuring functions (which time the
kernels) are replaced by fakes here: the suite does not time anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")


@pytest.fixture
def speed(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import speed as module

    return module


def test_paired_summary_gives_the_median_range_and_verdict(speed):
    med, line = speed.paired_summary([2.6, 2.2, 2.4])
    assert med == 2.4
    assert line == "median 2.40 x, range 2.20-2.60 x; target 2.5 x -> BELOW"
    assert speed.paired_summary([2.5, 2.7])[1].endswith("-> OK")


def test_only_paired_runs_the_rounds_asked_for(speed, monkeypatch, capsys):
    calls = []
    results = iter([[2.3, 2.1, 2.2], [2.6, 2.5, 2.7]])

    def fake(n, n_lanes, pairs, **kw):
        calls.append((n, n_lanes, pairs, kw))
        return next(results)

    monkeypatch.setattr(speed, "paired_ratio", fake)
    speed.main(["only=paired", "pairs=3", "pair_sequences=800", "rounds=2", "T=50", "lanes=4"])
    assert calls == [(800, 4, 3, {"T": 50})] * 2
    out = capsys.readouterr().out
    assert "3 pairs of 800 sequences (one trial) and 200 a lane" in out
    assert "round 1: median 2.20 x, range 2.10-2.30 x; target 2.5 x -> BELOW" in out
    assert "round 2: median 2.60 x, range 2.50-2.70 x; target 2.5 x -> OK" in out
    assert "1. one trial" not in out  # nothing else is run


def test_a_bad_only_is_refused_with_one_line_and_exit_2():
    out = subprocess.run([sys.executable, os.path.join(BENCH, "speed.py"), "only=lanes"],
                         capture_output=True, text=True, cwd=BENCH)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "speed.py: only='lanes': the one choice is only=paired"]


# benchmarks/c_estimate.py: target 1 on a CPU where the C simulator was not measured

@pytest.fixture
def estimate(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import c_estimate as module

    return module


def test_the_estimate_scales_the_c_simulator_by_the_old_loop(estimate, monkeypatch, capsys,
                                                             tmp_path):
    """Each round sets the CLI path against the old loop; the C simulator here is 7.5 x the old
    loop's rate here over its 5.18 on the Zen 4; the verdict is the median ratio against
    1.3 x 7.5 / 5.18."""
    (tmp_path / "lstmsim").mkdir()
    (tmp_path / "lstmsim" / "kernel.py").write_text("")
    olds, clis = iter([5.18e6, 4.0e6, 4.5e6]), iter([9.0e6, 7.0e6, 9.9e6])
    calls = []
    monkeypatch.setattr(estimate, "old_rate", lambda d, n: calls.append((d, n)) or next(olds))
    monkeypatch.setattr(estimate, "cli_rate", lambda n: calls.append(n) or next(clis))
    estimate.main([str(tmp_path), "rounds=3", "sequences=500", "cli_sequences=900"])
    assert calls == [(str(tmp_path), 500), 900] * 3
    out = capsys.readouterr().out
    assert "round 1: old loop  5.18 (Zen 4: 5.18), so the C simulator ~7.50 here and 1.3 x " \
           "~9.75; CLI path  9.00 = 1.74 x the old loop" in out
    assert "round 2: old loop  4.00 (Zen 4: 5.18), so the C simulator ~5.79 here" in out
    assert "median 1.75 x the old loop (range 1.74-2.20); target 1 by the estimate: 1.88 x -> " \
           "BELOW" in out
    assert estimate.summary([1.9, 2.0]).endswith("1.88 x -> OK")


@pytest.mark.parametrize("args,message", [
    ([], "give one DIR, the checkout before issue 7 (git archive fa0359d | tar -x -C DIR)"),
    (["."], "'.' holds no lstmsim/kernel.py: not a checkout of lstmsim"),
    (["..", "rounds=0"], "rounds='0': must be a whole number >= 1"),
    (["..", "T=5"], "unknown option 'T'; the options are rounds, sequences, cli_sequences"),
])
def test_bad_estimate_input_is_one_line_and_exit_2(args, message):
    out = subprocess.run([sys.executable, os.path.join(BENCH, "c_estimate.py"), *args],
                         capture_output=True, text=True, cwd=BENCH)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [f"c_estimate.py: {message}"]


# benchmarks/two_cores.py: target 3 and the machine's ceiling

@pytest.fixture
def cores(monkeypatch):
    monkeypatch.syspath_prepend(BENCH)
    import two_cores as module

    monkeypatch.setattr(module, "START_DELAY", 0.0)
    return module


def test_processes_at_once_start_together_and_their_rates_add_up(cores, tmp_path):
    """Each process gets the common start time and reports [steps, wall, CPU] as its last line;
    the wall-time aggregate is all the steps over the longest wall time, the CPU-time aggregate
    the sum of the processes' own rates."""
    code = f"""
import json, os, sys, time
assert abs(float(sys.argv[1]) - time.time()) < 60
try:
    os.mkdir({str(tmp_path / "first")!r})  # the first process to get here
    k = 0
except FileExistsError:
    k = 1
print("other output")
print(json.dumps([100 * (1 + k), 2.0 + k, 1.0 + k]))
"""
    assert cores.at_once(code, 2) == (300 / 3.0, 100 / 1.0 + 200 / 2.0)
    assert cores.at_once(code, 1) == (200 / 3.0, 100.0)  # "first" exists now


def test_one_and_two_alternate_and_keep_the_best(cores, monkeypatch):
    calls, figures = [], iter([(1.0, 5.0), (2.0, 6.0), (3.0, 4.0), (1.5, 9.0)])
    monkeypatch.setattr(cores, "at_once", lambda code, k: calls.append(k) or next(figures))
    assert cores.one_and_two("code", 2) == ((3.0, 2.0), (5.0, 9.0))
    assert calls == [1, 2, 1, 2]


def test_spin_is_eight_multiply_add_chains(cores):
    a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    for _ in range(1000):
        a = [x * 0.9999999 + 1e-7 for x in a]
    assert cores.spin(1000) == sum(a[1:], a[0])


def test_an_older_checkout_without_lstmsim_is_an_error_not_the_current_code(speed, tmp_path):
    """speed.py baseline=DIR and c_estimate.py time an older checkout's loop in a process that
    imports lstmsim from it; where DIR holds none, that process would import the installed one
    and time the current code under the older checkout's name."""
    with pytest.raises(RuntimeError, match="lstmsim is imported from "):
        speed.older_checkout(str(tmp_path), 10, 1)
