"""The untruncated gradient of the LSTM variants (gradient=full; NOT 1997, spec §6.5): during the
forward pass `_store_step` keeps what back-propagation through time needs of each step (and adds
the output weights' changes at target steps); at the sequence's end `_backward_full` runs back
through the stored steps over every path (recurrent connections, the CEC, forget gates,
peepholes). Layout of the nets and scratch arrays: variants.py.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def _store_step(net, sc, Y, has_t, t):
    """Full gradient: keep what the backward pass needs of step t; output weights' change now."""
    W_o = net.W_o
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    D = net.n_src
    Do = W_o.shape[1]
    for d in range(D):
        sc.H_a[t, d] = sc.a[d]
    for c in range(Nc):
        sc.H_cell[t, 0, c] = sc.s_prev[c]
        sc.H_cell[t, 1, c] = sc.s[c]
        sc.H_cell[t, 2, c] = sc.gc[c]
        sc.H_cell[t, 3, c] = sc.gp[c]
        sc.H_cell[t, 4, c] = sc.hs[c]
        sc.H_cell[t, 5, c] = sc.hp[c]
        sc.H_cell[t, 6, c] = 0.0
    for j in range(C):
        sc.H_blk[t, 0, j] = sc.yin[j]
        sc.H_blk[t, 1, j] = sc.fin[j]
        sc.H_blk[t, 2, j] = sc.yout[j]
        sc.H_blk[t, 3, j] = sc.fout[j]
        sc.H_blk[t, 4, j] = sc.yf[j]
        sc.H_blk[t, 5, j] = sc.ff[j]
    for i in range(H):
        sc.H_hid[t, 0, i] = sc.fh[i]
        sc.H_hid[t, 1, i] = 0.0
    if has_t[t]:
        for k in range(K):
            sc.ek[k] = sc.yk[k] * (1.0 - sc.yk[k]) * (Y[t, k] - sc.yk[k])
            for d in range(Do):
                sc.dW_o[k, d] += sc.ek[k] * sc.b[d]
        for c in range(Nc):
            acc = 0.0
            for k in range(K):
                acc += W_o[k, n_in + c] * sc.ek[k]
            sc.H_cell[t, 6, c] = acc
        for i in range(H):
            acc = 0.0
            for k in range(K):
                acc += W_o[k, n_in + Nc + i] * sc.ek[k]
            sc.H_hid[t, 1, i] = acc


@njit(cache=True)
def _backward_full(net, sc, L):
    """Back-propagation through time over the sequence: adds -dE/dW (every path) to dW_h."""
    W_h, blk = net.W_h, net.blk
    n_in, Nc, C, H = net.n_in, net.n_cells, net.n_blocks, net.n_hidden
    Rv = W_h.shape[0]
    D = net.n_src
    forget, peep, og = net.forget == 1, net.peep == 1, net.out_gates == 1
    r_in, r_out, r_h, r_f = Nc, Nc + C, Nc + 2 * C, Nc + 2 * C + H
    a_c, a_in, a_out, a_h = n_in, n_in + Nc, n_in + Nc + C, n_in + Nc + 2 * C
    e, d_src, ds_next, dW_h = sc.e_row, sc.d_src, sc.ds_next, sc.dW_h
    es = sc.es  # error at s(t)
    dyc = sc.dc
    for d in range(D):
        d_src[d] = 0.0
    for c in range(Nc):
        ds_next[c] = 0.0
    for t in range(L - 1, -1, -1):
        Hc, Hb, Hh = sc.H_cell[t], sc.H_blk[t], sc.H_hid[t]
        for r in range(Rv):
            e[r] = 0.0
        for c in range(Nc):  # error at y_c(t): from the outputs now and from step t+1's nets
            dyc[c] = Hc[6, c] + d_src[a_c + c]
        for i in range(H):
            e[r_h + i] = Hh[0, i] * (Hh[1, i] + d_src[a_h + i])
        for j in range(C):
            if og:
                acc = d_src[a_out + j]
                for c in range(Nc):
                    if blk[c] == j:
                        acc += Hc[4, c] * dyc[c]
                e[r_out + j] = Hb[3, j] * acc
        for c in range(Nc):  # error at s(t)
            j = blk[c]
            acc = Hb[2, j] * Hc[5, c] * dyc[c] + ds_next[c]
            if peep and og:
                acc += W_h[r_out + j, D + c] * e[r_out + j]
            es[c] = acc
        for j in range(C):
            acc_in = d_src[a_in + j]
            acc_f = 0.0
            for c in range(Nc):
                if blk[c] == j:
                    acc_in += Hc[2, c] * es[c]
                    acc_f += Hc[0, c] * es[c]
            e[r_in + j] = Hb[1, j] * acc_in
            if forget:
                e[r_f + j] = Hb[5, j] * acc_f
        for c in range(Nc):
            e[c] = Hc[3, c] * Hb[0, blk[c]] * es[c]
        # weight changes of step t
        for r in range(Rv):
            for d in range(D):
                dW_h[r, d] += e[r] * sc.H_a[t, d]
        if peep:
            for c in range(Nc):
                j = blk[c]
                dW_h[r_in + j, D + c] += e[r_in + j] * Hc[0, c]
                if forget:
                    dW_h[r_f + j, D + c] += e[r_f + j] * Hc[0, c]
                if og:
                    dW_h[r_out + j, D + c] += e[r_out + j] * Hc[1, c]
        # errors reaching step t-1: its activations (through a(t)) and its states
        for d in range(D):
            acc = 0.0
            for r in range(Rv):
                acc += W_h[r, d] * e[r]
            d_src[d] = acc
        for c in range(Nc):
            j = blk[c]
            acc = Hb[4, j] * es[c]
            if peep:
                acc += W_h[r_in + j, D + c] * e[r_in + j]
                if forget:
                    acc += W_h[r_f + j, D + c] * e[r_f + j]
            ds_next[c] = acc

