"""Pieces of the compiled loop over sequences shared by the non-1997 models (issue 8).

`train_loop.run_chunk` is the 1997 LSTM's loop; the other models (conventional recurrent nets,
LSTM variants) run their own kernels inside loops with exactly the same contract: same arguments,
same `Rules`, `StopState`, `Log` and `Recorder`, same return value (n_done, event, diverged_step)
and the same sliding-window stop rules. The steps before and after each sequence (train_loop.record_row and
end_sequence, shared with run_chunk) and the judging of a target step, written here once as a
line-for-line transcription of the 1997 kernel's judging, so that the results are bit-identical (tests/test_baselines.py checks a
whole chunk of an Elman net against run_chunk with the 1997 kernel on the same net).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..kernel import (N_STATS, RULE_ABS, RULE_RANK, RULE_SQUARED, STAT_ABS, STAT_CORRECT,
                      STAT_DIVERGED_AT, STAT_MAXABS, STAT_SQ, _legal_on_top)

# judging accumulators (one small array per sequence)
J_SUM_ABS, J_SUM_SQ, J_MAX_ABS, J_N, J_N_STEPS, J_CORRECT, J_LAST_T = range(7)
N_JUDGE = 7


@njit(cache=True)
def judge_start(jacc, has_t, L, judge_last):
    jacc[J_SUM_ABS] = 0.0
    jacc[J_SUM_SQ] = 0.0
    jacc[J_MAX_ABS] = 0.0
    jacc[J_N] = 0.0
    jacc[J_N_STEPS] = 0.0
    jacc[J_CORRECT] = 1.0
    last_t = -1
    if judge_last:
        for t in range(L):
            if has_t[t]:
                last_t = t
    jacc[J_LAST_T] = last_t


@njit(cache=True)
def judge_step(jacc, J, has_t, t, yk, rule, threshold, judge_last):
    """The 1997 kernel's judging of step t (same operations in the same order)."""
    if has_t[t] and (not judge_last or t == int(jacc[J_LAST_T])):
        jacc[J_N_STEPS] += 1.0
        step_sq = 0.0
        for k in range(yk.shape[0]):
            err = abs(J[t, k] - yk[k])
            jacc[J_SUM_ABS] += err
            step_sq += err * err
            jacc[J_N] += 1.0
            if err > jacc[J_MAX_ABS]:
                jacc[J_MAX_ABS] = err
            if rule == RULE_ABS and not err < threshold:
                jacc[J_CORRECT] = 0.0
            elif rule == RULE_SQUARED and not err * err < threshold:
                jacc[J_CORRECT] = 0.0
        jacc[J_SUM_SQ] += step_sq
        if rule == RULE_RANK and not _legal_on_top(J, t, yk):
            jacc[J_CORRECT] = 0.0


@njit(cache=True)
def judge_finish(jacc, st, diverged_at):
    n = jacc[J_N]
    n_steps = jacc[J_N_STEPS]
    st[STAT_ABS] = jacc[J_SUM_ABS] / n if n > 0 else 0.0
    st[STAT_SQ] = jacc[J_SUM_SQ] / n_steps if n_steps > 0 else 0.0
    st[STAT_MAXABS] = jacc[J_MAX_ABS]
    st[STAT_CORRECT] = 1.0 if (jacc[J_CORRECT] > 0.5 and diverged_at < 0) else 0.0
    st[STAT_DIVERGED_AT] = diverged_at


@njit(cache=True)
def all_finite(v):
    for x in v:
        if not math.isfinite(x):
            return False
    return True


def new_stats() -> np.ndarray:
    return np.zeros(N_STATS)


def new_judge() -> np.ndarray:
    return np.zeros(N_JUDGE)
