"""The compiled loop over many sequences: generate, process, judge, check the stop rule.

Python calls `run_chunk` once per chunk of thousands of sequences; nothing per sequence happens in
Python. Everything that must survive between chunks (weights, random generator, stop-rule window)
lives in arrays owned by the caller, so splitting a run into chunks never changes its result.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .generators import generate
from .kernel import (STAT_ABS, STAT_CORRECT, STAT_DIVERGED_AT, STAT_MAXABS, STAT_SQ,
                     run_sequence)

STOP_NONE = 0
STOP_ST3 = 1  # mean error over the window < beta and every sequence of the window correct
STOP_NSEQ = 2  # fewer than level[i] of the window have |error| > threshold: evaluation points

EVENT_DONE = 0  # n_max sequences processed
EVENT_STOP = 1  # the stop rule fired (after the sequence that made it fire)
EVENT_LEVEL = 2  # an NSEQ evaluation level was reached; the run goes on
EVENT_DIVERGED = 3  # a non-finite value appeared
EVENT_REC_FULL = 4  # the per-step record buffer cannot take the next traced sequence

# integer counters of the stop state
I_POS, I_FILLED, I_WRONG, I_LEVEL, I_SEQS, I_STEPS, I_BIG = range(7)


class Rules(NamedTuple):
    """How sequences are learned, judged and when training stops (all scalars)."""

    gen_id: int
    lr: float
    learn: bool
    update_mode: int
    reset: float
    rule: int
    threshold: float
    judge_last: int
    stop_kind: int
    beta: float
    avg_sq: int  # 1: the window's average error is the mean squared error, 0: mean absolute
    big_threshold: float  # NSEQ: a sequence counts as "big error" when max|t - y| > this
    item_base: int  # -1: draw sequences at random; >= 0: take items item_base, item_base+1, ...
    rec_first: int  # record per-step traces of sequences with index < rec_first
    rec_every: int  # ... and of every rec_every-th sequence (0: none)


class StopState(NamedTuple):
    ring_err: np.ndarray  # (window,) average-error contribution of each recent sequence
    ring_bad: np.ndarray  # (window,) 1 where the sequence was not correct
    ring_big: np.ndarray  # (window,) 1 where max|t - y| > big_threshold
    ints: np.ndarray  # int64 counters, see I_*
    err_sum: np.ndarray  # (1,) running sum of ring_err
    levels: np.ndarray  # int64 NSEQ levels, descending


class Log(NamedTuple):
    """Per-sequence results of one chunk."""

    length: np.ndarray  # int32
    abs_err: np.ndarray
    sq_err: np.ndarray
    max_abs: np.ndarray
    correct: np.ndarray  # int8


class Recorder(NamedTuple):
    rows: np.ndarray  # (capacity, width) per-step records
    seq: np.ndarray  # (max_seqs,) global index of each recorded sequence
    start: np.ndarray  # (max_seqs,) its first row
    count: np.ndarray  # int64 [sequences recorded, rows used]


def new_stop_state(window: int, levels=()) -> StopState:
    return StopState(np.zeros(window), np.zeros(window, np.int8), np.zeros(window, np.int8),
                     np.zeros(8, np.int64), np.zeros(1), np.asarray(list(levels) or [0], np.int64))


def new_log(n: int) -> Log:
    return Log(np.zeros(n, np.int32), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, np.int8))


def new_recorder(width: int, capacity: int = 0, max_seqs: int = 0) -> Recorder:
    return Recorder(np.zeros((capacity, width)), np.zeros(max_seqs, np.int64),
                    np.zeros(max_seqs, np.int64), np.zeros(2, np.int64))


@njit(cache=True)
def window_update(rules, stop, err, bad, big):
    """Add one finished sequence to the sliding window of the last `window` sequences and apply
    the stop rule. err: its average-error contribution, bad: 1 if not correct, big: 1 if
    max|t - y| > big_threshold. Returns EVENT_STOP, EVENT_LEVEL, or -1 (no event). The one copy
    of the rule, used by every training loop (reference, fast, lanes, other models)."""
    ints = stop.ints
    window = stop.ring_err.shape[0]
    pos = ints[I_POS]
    if ints[I_FILLED] == window:
        stop.err_sum[0] -= stop.ring_err[pos]
        ints[I_WRONG] -= stop.ring_bad[pos]
        ints[I_BIG] -= stop.ring_big[pos]
    else:
        ints[I_FILLED] += 1
    stop.ring_err[pos] = err
    stop.ring_bad[pos] = bad
    stop.ring_big[pos] = big
    stop.err_sum[0] += err
    ints[I_WRONG] += bad
    ints[I_BIG] += big
    pos += 1
    if pos == window:
        pos = 0
        # re-add the window from scratch once per lap so rounding cannot drift
        total = 0.0
        for w in range(window):
            total += stop.ring_err[w]
        stop.err_sum[0] = total
    ints[I_POS] = pos
    if ints[I_FILLED] < window or rules.stop_kind == STOP_NONE:
        return -1
    if rules.stop_kind == STOP_ST3:
        if ints[I_WRONG] == 0 and stop.err_sum[0] / window < rules.beta:
            return EVENT_STOP
    elif rules.stop_kind == STOP_NSEQ:
        lvl = ints[I_LEVEL]
        if lvl < stop.levels.shape[0] and ints[I_BIG] < stop.levels[lvl]:
            ints[I_LEVEL] += 1
            if ints[I_LEVEL] == stop.levels.shape[0]:
                return EVENT_STOP
            return EVENT_LEVEL
    return -1


NO_EVENT = -1  # end_sequence: the run goes on
REC_FULL = -2  # record_row: the trace buffer cannot take the next sequence


# The steps before and after each sequence of every training loop (this module's run_chunk, the
# fast loop fast/single.py, the other models' loops models/*.py). _nrt=False: compiled without
# Numba's reference counting (they allocate nothing), which otherwise costs two calls to an atomic
# increment / decrement for each array they read from the tuples (~0.2 microseconds a sequence).
@njit(cache=True, _nrt=False)
def record_row(rules, stop, recorder, Lmax):
    """Row of the recorder where the next sequence's steps go; -1: not recorded; REC_FULL."""
    seq_index = stop.ints[I_SEQS]
    if rules.rec_first > seq_index or (rules.rec_every > 0 and seq_index % rules.rec_every == 0):
        cnt = recorder.count
        if cnt[0] >= recorder.seq.shape[0] or cnt[1] + Lmax > recorder.rows.shape[0]:
            return REC_FULL
        return cnt[1]
    return -1


