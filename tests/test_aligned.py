"""The kernels' flat buffers start on a cache line (lstmsim/fast/aligned.py, issue 7): a lane row
(8 doubles) that straddled two cache lines made 8 lanes ~8% slower."""

from __future__ import annotations

import numpy as np

from lstmsim import config
from lstmsim.fast.aligned import ALIGN, aligned_zeros


def test_aligned_zeros_start_on_a_cache_line_whatever_malloc_returns():
    keep = []  # allocations in between, so that malloc hands out differently placed blocks
    for n in range(1, 400, 7):
        keep.append(np.empty(n % 13 + 1))
        a = aligned_zeros(n * 10 + 3)
        assert a.ctypes.data % ALIGN == 0
        assert a.shape == (n * 10 + 3,) and a.dtype == np.float64
        assert a.flags.c_contiguous and a.flags.writeable and not a.any()


def test_lane_state_and_one_trials_scratch_use_aligned_buffers():
    from lstmsim.fast.lane_state import new_lane_state
    from lstmsim.fast.single import make_fast_scratch
    from lstmsim.training import Training

    net = Training(config.load("adding", dict(progress="none"))).net
    for _ in range(5):
        st = new_lane_state(net, 8, 5)
        assert st.Z.ctypes.data % ALIGN == 0
        assert np.shares_memory(st.W, st.Z) and np.shares_memory(st.P, st.Z)
        assert st.W.ctypes.data % ALIGN == 0  # a row of 8 lanes is one cache line
        fs = make_fast_scratch(net)
        assert fs.Z.ctypes.data % ALIGN == 0 and np.shares_memory(fs.WT, fs.Z)
