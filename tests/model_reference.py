"""Slow plain-NumPy forward passes of the non-1997 models (issue 8), written from their definitions
(lstmsim/models/rnn.py and variants.py module docs) and independent of the compiled kernels; they
reuse only the weight / mask layout. Loss: sum over target steps of 1/2 sum_k (t_k - y_k)^2.

  rnn_forward / rnn_grad_fd          conventional recurrent nets; hold=True holds the previous
                                     activations (the Elman net's one-step gradient)
  variant_forward / variant_grad_fd  LSTM with forget gates and peepholes; hold=True holds the
                                     previous-step activations entering a(t) and the peephole
                                     sources (the truncated gradient), the CEC chain s(t-1) -> s(t)
                                     is never held; hold=False: the full gradient
Gradients are returned with the learning rule's sign (-dLoss/dw) on existing weights, 0 elsewhere.
"""

from __future__ import annotations

import numpy as np


def f(x):
    return 1.0 / (1.0 + np.exp(-x))


def _loss(yks, Y, has_t):
    return sum(0.5 * np.sum((Y[t] - yks[t]) ** 2) for t in range(len(yks)) if has_t[t])


def _fd(net, loss_of, eps=1e-6):
    G_h, G_o = np.zeros(net.W_h.shape), np.zeros(net.W_o.shape)
    for G, M, which in ((G_h, net.M_h, 0), (G_o, net.M_o, 1)):
        for idx in zip(*np.nonzero(M)):
            vals = []
            for sign in (1.0, -1.0):
                W_h, W_o = net.W_h.copy(), net.W_o.copy()
                (W_h, W_o)[which][idx] += sign * eps
                vals.append(loss_of(W_h, W_o))
            G[idx] = -(vals[0] - vals[1]) / (2 * eps)
    return G_h, G_o


# ---------------------------------------------------------------- conventional recurrent nets
def rnn_forward(net, X, W_h=None, W_o=None, reset=0.0, held=None):
    W_h = (net.W_h if W_h is None else W_h) * net.M_h
    W_o = (net.W_o if W_o is None else W_o) * net.M_o
    N, K = net.n_hidden, net.n_out
    y_prev = np.full(N, reset)
    ys, yks = [], []
    for t in range(len(X)):
        if held is not None and t > 0:
            y_prev = held[t - 1]
        a = np.concatenate([X[t], y_prev, [1.0]])
        y = f(W_h @ a)
        b = np.concatenate([X[t], y, [1.0]])
        yk = y[N - K:] if net.out_in_layer else f(W_o @ b)
        ys.append(y)
        yks.append(yk)
        y_prev = y
    return np.array(ys), np.array(yks)


def rnn_grad_fd(net, X, Y, has_t, reset=0.0, hold=False, eps=1e-6):
    held = rnn_forward(net, X, reset=reset)[0] if hold else None
    return _fd(net, lambda W_h, W_o: _loss(rnn_forward(net, X, W_h, W_o, reset, held)[1], Y, has_t),
               eps)


# ---------------------------------------------------------------- LSTM variants
def _g(x, kind):
    return 4.0 * f(x) - 2.0 if kind == 0 else f(x)


def _h(x, kind):
    return 2.0 * f(x) - 1.0 if kind == 0 else x


def variant_forward(net, X, W_h=None, W_o=None, reset=0.0, held=None):
    """Forward pass of lstmsim.models.variants.VNet (layout in that module's doc)."""
    W_h = (net.W_h if W_h is None else W_h) * net.M_h
    W_o = (net.W_o if W_o is None else W_o) * net.M_o
    Nc, C, H = net.n_cells, net.n_blocks, net.n_hidden
    D = net.n_src
    blk = np.asarray(net.blk)
    r_in, r_out, r_h, r_f = Nc, Nc + C, Nc + 2 * C, Nc + 2 * C + H
    Wa, Wp = W_h[:, :D], W_h[:, D:]
    s = np.zeros(Nc)
    prev = {"yc": np.full(Nc, reset), "yin": np.full(C, reset), "yout": np.full(C, reset),
            "yh": np.full(H, reset)}
    rec = {k: [] for k in ("yc", "yin", "yout", "yh", "yk", "s_prev", "s")}
    for t in range(len(X)):
        if held is not None and t > 0:
            prev = {k: held[k][t - 1] for k in ("yc", "yin", "yout", "yh")}
        yout_src = prev["yout"] if net.out_gates else np.zeros(C)
        a = np.concatenate([X[t], prev["yc"], prev["yin"], yout_src, prev["yh"], [1.0]])
        nt = Wa @ a
        s_prev = s
        sp_src = held["s_prev"][t] if held is not None else s_prev  # peephole source, in/forget
        net_in = nt[r_in:r_in + C].copy()
        net_f = nt[r_f:r_f + C].copy() if net.forget else None
        if net.peep:
            for c in range(Nc):
                net_in[blk[c]] += Wp[r_in + blk[c], c] * sp_src[c]
                if net.forget:
                    net_f[blk[c]] += Wp[r_f + blk[c], c] * sp_src[c]
        yin = f(net_in)
        yf = f(net_f) if net.forget else np.ones(C)
        s = yf[blk] * s_prev + yin[blk] * _g(nt[:Nc], net.g_kind)
        s_src = held["s"][t] if held is not None else s  # peephole source, output gate
        net_out = nt[r_out:r_out + C].copy()
        if net.peep and net.out_gates:
            for c in range(Nc):
                net_out[blk[c]] += Wp[r_out + blk[c], c] * s_src[c]
        yout = f(net_out) if net.out_gates else np.ones(C)
        yc = yout[blk] * _h(s, net.h_kind)
        yh = f(nt[r_h:r_h + H])
        b = np.concatenate([X[t], yc, yh, [1.0]])
        yk = f(W_o @ b)
        for k, v in (("yc", yc), ("yin", yin), ("yout", yout), ("yh", yh), ("yk", yk),
                     ("s_prev", s_prev), ("s", s)):
            rec[k].append(v)
        prev = {"yc": yc, "yin": yin, "yout": yout, "yh": yh}
    return {k: np.array(v) for k, v in rec.items()}


def variant_grad_fd(net, X, Y, has_t, reset=0.0, hold=False, eps=1e-6):
    held = variant_forward(net, X, reset=reset) if hold else None
    return _fd(net, lambda W_h, W_o: _loss(variant_forward(net, X, W_h, W_o, reset, held)["yk"],
                                           Y, has_t), eps)
