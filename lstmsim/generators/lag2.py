"""Experiments 2a and 2b: noise-free long-lag sequences (spec §4.2).

p+1 symbols, one-hot on p+1 input and p+1 output units: a_1..a_{p-1} -> units 0..p-2, x -> unit
p-1, y -> unit p. A sequence has length p+1: (x, m_1, ..., m_{p-1}, x) or (y, m_1, ..., m_{p-1}, y),
the class drawn with rng.integers(0, 2) (0: x, 1: y; probability 0.5 each).

* 2a (variant 0): m_i = a_i, i.e. the two fixed training sequences (selection t1).
* 2b (variant 1): each m_i drawn uniformly from a_1..a_{p-1} (selection t2).

Targets at every step t = 1..p (1-based; 0-based 0..p-1): the one-hot code of element t+1. The
last element has no target. J = Y.
"""

import numpy as np
from numba import njit

from .draws import integers

# layout of the task-parameter vector tp
P_P = 0  # p: the sequence has p+1 elements, the alphabet p+1 symbols
P_VARIANT = 1  # 0: 2a (fixed middle a_1..a_{p-1}); 1: 2b (random middle)
N_PARAMS = 2

MIN_P = 2  # at least one middle symbol a_1

VARIANTS = {"a": 0, "2a": 0, "b": 1, "2b": 1}


def _variant(variant):
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"lag2 variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        return VARIANTS[variant]
    if variant not in (0, 1):
        raise ValueError(f"lag2 variant must be 0 (2a) or 1 (2b), got {variant!r}")
    return int(variant)


def validate(p=100, variant=0):
    if int(p) != p or p < MIN_P:
        raise ValueError(f"lag2 needs an integer p >= {MIN_P}, got p={p}")
    _variant(variant)


def params(p=100, variant=0):
    """tp for Exp. 2a (variant 0 or 'a') or 2b (variant 1 or 'b')."""
    validate(p, variant)
    tp = np.zeros(N_PARAMS)
    tp[P_P] = p
    tp[P_VARIANT] = _variant(variant)
    return tp


def n_inputs(p=100, variant=0):
    return int(p) + 1


def n_outputs(p=100, variant=0):
    return int(p) + 1


def max_length(p=100, variant=0):
    return int(p) + 1


@njit(cache=True)
def generate(rng, tp, X, Y, J, has_t):
    """One sequence; returns L = p+1, or -1 if the buffers are too small."""
    p = int(tp[P_P])
    L = p + 1
    K = p + 1
    if L > X.shape[0] or X.shape[1] < K or Y.shape[1] < K:
        return -1
    cls = integers(rng, 0, 2)  # 0: x, 1: y
    end_unit = p - 1 + cls
    random_middle = tp[P_VARIANT] != 0.0
    for t in range(L):
        for k in range(K):
            X[t, k] = 0.0
            Y[t, k] = 0.0
            J[t, k] = 0.0
        has_t[t] = 0
    X[0, end_unit] = 1.0
    for t in range(1, p):
        if random_middle:
            X[t, integers(rng, 0, p - 1)] = 1.0
        else:
            X[t, t - 1] = 1.0
    X[p, end_unit] = 1.0
    # target at step t: the element at t+1
    for t in range(p):
        for k in range(K):
            Y[t, k] = X[t + 1, k]
            J[t, k] = X[t + 1, k]
        has_t[t] = 1
    return L
