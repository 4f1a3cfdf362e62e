"""Experiment 2c: very long lags, no local regularities (spec §4.2, §7 items 11-12).

p+4 input symbols, one-hot: distractors a_1..a_p -> units 0..p-1, trigger e -> p, start b -> p+1,
x -> p+2, y -> p+3. Two output units: x -> 0, y -> 1.

Generation (selection t2), with draws in this order:
  1. the class, rng.integers(0, 2) (0: x, 1: y); the prefix b, class symbol, then q distractors,
     each rng.integers(0, p);
  2. repeatedly rng.random(): below 0.9 append another distractor (rng.integers(0, p)), otherwise
     append the trigger e;
  3. append the final symbol, equal to the 2nd symbol.
With k extra distractors the length is q+k+4, P(k) = 0.1 * 0.9**k, E[k] = 9, E[L] = q+13 (the
paper's q+14 is an arithmetic slip).

Target (§7 item 12): one-hot of the final symbol on the 2 outputs, at the step whose input is e
(0-based index L-2). The final symbol is still fed as the last input and has no target. Option
P_END_AT_TRIGGER = 1 ends the sequence at the trigger instead (length q+k+3, target at the last step).

Finite buffers: k is capped at K_MAX = 1000 (the trigger is forced after 1000 extra distractors;
P(k >= 1000) = 0.9**1000 ~ 1.7e-46 per sequence), so max_length = q + 4 + K_MAX. If the caller's
buffer is shorter than that, the cap is lowered to what fits: nothing is ever written past it.
"""

import numpy as np
from numba import njit

from .draws import integers
from .pcg64 import random

# layout of the task-parameter vector tp
P_Q = 0  # q: number of distractors in the fixed prefix (minimal lag q+1)
P_P = 1  # p: number of distinct distractor symbols
P_END_AT_TRIGGER = 2  # 0: feed the final symbol after the trigger (default); 1: end at the trigger
N_PARAMS = 3

K_MAX = 1000  # cap on the extra distractors of step 2
P_CONTINUE = 0.9  # probability of another distractor in step 2

MIN_Q = 0
MIN_P = 1


def validate(q=100, p=100, end_at_trigger=0):
    if int(q) != q or q < MIN_Q:
        raise ValueError(f"lag2c needs an integer q >= {MIN_Q}, got q={q}")
    if int(p) != p or p < MIN_P:
        raise ValueError(f"lag2c needs an integer p >= {MIN_P}, got p={p}")
    if end_at_trigger not in (0, 1, False, True):
        raise ValueError(f"lag2c end_at_trigger must be 0 or 1, got {end_at_trigger!r}")


def params(q=100, p=100, end_at_trigger=0):
    """tp for Exp. 2c: q prefix distractors, p distractor symbols."""
    validate(q, p, end_at_trigger)
    tp = np.zeros(N_PARAMS)
    tp[P_Q] = q
    tp[P_P] = p
    tp[P_END_AT_TRIGGER] = int(end_at_trigger)
    return tp


def n_inputs(q=100, p=100, end_at_trigger=0):
    return int(p) + 4


def n_outputs(q=100, p=100, end_at_trigger=0):
    return 2


def max_length(q=100, p=100, end_at_trigger=0):
    return int(q) + 4 + K_MAX


@njit(cache=True)
def _put(X, t, n_in, unit):
    for k in range(n_in):
        X[t, k] = 0.0
    X[t, unit] = 1.0


@njit(cache=True)
def generate(rng, tp, X, Y, J, has_t):
    """One sequence; returns its length, or -1 if the buffers cannot hold even the shortest one."""
    q = int(tp[P_Q])
    p = int(tp[P_P])
    end_at_trigger = tp[P_END_AT_TRIGGER] != 0.0
    n_in = p + 4
    tail = 3 if end_at_trigger else 4  # b, class, e[, final]
    cap = X.shape[0]
    if cap < q + tail or X.shape[1] < n_in or Y.shape[1] < 2:
        return -1
    k_max = min(K_MAX, cap - q - tail)
    cls = integers(rng, 0, 2)  # 0: x, 1: y
    _put(X, 0, n_in, p + 1)
    _put(X, 1, n_in, p + 2 + cls)
    for t in range(2, q + 2):
        _put(X, t, n_in, integers(rng, 0, p))
    t = q + 2
    k = 0
    while k < k_max and random(rng) < P_CONTINUE:
        _put(X, t, n_in, integers(rng, 0, p))
        t += 1
        k += 1
    trigger = t
    _put(X, trigger, n_in, p)
    if end_at_trigger:
        L = trigger + 1
    else:
        _put(X, trigger + 1, n_in, p + 2 + cls)
        L = trigger + 2
    for s in range(L):
        has_t[s] = 0
        for c in range(2):
            Y[s, c] = 0.0
            J[s, c] = 0.0
    has_t[trigger] = 1
    Y[trigger, cls] = 1.0
    J[trigger, cls] = 1.0
    return L
