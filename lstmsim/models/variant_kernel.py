"""The compiled kernel of the LSTM variants (NOT 1997; what the variants are: variants.py): one
sequence's forward pass, truncated-gradient backward step and updates (`run_sequence_variant`, with
kernel.run_sequence's arguments and results), and the chunk loop around it (`run_chunk_variant`,
train_loop.run_chunk's contract). The full gradient's backward pass is variant_bptt.py.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..generators import generate
from ..kernel import UPDATE_STEP, _apply, _logistic, _record
from ..train_loop import EVENT_DONE, EVENT_REC_FULL, NO_EVENT, REC_FULL, end_sequence, record_row
from .loop import judge_finish, judge_start, judge_step
from .variant_bptt import _backward_full, _store_step


@njit(cache=True)
def run_sequence_variant(net, sc, X, Y, J, has_t, L, lr, learn, update_mode, reset, rule,
                         threshold, judge_last, rec, rec_row):
    """kernel.run_sequence for the variants (same arguments and results).

    Truncated gradient: update_mode step or sequence. Full gradient: always at the sequence end.
    """
    W_h, M_h, W_o, M_o, blk = net.W_h, net.M_h, net.W_o, net.M_o, net.blk
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    Rv = W_h.shape[0]
    D = net.n_src
    Do = W_o.shape[1]
    forget, peep, full = net.forget == 1, net.peep == 1, net.full == 1
    a, b, nt = sc.a, sc.b, sc.net
    s, s_prev, yc, yin, yout, yf, yh, yk = sc.s, sc.s_prev, sc.yc, sc.yin, sc.yout, sc.yf, sc.yh, sc.yk
    gc, gp, hs, hp, fin, fout, ff, fh = sc.gc, sc.gp, sc.hs, sc.hp, sc.fin, sc.fout, sc.ff, sc.fh
    P_c, P_in, P_f = sc.P_c, sc.P_in, sc.P_f
    P_inp, P_fp, dW_h, dW_o = sc.P_inp, sc.P_fp, sc.dW_h, sc.dW_o
    a_c, a_in, a_out, a_h = n_in, n_in + Nc, n_in + Nc + C, n_in + Nc + 2 * C
    r_in, r_out, r_h, r_f = Nc, Nc + C, Nc + 2 * C, Nc + 2 * C + H
    step_updates = update_mode == UPDATE_STEP and not full

    for c in range(Nc):
        s[c] = 0.0
        for d in range(D):
            P_c[c, d] = 0.0
            P_in[c, d] = 0.0
            if forget:
                P_f[c, d] = 0.0
        for v in range(Nc):
            P_inp[c, v] = 0.0
            P_fp[c, v] = 0.0
    for d in range(n_in, D - 1):
        a[d] = reset
    a[D - 1] = 1.0
    b[Do - 1] = 1.0
    if learn:
        dW_h[:, :] = 0.0
        dW_o[:, :] = 0.0
    for j in range(C):
        yf[j] = 1.0
        ff[j] = 0.0
    judge_start(sc.jacc, has_t, L, judge_last)
    diverged_at = -1

    for t in range(L):
        # ---- stage 1: inputs; stage 2: hidden layer ------------------------------------------
        for m in range(n_in):
            a[m] = X[t, m]
            b[m] = X[t, m]
        for r in range(Rv):
            acc = 0.0
            for d in range(D):
                acc += W_h[r, d] * a[d]
            nt[r] = acc
        for c in range(Nc):
            s_prev[c] = s[c]
        if peep:  # input and forget gates see s(t-1)
            for c in range(Nc):
                j = blk[c]
                nt[r_in + j] += W_h[r_in + j, D + c] * s_prev[c]
                if forget:
                    nt[r_f + j] += W_h[r_f + j, D + c] * s_prev[c]
        for j in range(C):
            yin[j] = _logistic(nt[r_in + j])
            fin[j] = yin[j] * (1.0 - yin[j])
            if forget:
                yf[j] = _logistic(nt[r_f + j])
                ff[j] = yf[j] * (1.0 - yf[j])
        for c in range(Nc):
            fc = _logistic(nt[c])
            if net.g_kind == 0:
                gc[c] = 4.0 * fc - 2.0
                gp[c] = 4.0 * fc * (1.0 - fc)
            else:
                gc[c] = fc
                gp[c] = fc * (1.0 - fc)
            if forget:
                s[c] = yf[blk[c]] * s[c] + yin[blk[c]] * gc[c]
            else:
                s[c] += yin[blk[c]] * gc[c]  # the constant error carousel
        if peep and net.out_gates == 1:  # the output gate sees s(t)
            for c in range(Nc):
                j = blk[c]
                nt[r_out + j] += W_h[r_out + j, D + c] * s[c]
        for j in range(C):
            if net.out_gates == 1:
                yout[j] = _logistic(nt[r_out + j])
                fout[j] = yout[j] * (1.0 - yout[j])
            else:
                yout[j] = 1.0
                fout[j] = 0.0
        for c in range(Nc):
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
        # ---- stage 3: outputs ------------------------------------------------------------------
        for k in range(K):
            acc = 0.0
            for d in range(Do):
                acc += W_o[k, d] * b[d]
            yk[k] = _logistic(acc)
            if not np.isfinite(yk[k]):
                diverged_at = t
        for c in range(Nc):
            if not np.isfinite(s[c]):
                diverged_at = t
        if rec_row >= 0:
            _record(rec, rec_row + t, X, Y, has_t, t, s, yc, yin, yout, yk)
        if diverged_at >= 0:
            break
        judge_step(sc.jacc, J, has_t, t, yk, rule, threshold, judge_last)

        # ---- learning ---------------------------------------------------------------------------
        if learn and full:
            _store_step(net, sc, Y, has_t, t)
        elif learn:
            for c in range(Nc):  # partials, every step
                j = blk[c]
                u_c = gp[c] * yin[j]
                u_in = gc[c] * fin[j]
                if forget:
                    fj = yf[j]
                    u_f = s_prev[c] * ff[j]
                    for d in range(D):
                        P_c[c, d] = fj * P_c[c, d] + u_c * a[d]
                        P_in[c, d] = fj * P_in[c, d] + u_in * a[d]
                        P_f[c, d] = fj * P_f[c, d] + u_f * a[d]
                else:
                    for d in range(D):
                        P_c[c, d] += u_c * a[d]
                        P_in[c, d] += u_in * a[d]
                if peep:
                    for v in range(Nc):
                        if blk[v] == j:
                            if forget:
                                P_inp[c, v] = yf[j] * P_inp[c, v] + u_in * s_prev[v]
                                P_fp[c, v] = yf[j] * P_fp[c, v] + s_prev[c] * ff[j] * s_prev[v]
                            else:
                                P_inp[c, v] += u_in * s_prev[v]
            if has_t[t]:
                _backward_truncated(net, sc, Y, t)
                if step_updates:
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

    if learn and diverged_at < 0:
        if full:
            _backward_full(net, sc, L)
        if not step_updates:
            if not _apply(W_h, M_h, dW_h, W_o, M_o, dW_o, lr):
                diverged_at = L - 1
    judge_finish(sc.jacc, sc.stats, diverged_at)


@njit(cache=True)
def _backward_truncated(net, sc, Y, t):
    """The 1997 backward step (kernel._backward), extended by forget gates and peepholes."""
    W_o, blk = net.W_o, net.blk
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    D = net.n_src
    Do = W_o.shape[1]
    a, b, yk, ek, dc, es = sc.a, sc.b, sc.yk, sc.ek, sc.dc, sc.es
    dW_h, dW_o, P_c, P_in = sc.dW_h, sc.dW_o, sc.P_c, sc.P_in
    r_in, r_out, r_h, r_f = Nc, Nc + C, Nc + 2 * C, Nc + 2 * C + H
    forget, peep = net.forget == 1, net.peep == 1
    for k in range(K):  # (19)
        ek[k] = yk[k] * (1.0 - yk[k]) * (Y[t, k] - yk[k])
        for d in range(Do):  # (22) output weights
            dW_o[k, d] += ek[k] * b[d]
    for c in range(Nc):
        acc = 0.0
        for k in range(K):
            acc += W_o[k, n_in + c] * ek[k]
        dc[c] = acc
        es[c] = sc.yout[blk[c]] * sc.hp[c] * acc  # (23)
    if net.out_gates == 1:
        for j in range(C):  # (21), (22)
            acc = 0.0
            for c in range(Nc):
                if blk[c] == j:
                    acc += sc.hs[c] * dc[c]
            e_out = sc.fout[j] * acc
            for d in range(D):
                dW_h[r_out + j, d] += e_out * a[d]
            if peep:
                for c in range(Nc):
                    if blk[c] == j:
                        dW_h[r_out + j, D + c] += e_out * sc.s[c]
    for i in range(H):  # (20), (22)
        acc = 0.0
        for k in range(K):
            acc += W_o[k, n_in + Nc + i] * ek[k]
        e_h = sc.fh[i] * acc
        for d in range(D):
            dW_h[r_h + i, d] += e_h * a[d]
    for c in range(Nc):  # (28), (26), and the forget gates
        j = blk[c]
        for d in range(D):
            dW_h[c, d] += es[c] * P_c[c, d]
            dW_h[r_in + j, d] += es[c] * P_in[c, d]
            if forget:
                dW_h[r_f + j, d] += es[c] * sc.P_f[c, d]
        if peep:
            for v in range(Nc):
                if blk[v] == j:
                    dW_h[r_in + j, D + v] += es[c] * sc.P_inp[c, v]
                    if forget:
                        dW_h[r_f + j, D + v] += es[c] * sc.P_fp[c, v]



@njit(cache=True)
def run_chunk_variant(net, sc, rules, tp, data, rng, bufs, n_max, stop, log, recorder):
    """train_loop.run_chunk for the LSTM variants. Returns (n_done, event, step)."""
    X, Y, J, has_t = bufs
    Lmax = X.shape[0]
    for i in range(n_max):
        rec_row = record_row(rules, stop, recorder, Lmax)
        if rec_row == REC_FULL:
            return i, EVENT_REC_FULL, -1
        item = -1 if rules.item_base < 0 else rules.item_base + i
        L = generate(rules.gen_id, rng, tp, data, item, X, Y, J, has_t)
        run_sequence_variant(net, sc, X, Y, J, has_t, L, rules.lr, rules.learn, rules.update_mode,
                             rules.reset, rules.rule, rules.threshold, rules.judge_last,
                             recorder.rows, rec_row)
        event, step = end_sequence(i, L, sc.stats, rules, stop, log, recorder, rec_row)
        if event != NO_EVENT:
            return i + 1, event, step
    return n_max, EVENT_DONE, -1

