"""Experiments 4 and 5: the adding and multiplication problems (spec §4.4, §4.5).

Each step is a pair (value, marker). Two pairs are marked (marker 1.0): one of the first 10, and
one of the first T/2-1 pairs still unmarked. The first and last unmarked pairs carry marker -1.
The target at the last step is 0.5 + (X1 + X2)/4 (adding) or X1*X2 (multiplication).
"""

from numba import njit

from .draws import integers
from .pcg64 import random

# layout of the task-parameter vector tp
P_T = 0  # minimal length T; the length is uniform in [T, T + T//10]
P_VALUE_LOW = 1  # values are uniform in [VALUE_LOW, 1]: -1 (adding) or 0 (multiplication)
P_FIRST_PAIR_VALUE = 2  # a marked first pair has its value replaced by this: 0 (adding), 1 (mult.)
P_PRODUCT = 3  # 0: target 0.5 + (X1+X2)/4; 1: target X1*X2
P_SECOND_MARK = 4  # 0: literal, first T/2-1 unmarked pairs; 1: positions 1..T/2-1 without X1
P_END_MARKERS = 5  # 1: first and last unmarked pairs get marker -1 (paper); 0: they stay 0
N_PARAMS = 6

MIN_T = 12  # the first mark needs 10 positions before the last step, the second at least one


@njit(cache=True)
def max_length(T):
    return T + T // 10


@njit(cache=True)
def generate(rng, tp, X, Y, J, has_t):
    T = int(tp[P_T])
    L = T + integers(rng, 0, T // 10 + 1)
    low = tp[P_VALUE_LOW]
    for t in range(L):
        X[t, 0] = low + (1.0 - low) * random(rng)
        X[t, 1] = 0.0
        has_t[t] = 0
    if tp[P_END_MARKERS] != 0.0:
        X[0, 1] = -1.0
        X[L - 1, 1] = -1.0
    first = integers(rng, 0, 10)
    half = T // 2
    if tp[P_SECOND_MARK] == 0.0:
        # the first T/2-1 positions that are not `first`: index k maps past `first`
        k = integers(rng, 0, half - 1)
        second = k if k < first else k + 1
    else:
        # positions 0..T/2-2 (1-based 1..T/2-1) without `first`
        n_cand = half - 1 - (1 if first < half - 1 else 0)
        k = integers(rng, 0, n_cand)
        second = k if (k < first or first >= half - 1) else k + 1
    for pos in (first, second):
        X[pos, 1] = 1.0
        if pos == 0:
            X[pos, 0] = tp[P_FIRST_PAIR_VALUE]
    x1 = X[first, 0]
    x2 = X[second, 0]
    target = x1 * x2 if tp[P_PRODUCT] != 0.0 else 0.5 + (x1 + x2) / 4.0
    Y[L - 1, 0] = target
    J[L - 1, 0] = target
    has_t[L - 1] = 1
    return L
