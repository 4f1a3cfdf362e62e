"""Experiment 3: noise and signal on the same channel, Bengio et al.'s 2-sequence problem (§4.3).

One real-valued input, one output. Draws in this order: the length L = T + rng.integers(0,
T//10 + 1) (uniform in [T, T + T//10]); the class rng.integers(0, 2) (0: class 1, 1: class 2);
then one normal draw per noisy element, in time order; in 3c finally the target noise.

* Informative elements t < N (0-based): +1.0 (class 1) or -1.0 (class 2).
* Distractors t >= N: Gaussian, mean 0, variance NOISE_VAR = 0.2.
* 3a (variant 0): informative elements exact; target 1.0 (class 1) / 0.0 (class 2).
* 3b (variant 1): the same Gaussian noise (variance 0.2) added to the informative elements.
* 3c (variant 2): like 3a (informative inputs exact, §7 item 13; option P_INPUT_NOISE = 1 gives
  the 3b-style noisy inputs); targets 0.2 (class 1) / 0.8 (class 2); Gaussian noise of variance
  TARGET_NOISE_VAR = 0.1 is added to the training target Y only (not clipped); J holds the
  noise-free target.
Target at the last step only.
"""

import math

import numpy as np
from numba import njit

from .draws import integers

# layout of the task-parameter vector tp
P_T = 0  # minimal length T; the length is uniform in [T, T + T//10]
P_N = 1  # number of informative leading elements
P_VARIANT = 2  # 0: 3a, 1: 3b, 2: 3c
P_INPUT_NOISE = 3  # 3c only: 0 informative inputs exact (text, default); 1 noisy as in 3b
N_PARAMS = 4

NOISE_VAR = 0.2
TARGET_NOISE_VAR = 0.1
NOISE_SD = math.sqrt(NOISE_VAR)
TARGET_NOISE_SD = math.sqrt(TARGET_NOISE_VAR)

MIN_N = 1
# T must exceed N so that the last (target) step is a distractor: T >= N + 1

VARIANTS = {"a": 0, "3a": 0, "b": 1, "3b": 1, "c": 2, "3c": 2}


def _variant(variant):
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"twoseq variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        return VARIANTS[variant]
    if variant not in (0, 1, 2):
        raise ValueError(f"twoseq variant must be 0 (3a), 1 (3b) or 2 (3c), got {variant!r}")
    return int(variant)


def validate(T=100, N=3, variant=0, input_noise=0):
    if int(N) != N or N < MIN_N:
        raise ValueError(f"twoseq needs an integer N >= {MIN_N}, got N={N}")
    if int(T) != T or T < N + 1:
        raise ValueError(f"twoseq needs an integer T >= N + 1, got T={T}, N={N}")
    v = _variant(variant)
    if input_noise not in (0, 1, False, True):
        raise ValueError(f"twoseq input_noise must be 0 or 1, got {input_noise!r}")
    if input_noise and v != 2:
        raise ValueError("twoseq input_noise applies to 3c only (3b always has noisy inputs)")


def params(T=100, N=3, variant=0, input_noise=0):
    """tp for Exp. 3a/3b/3c (variant 0/1/2 or 'a'/'b'/'c')."""
    validate(T, N, variant, input_noise)
    tp = np.zeros(N_PARAMS)
    tp[P_T] = T
    tp[P_N] = N
    tp[P_VARIANT] = _variant(variant)
    tp[P_INPUT_NOISE] = int(input_noise)
    return tp


def n_inputs(T=100, N=3, variant=0, input_noise=0):
    return 1


def n_outputs(T=100, N=3, variant=0, input_noise=0):
    return 1


def max_length(T=100, N=3, variant=0, input_noise=0):
    return int(T) + int(T) // 10


@njit(cache=True)
def generate(rng, tp, X, Y, J, has_t):
    """One sequence; returns its length, or -1 if the buffers are too small."""
    T = int(tp[P_T])
    N = int(tp[P_N])
    variant = int(tp[P_VARIANT])
    if T + T // 10 > X.shape[0] or X.shape[1] < 1 or Y.shape[1] < 1:
        return -1
    L = T + integers(rng, 0, T // 10 + 1)
    cls = integers(rng, 0, 2)  # 0: class 1, 1: class 2
    sign = 1.0 if cls == 0 else -1.0
    noisy_info = variant == 1 or (variant == 2 and tp[P_INPUT_NOISE] != 0.0)
    for t in range(L):
        if t < N:
            v = sign
            if noisy_info:
                v += NOISE_SD * rng.standard_normal()
        else:
            v = NOISE_SD * rng.standard_normal()
        X[t, 0] = v
        Y[t, 0] = 0.0
        J[t, 0] = 0.0
        has_t[t] = 0
    if variant == 2:
        target = 0.2 if cls == 0 else 0.8
        Y[L - 1, 0] = target + TARGET_NOISE_SD * rng.standard_normal()
    else:
        target = 1.0 if cls == 0 else 0.0
        Y[L - 1, 0] = target
    J[L - 1, 0] = target
    has_t[L - 1] = 1
    return L
