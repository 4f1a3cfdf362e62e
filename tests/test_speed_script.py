"""benchmarks/speed.py's only=paired mode (issue 7): its options reach paired_ratio, every round
is printed with its median and target 2's verdict, and a bad `only=` is refused with one line and
exit code 2. paired_ratio itself (which times the kernels) is replaced by a fake here: the suite
does not time anything."""

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
