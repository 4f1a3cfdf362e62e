"""One trial, fast: `run_chunk` (train_loop.py) with the 1997 step laid out for SIMD within a step.

Same arguments, results and events as `train_loop.run_chunk`, bit for bit (tests/test_fast.py);
`Training` uses it for the 1997 LSTM. Why it is shaped this way:

* The step's arithmetic (net inputs, gates, cells, outputs; the partials; the shift of this step's
  activations into the next step's sources) is code generated for the topology (step_code.py):
  the rows' net inputs and logistics are one vectorised loop with the sources written out, the
  partials update one vectorised loop over [cells | input gates]. Each row still sums its terms
  in source order from 0.0, as the reference does (no reassociation: no fast-math).
* Transposed weights. The chunk works on W^T (sources, rows), so a source's weights to all rows
  are adjacent. W^T and the step's other arrays are views of one flat buffer (FastScratch.Z);
  W^T, its mask and the summed changes are copied in at chunk entry and out at every exit (a
  few hundred numbers per chunk of thousands of sequences), so `net.W_h` is always the truth
  between chunks.
* Partials as one (sources, 2 * cells) array [ds_c/dw_c | ds_c/dw_in(c)].
* What runs rarely (errors and changes at target steps, updates, traces, judging) is plain loops
  over runtime sizes on the same arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..generators import generate
from ..kernel import (N_STATS, RULE_ABS, RULE_RANK, RULE_SQUARED, STAT_ABS, STAT_CORRECT,
                      STAT_DIVERGED_AT, STAT_MAXABS, STAT_SQ, UPDATE_DELAYED, UPDATE_SEQUENCE,
                      UPDATE_STEP, _legal_on_top, _record)
from ..network import Net
from .step_code import forward, layout, partials, shift
from .aligned import aligned_zeros
from .unrolled import dims_from_spec, make_spec
from ..train_loop import EVENT_DONE, EVENT_REC_FULL, NO_EVENT, REC_FULL, end_sequence, record_row


class FastScratch(NamedTuple):
    """Working arrays of the fast single-trial loop. WT, MT, dWT are W_h, M_h, dW_h transposed."""

    WT: np.ndarray  # (D, R)
    MT: np.ndarray  # (D, R)
    dWT: np.ndarray  # (D, R)
    dW_o: np.ndarray  # (K, Do)
    PT: np.ndarray  # (D, 2 Nc): [ds_c/dW_h[c, d] | ds_c/dW_h[in_gate(c), d]]
    u: np.ndarray  # (2 Nc,) this step's factors of the partials update
    a: np.ndarray
    b: np.ndarray
    nt: np.ndarray  # (R,) net inputs
    f: np.ndarray  # (R,) f(net) of every row
    erow: np.ndarray  # (R,) error of each output-gate / hidden row at a target step
    s: np.ndarray
    yc: np.ndarray
    yin: np.ndarray
    yout: np.ndarray
    yh: np.ndarray
    yk: np.ndarray
    gc: np.ndarray
    gp: np.ndarray
    hs: np.ndarray
    hp: np.ndarray
    fin: np.ndarray
    fout: np.ndarray
    fh: np.ndarray
    ek: np.ndarray
    dc: np.ndarray
    es: np.ndarray
    stats: np.ndarray
    Z: np.ndarray  # the flat buffer of which WT, PT, a, b, nt, f, s, ... are views (step_code.py)
    spec: tuple  # unrolled.make_spec(net, 1): the topology as a type, for step_code's kernels


def make_fast_scratch(net: Net) -> FastScratch:
    R, D = net.W_h.shape
    K, Do = net.W_o.shape
    Nc = net.n_cells
    z = np.zeros
    spec = make_spec(net, 1)
    ly = layout(dims_from_spec(spec))
    Z = aligned_zeros(ly["_total"][0])  # starting on a cache line (aligned.py)

    def v(name):  # a view of the step's flat buffer (step_code.py)
        pos, shape = ly[name]
        return Z[pos: pos + int(np.prod(shape))].reshape(shape)

    return FastScratch(v("WT"), z((D, R)), z((D, R)), z((K, Do)), v("PT"), v("u"), v("a"),
                       v("b"), v("nt"), v("f"), z(R), v("s"), v("yc"), v("yin"), v("yout"),
                       v("yh"), v("yk"), v("gc"), v("gp"), v("hs"), v("hp"), v("fin"), v("fout"),
                       v("fh"), z(K), z(Nc), z(Nc), z(N_STATS), Z, spec)


@njit(cache=True)
def _load(net, fs):
    """Weights and mask into the transposed working copies (at chunk entry)."""
    R, D = net.W_h.shape
    for r in range(R):
        for d in range(D):
            fs.WT[d, r] = net.W_h[r, d]
            fs.MT[d, r] = net.M_h[r, d]


@njit(cache=True)
def _store(net, fs):
    """The transposed weights back into net.W_h (at every chunk exit)."""
    R, D = net.W_h.shape
    for r in range(R):
        for d in range(D):
            net.W_h[r, d] = fs.WT[d, r]


@njit(cache=True, _nrt=False)
def _apply(fs, W_o, M_o, lr):
    """kernel._apply on the transposed arrays: w += lr * dW * mask, dW cleared; False if not finite."""
    WT, MT, dWT = fs.WT, fs.MT, fs.dWT
    D, R = WT.shape
    total = 0.0
    for d in range(D):
        for r in range(R):
            WT[d, r] += lr * dWT[d, r] * MT[d, r]
            dWT[d, r] = 0.0
            total += WT[d, r] * 0.0
    dW_o = fs.dW_o
    K, Do = W_o.shape
    for k in range(K):
        for d in range(Do):
            W_o[k, d] += lr * dW_o[k, d] * M_o[k, d]
            dW_o[k, d] = 0.0
            total += W_o[k, d] * 0.0
    return total == 0.0


@njit(cache=True, _nrt=False)
def _backward(net, fs, Y, t):
    """kernel._backward on the transposed arrays; each dW entry gets its terms in the same order."""
    W_o, blk = net.W_o, net.blk
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    D = fs.WT.shape[0]
    Do = W_o.shape[1]
    a, b, yk, ek, dc, es, erow = fs.a, fs.b, fs.yk, fs.ek, fs.dc, fs.es, fs.erow
    dWT, dW_o, PT = fs.dWT, fs.dW_o, fs.PT
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C
    for k in range(K):  # (19), (22) output weights
        ek[k] = yk[k] * (1.0 - yk[k]) * (Y[t, k] - yk[k])
        for d in range(Do):
            dW_o[k, d] += ek[k] * b[d]
    for c in range(Nc):
        acc = 0.0
        for k in range(K):
            acc += W_o[k, n_in + c] * ek[k]
        dc[c] = acc
        es[c] = fs.yout[blk[c]] * fs.hp[c] * acc  # (23)
    # rows whose change is e_row * a: output gates (21) and hidden units (20)
    if net.out_gates == 1:
        for j in range(C):
            acc = 0.0
            for c in range(Nc):
                if blk[c] == j:
                    acc += fs.hs[c] * dc[c]
            erow[r_out + j] = fs.fout[j] * acc
    for i in range(H):
        acc = 0.0
        for k in range(K):
            acc += W_o[k, n_in + Nc + i] * ek[k]
        erow[r_h + i] = fs.fh[i] * acc
    lo = r_out if net.out_gates == 1 else r_h
    hi = r_h + H
    for d in range(D):
        ad = a[d]
        for r in range(lo, hi):
            dWT[d, r] += erow[r] * ad
        for c in range(Nc):  # (28) cell inputs
            dWT[d, c] += es[c] * PT[d, c]
        for c in range(Nc):  # (26) input gates, cells of a block in cell order
            dWT[d, r_in + blk[c]] += es[c] * PT[d, Nc + c]


# error_model="numpy": IEEE division without Python's zero-divisor check, whose branch keeps the
# inlined logistic from vectorising over rows (1 + e^-x is never 0: same results)
@njit(cache=True, error_model="numpy", _nrt=False)
def run_sequence_fast(net, fs, X, Y, J, has_t, L, lr, learn, update_mode, reset, rule, threshold,
                      judge_last, rec, rec_row):
    """kernel.run_sequence on the fast layout (weights in fs.WT); same results and stats."""
    W_o, M_o = net.W_o, net.M_o
    n_in, Nc, C, K = net.n_in, net.n_cells, net.n_blocks, net.n_out
    out_gates = net.out_gates == 1
    D = fs.WT.shape[0]
    Do = W_o.shape[1]
    a, b, PT = fs.a, fs.b, fs.PT
    s, yc, yin, yout, yk, fout = fs.s, fs.yc, fs.yin, fs.yout, fs.yk, fs.fout
    N2 = 2 * Nc

    for c in range(Nc):
        s[c] = 0.0
    for d in range(D):
        for c in range(N2):
            PT[d, c] = 0.0
    for d in range(n_in, D - 1):
        a[d] = reset
    a[D - 1] = 1.0
    b[Do - 1] = 1.0
    if learn and update_mode != UPDATE_DELAYED:
        fs.dWT[:, :] = 0.0
        fs.dW_o[:, :] = 0.0
    if not out_gates:
        for j in range(C):
            yout[j] = 1.0
            fout[j] = 0.0

    last_t = -1
    if judge_last:
        for t in range(L):
            if has_t[t]:
                last_t = t
    n_judged = 0
    n_judged_steps = 0
    sum_abs = 0.0
    sum_sq = 0.0
    max_abs = 0.0
    correct = True
    diverged_at = -1

    for t in range(L):
        for m in range(n_in):
            a[m] = X[t, m]
            b[m] = X[t, m]
        # net inputs, gates, cells and outputs: code generated for the topology (step_code.py)
        if not forward(fs.spec, fs.Z, W_o) == 0.0:  # a non-finite output or cell state
            diverged_at = t
        if rec_row >= 0:
            _record(rec, rec_row + t, X, Y, has_t, t, s, yc, yin, yout, yk)
        if diverged_at >= 0:
            break

        if has_t[t] and (not judge_last or t == last_t):
            n_judged_steps += 1
            step_sq = 0.0
            for k in range(K):
                err = abs(J[t, k] - yk[k])
                sum_abs += err
                step_sq += err * err
                n_judged += 1
                if err > max_abs:
                    max_abs = err
                if rule == RULE_ABS and not err < threshold:
                    correct = False
                elif rule == RULE_SQUARED and not err * err < threshold:
                    correct = False
            sum_sq += step_sq
            if rule == RULE_RANK and not _legal_on_top(J, t, yk):
                correct = False

        if learn:
            partials(fs.spec, fs.Z)  # (25), (27)
            if has_t[t]:
                _backward(net, fs, Y, t)
                if update_mode == UPDATE_STEP:
                    if not _apply(fs, W_o, M_o, lr):
                        diverged_at = t
                        break
            if update_mode == UPDATE_DELAYED and t == 0:
                if not _apply(fs, W_o, M_o, lr):
                    diverged_at = t
                    break
        shift(fs.spec, fs.Z)  # this step's activations become the next step's sources

    if learn and update_mode == UPDATE_SEQUENCE and diverged_at < 0:
        if not _apply(fs, W_o, M_o, lr):
            diverged_at = L - 1

    st = fs.stats
    st[STAT_ABS] = sum_abs / n_judged if n_judged > 0 else 0.0
    st[STAT_SQ] = sum_sq / n_judged_steps if n_judged_steps > 0 else 0.0
    st[STAT_MAXABS] = max_abs
    st[STAT_CORRECT] = 1.0 if (correct and diverged_at < 0) else 0.0
    st[STAT_DIVERGED_AT] = diverged_at


def run_chunk_fast(net, fs, rules, tp, data, rng, bufs, n_max, stop, log, recorder):
    """train_loop.run_chunk with the fast step. Returns (n_done, event, diverged_step).

    Python around three kernels, not a kernel, for the reason given at lanes.run_lanes: compiled,
    it compiled the whole loop twice (adding, import to compiled loop: 23.7-28.1 s with it,
    18.9-20.6 s without). It runs once per chunk of sequences."""
    _load(net, fs)
    n, event, step = _chunk(net, fs, rules, tp, data, rng, bufs, n_max, stop, log, recorder)
    _store(net, fs)
    return n, event, step


@njit(cache=True)
def _chunk(net, fs, rules, tp, data, rng, bufs, n_max, stop, log, recorder):
    X, Y, J, has_t = bufs
    Lmax = X.shape[0]
    for i in range(n_max):
        rec_row = record_row(rules, stop, recorder, Lmax)
        if rec_row == REC_FULL:
            return i, EVENT_REC_FULL, -1
        item = -1 if rules.item_base < 0 else rules.item_base + i
        L = generate(rules.gen_id, rng, tp, data, item, X, Y, J, has_t)
        run_sequence_fast(net, fs, X, Y, J, has_t, L, rules.lr, rules.learn, rules.update_mode,
                          rules.reset, rules.rule, rules.threshold, rules.judge_last,
                          recorder.rows, rec_row)
        event, step = end_sequence(i, L, fs.stats, rules, stop, log, recorder, rec_row)
        if event != NO_EVENT:
            return i + 1, event, step
    return n_max, EVENT_DONE, -1
