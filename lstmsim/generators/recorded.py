"""Replay: re-feed sequences recorded in a trace (task=replay, lstmsim/replay.py).

The sequences are handed over as one 2-D float64 array (`pack` builds it):

    row 0          header: [cursor, n_seq, n_in, K, Lmax]; the cursor is the next sequence to
                   draw when no item is asked for (training), so training re-feeds them in order
    row 1 + i      sequence i: [L, x (Lmax*n_in, step-major), y (Lmax*K), has_t (Lmax)]

J (judging targets) is set to the recorded training targets Y. Past the last sequence it wraps.
"""

import numpy as np
from numba import njit


def pack(seqs, n_in: int, n_out: int) -> np.ndarray:
    """seqs: list of (x (L, n_in), y (L, K), has_t (L,)) -> the array `generate` reads."""
    lmax = max([len(h) for _, _, h in seqs] + [1])
    width = max(5, 1 + lmax * (n_in + n_out + 1))
    data = np.zeros((1 + len(seqs), width))
    data[0, :5] = (0, len(seqs), n_in, n_out, lmax)
    yo, ho = 1 + lmax * n_in, 1 + lmax * (n_in + n_out)
    for i, (x, y, h) in enumerate(seqs):
        L = len(h)
        row = data[1 + i]
        row[0] = L
        row[1:1 + L * n_in] = np.asarray(x, np.float64).reshape(-1)
        row[yo:yo + L * n_out] = np.asarray(y, np.float64).reshape(-1)
        row[ho:ho + L] = h
    return data


@njit(cache=True)
def generate(data, item, X, Y, J, has_t):
    n_seq = int(data[0, 1])
    if n_seq <= 0:
        return -1
    if item < 0:
        i = int(data[0, 0]) % n_seq
        data[0, 0] = i + 1
    else:
        i = item % n_seq
    n_in, K, lmax = int(data[0, 2]), int(data[0, 3]), int(data[0, 4])
    L = int(data[1 + i, 0])
    if L > X.shape[0]:
        return -1
    yo = 1 + lmax * n_in
    ho = yo + lmax * K
    for t in range(L):
        for m in range(n_in):
            X[t, m] = data[1 + i, 1 + t * n_in + m]
        for k in range(K):
            v = data[1 + i, yo + t * K + k]
            Y[t, k] = v
            J[t, k] = v
        has_t[t] = 1 if data[1 + i, ho + t] != 0.0 else 0
    return L
