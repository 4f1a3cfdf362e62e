"""lane_steps._next_stop, which skips 8 steps at a time while no target is among them, against a
step-by-step scan (issue 7)."""

from __future__ import annotations

import numpy as np

from lstmsim.fast.lane_steps import _next_stop


def _next_stop_slowly(ht, rec_row, t, length, delayed):
    while t < length - 1:
        if ht[t] != 0 or rec_row >= 0 or (delayed and t == 0):
            break
        t += 1
    return t


def test_next_stop_is_the_first_step_that_needs_work():
    rng = np.random.default_rng(5)
    checked = skipped = 0
    for _ in range(3000):
        n = int(rng.integers(1, 60))
        ht = np.zeros(n + int(rng.integers(0, 12)), np.int8)  # a row longer than the sequence
        ht[rng.integers(0, ht.size, int(rng.integers(0, 4)))] = 1  # stale ones beyond it too
        rec_row = int(rng.choice([-1, -1, -1, 0, 7]))
        delayed = bool(rng.integers(0, 2))
        t = int(rng.integers(0, n))
        got = _next_stop(ht, rec_row, t, n, delayed)
        assert got == _next_stop_slowly(ht, rec_row, t, n, delayed)
        checked += 1
        skipped += got - t >= 8
    assert checked == 3000 and skipped > 300  # the word-at-a-time path ran often
