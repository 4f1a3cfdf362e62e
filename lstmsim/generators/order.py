"""Experiment 6: temporal order (spec §4.6).

8 input symbols a, b, c, d, B, E, X, Y -> units 0..7. Draws in this order: the length L = 100 +
rng.integers(0, 11) (uniform in [100, 110]); then for each relevant slot in time order its position
(rng.integers, uniform over the slot's inclusive range) and its symbol (rng.integers(0, 2): 0 = X,
1 = Y); then one rng.integers(0, 4) per remaining position 2..L-1 (1-based), in time order.

Positions are 1-based in the spec: position 1 is E, position L is B (the trigger).
* 6a (variant 0): t1 in [10, 20], t2 in [50, 60]; classes XX->0, XY->1, YX->2, YY->3 (4 outputs).
* 6b (variant 1): t1 in [10, 20], t2 in [33, 43], t3 in [66, 76]; classes XXX->0 ... YYY->7
  (8 outputs), i.e. binary with X = 0, Y = 1, first symbol most significant.
Target: the one-hot class vector at the last step only. J = Y.
"""

import numpy as np
from numba import njit

from .draws import integers

# layout of the task-parameter vector tp
P_VARIANT = 0  # 0: 6a (two relevant symbols), 1: 6b (three)
N_PARAMS = 1

SYMBOLS = "abcdBEXY"
UNIT_B, UNIT_E, UNIT_X = 4, 5, 6  # Y is UNIT_X + 1
N_SYMBOLS = 8
LEN_MIN, LEN_MAX = 100, 110
# 1-based inclusive ranges of the relevant positions
RANGES_A = ((10, 20), (50, 60))
RANGES_B = ((10, 20), (33, 43), (66, 76))

VARIANTS = {"a": 0, "6a": 0, "b": 1, "6b": 1}


def _variant(variant):
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"order variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        return VARIANTS[variant]
    if variant not in (0, 1):
        raise ValueError(f"order variant must be 0 (6a) or 1 (6b), got {variant!r}")
    return int(variant)


def validate(variant=0):
    _variant(variant)


def params(variant=0):
    """tp for Exp. 6a (variant 0 or 'a') or 6b (variant 1 or 'b')."""
    tp = np.zeros(N_PARAMS)
    tp[P_VARIANT] = _variant(variant)
    return tp


def n_inputs(variant=0):
    return N_SYMBOLS


def n_outputs(variant=0):
    return 4 if _variant(variant) == 0 else 8


def max_length(variant=0):
    return LEN_MAX


@njit(cache=True)
def generate(rng, tp, X, Y, J, has_t):
    """One sequence; returns its length, or -1 if the buffers are too small."""
    six_b = tp[P_VARIANT] != 0.0
    n_rel = 3 if six_b else 2
    K = 8 if six_b else 4
    if X.shape[0] < LEN_MAX or X.shape[1] < N_SYMBOLS or Y.shape[1] < K:
        return -1
    L = LEN_MIN + integers(rng, 0, LEN_MAX - LEN_MIN + 1)
    p0 = -1  # 0-based positions of the relevant symbols (-1: unused)
    p1 = -1
    p2 = -1
    cls = 0
    for i in range(n_rel):
        lo, hi = RANGES_B[i] if six_b else RANGES_A[i]
        pos = integers(rng, lo, hi + 1) - 1
        bit = integers(rng, 0, 2)
        cls = 2 * cls + bit
        for k in range(N_SYMBOLS):
            X[pos, k] = 0.0
        X[pos, UNIT_X + bit] = 1.0
        if i == 0:
            p0 = pos
        elif i == 1:
            p1 = pos
        else:
            p2 = pos
    for t in range(L):
        for k in range(K):
            Y[t, k] = 0.0
            J[t, k] = 0.0
        has_t[t] = 0
        if t == p0 or t == p1 or t == p2:
            continue
        for k in range(N_SYMBOLS):
            X[t, k] = 0.0
        if t == 0:
            X[t, UNIT_E] = 1.0
        elif t == L - 1:
            X[t, UNIT_B] = 1.0
        else:
            X[t, integers(rng, 0, 4)] = 1.0
    Y[L - 1, cls] = 1.0
    J[L - 1, cls] = 1.0
    has_t[L - 1] = 1
    return L
