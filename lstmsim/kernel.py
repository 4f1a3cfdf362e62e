"""The 1997 LSTM step: forward pass (spec §2.3) and truncated-gradient learning (spec §3.3, eqs. 19-28).

One call processes one sequence. Plain loops over tiny arrays: at this size they beat BLAS calls and
keep the summation order fixed, which keeps results bit-identical from run to run.

Per step t (three processing stages, spec §2.2):
  a = [x(t) | y_c(t-1) | y_in(t-1) | y_out(t-1) | y_h(t-1) | 1]
  gates and cell inputs from a; s += y_in * g(net_c); y_c = y_out * h(s)
  b = [x(t) | y_c(t) | y_h(t) | 1];  y_k = f(W_o b)
Learning: partials ds/dw of the cell-input and input-gate weights are carried every step (25, 27);
at steps with a target the unit errors (19-21, 23) give weight changes (22, 26, 28), which are
accumulated and applied when the sequence ends (update mode 0) or applied at once (mode 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from .logistic import logistic
from .network import Net

UPDATE_SEQUENCE = 0  # accumulate over the sequence, apply at its end (paper/JKU default)
UPDATE_STEP = 1  # apply at every step that has a target (RTRL-style)
UPDATE_DELAYED = 2  # JKU lstm.c's timing: a sequence's sum is applied after the first step of the
#                     next sequence has run with the old weights (that step's term joins the sum)

RULE_ABS = 0  # correct when every judged |t - y| < threshold (the paper's literal rule)
RULE_SQUARED = 1  # correct when every judged (t - y)^2 < threshold (spec §7 item 20)
RULE_RANK = 2  # Reber: the legal next symbols are exactly the most active outputs


class Scratch(NamedTuple):
    """Per-sequence working arrays, allocated once per chunk and reused."""

    a: np.ndarray
    b: np.ndarray
    net: np.ndarray
    s: np.ndarray
    yc: np.ndarray
    yin: np.ndarray
    yout: np.ndarray
    yh: np.ndarray
    yk: np.ndarray
    gc: np.ndarray  # g(net_c)
    gp: np.ndarray  # g'(net_c)
    hs: np.ndarray  # h(s)
    hp: np.ndarray  # h'(s)
    fin: np.ndarray  # f'(net_in)
    fout: np.ndarray  # f'(net_out)
    fh: np.ndarray  # f'(net_h)
    ek: np.ndarray
    dc: np.ndarray  # error at each cell output: sum_k w_kc e_k
    es: np.ndarray  # state error e_s (23)
    P_c: np.ndarray  # ds_c / dW_h[c, :]
    P_in: np.ndarray  # ds_c / dW_h[in_gate(c), :]
    dW_h: np.ndarray
    dW_o: np.ndarray
    stats: np.ndarray  # per-sequence results, see STAT_* below


STAT_ABS = 0  # mean |t - y| over judged entries
STAT_SQ = 1  # mean over judged steps of sum_k (t - y)^2
STAT_MAXABS = 2  # max |t - y| over judged entries
STAT_CORRECT = 3  # 1.0 when the sequence counts as correct under the run's rule
STAT_DIVERGED_AT = 4  # step of the first non-finite value, or -1
N_STATS = 5


def make_scratch(net: Net) -> Scratch:
    R, D = net.W_h.shape
    K, Do = net.W_o.shape
    Nc, C, H = net.n_cells, net.n_blocks, net.n_hidden
    z = np.zeros
    return Scratch(z(D), z(Do), z(R), z(Nc), z(Nc), z(C), z(C), z(H), z(K), z(Nc), z(Nc), z(Nc),
                   z(Nc), z(C), z(C), z(H), z(K), z(Nc), z(Nc), z((Nc, D)), z((Nc, D)), z((R, D)),
                   z((K, Do)), z(N_STATS))


def rec_width(net: Net) -> int:
    """Columns of one recorded step: x | target | has_target | s | y_c | y_in | y_out | y_k."""
    return net.n_in + 2 * net.n_out + 1 + 2 * net.n_cells + 2 * net.n_blocks


@njit(cache=True)
def _logistic(x):
    # logistic.logistic, not 1 / (1 + math.exp(-x)): inlinable and vectorisable, within 2.5 ulp
    # (see logistic.py); the fast paths (lstmsim/fast) use the same function, so they stay
    # bit-identical to this reference
    return logistic(x)


@njit(cache=True)
def run_sequence(net, sc, X, Y, J, has_t, L, lr, learn, update_mode, reset, rule, threshold,
                 judge_last, rec, rec_row):
    """Process one sequence of length L; learn if `learn`. Fills sc.stats.

    X (L, n_in) inputs, Y (L, K) training targets, J (L, K) judging targets (noise-free targets, or
    the legal-symbol set for the rank rule), has_t (L,) 1 where a step has a target.
    If rec_row >= 0, step t is written to rec[rec_row + t]. Returns nothing; divergence is reported
    in sc.stats[STAT_DIVERGED_AT] and the sequence stops at that step without applying its update.
    """
    W_h, M_h, W_o, M_o, blk = net.W_h, net.M_h, net.W_o, net.M_o, net.blk
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    R, D = W_h.shape
    Do = W_o.shape[1]
    a, b, nt = sc.a, sc.b, sc.net
    s, yc, yin, yout, yh, yk = sc.s, sc.yc, sc.yin, sc.yout, sc.yh, sc.yk
    gc, gp, hs, hp, fin, fout, fh = sc.gc, sc.gp, sc.hs, sc.hp, sc.fin, sc.fout, sc.fh
    P_c, P_in, dW_h, dW_o = sc.P_c, sc.P_in, sc.dW_h, sc.dW_o
    a_c, a_in, a_out, a_h = n_in, n_in + Nc, n_in + Nc + C, n_in + Nc + 2 * C
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C

    # Sequence start: states and partials 0, previous activations at the reset value (spec §3.4).
    for c in range(Nc):
        s[c] = 0.0
        for d in range(D):
            P_c[c, d] = 0.0
            P_in[c, d] = 0.0
    for d in range(n_in, D - 1):
        a[d] = reset
    a[D - 1] = 1.0
    b[Do - 1] = 1.0
    if learn and update_mode != UPDATE_DELAYED:  # delayed: dW holds the previous sequence's sum
        dW_h[:, :] = 0.0
        dW_o[:, :] = 0.0

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
        # ---- stage 1: inputs; stage 2: hidden layer from a(t) --------------------------------
        for m in range(n_in):
            a[m] = X[t, m]
            b[m] = X[t, m]
        for r in range(R):
            acc = 0.0
            for d in range(D):
                acc += W_h[r, d] * a[d]
            nt[r] = acc
        for j in range(C):
            yin[j] = _logistic(nt[r_in + j])
            fin[j] = yin[j] * (1.0 - yin[j])
            if net.out_gates == 1:
                yout[j] = _logistic(nt[r_out + j])
                fout[j] = yout[j] * (1.0 - yout[j])
            else:
                yout[j] = 1.0
                fout[j] = 0.0
        for c in range(Nc):
            fc = _logistic(nt[c])
            if net.g_kind == 0:
                gc[c] = 4.0 * fc - 2.0
                gp[c] = 4.0 * fc * (1.0 - fc)
            else:
                gc[c] = fc
                gp[c] = fc * (1.0 - fc)
            s[c] += yin[blk[c]] * gc[c]  # the constant error carousel
            if net.h_kind == 0:
                fs = _logistic(s[c])
                hs[c] = 2.0 * fs - 1.0
                hp[c] = 2.0 * fs * (1.0 - fs)
            else:
                hs[c] = s[c]
                hp[c] = 1.0
            yc[c] = yout[blk[c]] * hs[c]
            b[n_in + c] = yc[c]
        for i in range(H):
            yh[i] = _logistic(nt[r_h + i])
            fh[i] = yh[i] * (1.0 - yh[i])
            b[n_in + Nc + i] = yh[i]
        # ---- stage 3: outputs from b(t) -------------------------------------------------------
        for k in range(K):
            acc = 0.0
            for d in range(Do):
                acc += W_o[k, d] * b[d]
            yk[k] = _logistic(acc)
            if not math.isfinite(yk[k]):
                diverged_at = t
        for c in range(Nc):
            if not math.isfinite(s[c]):
                diverged_at = t
        if rec_row >= 0:
            _record(rec, rec_row + t, X, Y, has_t, t, s, yc, yin, yout, yk)
        if diverged_at >= 0:
            break

        # ---- judging ----------------------------------------------------------------------------
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

        # ---- learning ---------------------------------------------------------------------------
        if learn:
            # running partials, every step (25, 27); current step's term included before use
            for c in range(Nc):
                j = blk[c]
                u_c = gp[c] * yin[j]
                u_in = gc[c] * fin[j]
                for d in range(D):
                    P_c[c, d] += u_c * a[d]
                    P_in[c, d] += u_in * a[d]
            if has_t[t]:
                _backward(net, sc, Y, t)
                if update_mode == UPDATE_STEP:
                    if not _apply(W_h, M_h, dW_h, W_o, M_o, dW_o, lr):
                        diverged_at = t
                        break
            if update_mode == UPDATE_DELAYED and t == 0:
                if not _apply(W_h, M_h, dW_h, W_o, M_o, dW_o, lr):
                    diverged_at = t
                    break
        # ---- this step's hidden activations become next step's sources -------------------------
        for c in range(Nc):
            a[a_c + c] = yc[c]
        for j in range(C):
            a[a_in + j] = yin[j]
            a[a_out + j] = yout[j] if net.out_gates == 1 else 0.0
        for i in range(H):
            a[a_h + i] = yh[i]

    if learn and update_mode == UPDATE_SEQUENCE and diverged_at < 0:
        if not _apply(W_h, M_h, dW_h, W_o, M_o, dW_o, lr):
            diverged_at = L - 1

    st = sc.stats
    st[STAT_ABS] = sum_abs / n_judged if n_judged > 0 else 0.0
    st[STAT_SQ] = sum_sq / n_judged_steps if n_judged_steps > 0 else 0.0
    st[STAT_MAXABS] = max_abs
    st[STAT_CORRECT] = 1.0 if (correct and diverged_at < 0) else 0.0
    st[STAT_DIVERGED_AT] = diverged_at


@njit(cache=True)
def _backward(net, sc, Y, t):
    """Unit errors at a target step and their weight changes (eqs. 19-24, 26, 28), added to dW."""
    W_o, blk = net.W_o, net.blk
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    R, D = net.W_h.shape
    Do = W_o.shape[1]
    a, b, yk, ek, dc, es = sc.a, sc.b, sc.yk, sc.ek, sc.dc, sc.es
    dW_h, dW_o, P_c, P_in = sc.dW_h, sc.dW_o, sc.P_c, sc.P_in
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C
    for k in range(K):  # (19)
        ek[k] = yk[k] * (1.0 - yk[k]) * (Y[t, k] - yk[k])
        for d in range(Do):  # (22) output weights
            dW_o[k, d] += ek[k] * b[d]
    for c in range(Nc):  # error arriving at each cell output
        acc = 0.0
        for k in range(K):
            acc += W_o[k, n_in + c] * ek[k]
        dc[c] = acc
        es[c] = sc.yout[blk[c]] * sc.hp[c] * acc  # (23)
    if net.out_gates == 1:
        for j in range(C):  # (21), (22) output gates
            acc = 0.0
            for c in range(Nc):
                if blk[c] == j:
                    acc += sc.hs[c] * dc[c]
            e_out = sc.fout[j] * acc
            for d in range(D):
                dW_h[r_out + j, d] += e_out * a[d]
    for i in range(H):  # (20), (22) conventional hidden units, one-step truncated
        acc = 0.0
        for k in range(K):
            acc += W_o[k, n_in + Nc + i] * ek[k]
        e_h = sc.fh[i] * acc
        for d in range(D):
            dW_h[r_h + i, d] += e_h * a[d]
    for c in range(Nc):  # (28) cell inputs, (26) input gates
        j = blk[c]
        for d in range(D):
            dW_h[c, d] += es[c] * P_c[c, d]
            dW_h[r_in + j, d] += es[c] * P_in[c, d]


@njit(cache=True)
def _apply(W_h, M_h, dW_h, W_o, M_o, dW_o, lr):
    """w <- w + lr * dW on existing connections; dW is cleared. False if a weight is not finite."""
    R, D = W_h.shape
    total = 0.0
    for r in range(R):
        for d in range(D):
            W_h[r, d] += lr * dW_h[r, d] * M_h[r, d]
            dW_h[r, d] = 0.0
            total += W_h[r, d] * 0.0  # stays 0 unless a weight is inf or nan
    K, Do = W_o.shape
    for k in range(K):
        for d in range(Do):
            W_o[k, d] += lr * dW_o[k, d] * M_o[k, d]
            dW_o[k, d] = 0.0
            total += W_o[k, d] * 0.0
    return total == 0.0


@njit(cache=True)
def _legal_on_top(J, t, yk):
    """Rank rule: every legal output (J=1) is more active than every illegal one (J=0)."""
    lo = np.inf
    hi = -np.inf
    for k in range(yk.shape[0]):
        if J[t, k] > 0.5:
            lo = min(lo, yk[k])
        else:
            hi = max(hi, yk[k])
    return lo > hi


@njit(cache=True)
def _record(rec, row, X, Y, has_t, t, s, yc, yin, yout, yk):
    col = 0
    for v in X[t]:
        rec[row, col] = v
        col += 1
    for v in Y[t]:
        rec[row, col] = v
        col += 1
    rec[row, col] = has_t[t]
    col += 1
    for arr in (s, yc, yin, yout, yk):
        for v in arr:
            rec[row, col] = v
            col += 1