@njit(cache=True, _nrt=False)
def end_sequence(i, L, st, rules, stop, log, recorder, rec_row):
    """Log sequence i, update the counters and the window; returns (event or NO_EVENT, step)."""
    ints = stop.ints
    seq_index = ints[I_SEQS]
    log.length[i] = L
    log.abs_err[i] = st[STAT_ABS]
    log.sq_err[i] = st[STAT_SQ]
    log.max_abs[i] = st[STAT_MAXABS]
    log.correct[i] = 1 if st[STAT_CORRECT] > 0.5 else 0
    ints[I_SEQS] += 1
    ints[I_STEPS] += L
    if rec_row >= 0:
        cnt = recorder.count
        recorder.seq[cnt[0]] = seq_index
        recorder.start[cnt[0]] = rec_row
        cnt[0] += 1
        cnt[1] += L
    if st[STAT_DIVERGED_AT] >= 0:
        return EVENT_DIVERGED, int(st[STAT_DIVERGED_AT])
    err = st[STAT_SQ] if rules.avg_sq == 1 else st[STAT_ABS]
    big = 1 if st[STAT_MAXABS] > rules.big_threshold else 0
    return window_update(rules, stop, err, 1 - log.correct[i], big), -1


@njit(cache=True)
def run_chunk(net, sc, rules, tp, data, rng, bufs, n_max, stop, log, recorder):
    """Process up to n_max sequences. Returns (n_done, event, diverged_step).

    bufs = (X, Y, J, has_t) sized for the longest sequence of the task.
    """
    X, Y, J, has_t = bufs
    Lmax = X.shape[0]
    for i in range(n_max):
        rec_row = record_row(rules, stop, recorder, Lmax)
        if rec_row == REC_FULL:
            return i, EVENT_REC_FULL, -1
        item = -1 if rules.item_base < 0 else rules.item_base + i
        L = generate(rules.gen_id, rng, tp, data, item, X, Y, J, has_t)
        run_sequence(net, sc, X, Y, J, has_t, L, rules.lr, rules.learn, rules.update_mode,
                     rules.reset, rules.rule, rules.threshold, rules.judge_last,
                     recorder.rows, rec_row)
        event, step = end_sequence(i, L, sc.stats, rules, stop, log, recorder, rec_row)
        if event != NO_EVENT:
            return i + 1, event, step
    return n_max, EVENT_DONE, -1
