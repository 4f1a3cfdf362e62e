"""Zeroed float64 buffers whose first element sits on a 64-byte boundary (a cache line).

Why: the lane kernel (lanes.py) reads and writes its flat buffer Z a row at a time, a row being
one value for each of 8 lanes: 64 bytes, one AVX-512 register. NumPy takes a buffer of Z's size
(~20 KB on the adding net) from malloc, which aligns it to 16 bytes only, so where it starts
within a cache line depended on the process's earlier allocations. When it started 16 or 48
bytes into a line, every row's 32-byte halves straddled two cache lines, and 8 lanes ran ~8%
slower: 22.8-23.2 against 24.4-25.0 M steps/s (adding T=100, 8 lanes of 20,000 sequences, the
buffer placed at each offset in turn in one process, 3 rounds; offsets 0 and 32 ran alike, so
32-byte alignment is what counts on this machine, 64 covers wider registers too). That placement
was a hidden part of this machine's run-to-run noise. One trial's step (single.py) is bound by
its dependency chain and moved by at most ~3% (10.2-10.8 M steps/s at the four offsets); its
buffer is aligned too.
"""

from __future__ import annotations

import numpy as np

ALIGN = 64  # bytes: a cache line, and one AVX-512 register


def aligned_zeros(n: int) -> np.ndarray:
    """A 1-D float64 array of n zeros whose data starts on an ALIGN-byte boundary.

    A view into a slightly larger buffer (which the view keeps alive); contiguous, writable, and
    filled in place by checkpoint restores like any other array."""
    per = ALIGN // 8
    buf = np.zeros(n + per)
    skip = (-buf.ctypes.data % ALIGN) // 8  # malloc's alignment (>= 16) is a multiple of 8
    return buf[skip: skip + n]
