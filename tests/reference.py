"""A slow, plain-NumPy reference of the 1997 LSTM, written from the spec only (§2.3, §3.1-§3.6).

It is deliberately independent of lstmsim/kernel.py: it reuses nothing but the weight / mask layout
of lstmsim.network.Net (spec §3.6):

  a(t) = [x(t) | y_c(t-1) | y_in(t-1) | y_out(t-1) | y_h(t-1) | 1]      (hidden-layer sources)
  b(t) = [x(t) | y_c(t)   | y_h(t)                 | 1]                  (output sources)
  rows of W_h: [cells | input gates | output gates | hidden units];  W_o: (K, D_o)

What is here:
  forward(...)          the forward pass of §2.3, one step at a time, every intermediate kept.
                        Optionally the previous-step hidden activations that enter a(t) are taken
                        from a given record ("held") instead of from the pass itself; the cell state
                        s(t-1) is always recomputed. Works with complex weights (complex step).
  loss(...)             sum over target steps of 1/2 sum_k (t_k - y_k)^2.
  truncated_grad_fd     -dLoss/dW by central finite differences with held activations (§3.6 check).
  truncated_grad_cs     the same derivative by the complex-step method (exact to rounding).
  full_grad_fd          -dLoss/dW of the untruncated loss (nothing held), to show truncation is real.
  rtrl_update(...)      the §3.6 pseudo-code written out directly (partials carried every step),
                        for per-sequence and per-step updates; returns the weights after the sequence.

All "gradients" are returned with the learning rule's sign, i.e. -dLoss/dw, so that for per-sequence
updates  (W_after - W_before) / lr  should equal them on every existing weight.
"""

from __future__ import annotations

import numpy as np


# ---------------------------------------------------------------- squashing functions (spec §1.2)
def f(x):
    """Logistic; written with exp so that it also works on complex arguments (complex step)."""
    return 1.0 / (1.0 + np.exp(-x))


def f_prime(x):
    y = f(x)
    return y * (1.0 - y)


def g(x, kind):
    return 4.0 * f(x) - 2.0 if kind == 0 else f(x)


def g_prime(x, kind):
    return 4.0 * f_prime(x) if kind == 0 else f_prime(x)


def h(x, kind):
    return 2.0 * f(x) - 1.0 if kind == 0 else x


def h_prime(x, kind):
    return 2.0 * f_prime(x) if kind == 0 else np.ones_like(x)


# ---------------------------------------------------------------- layout helpers
class Layout:
    """Index ranges of a Net's source vectors and rows (re-derived from the documented layout)."""

    def __init__(self, net):
        self.n_in, self.Nc, self.C = net.n_in, net.n_cells, net.n_blocks
        self.H, self.K = net.n_hidden, net.n_out
        n_in, Nc, C, H = self.n_in, self.Nc, self.C, self.H
        self.D = n_in + Nc + 2 * C + H + 1
        self.Do = n_in + Nc + H + 1
        assert net.W_h.shape == (Nc + 2 * C + H, self.D), net.W_h.shape
        assert net.W_o.shape == (self.K, self.Do), net.W_o.shape
        self.blk = np.asarray(net.blk, dtype=int)
        assert self.blk.shape == (Nc,)
        # rows of W_h
        self.r_c = slice(0, Nc)
        self.r_in = slice(Nc, Nc + C)
        self.r_out = slice(Nc + C, Nc + 2 * C)
        self.r_h = slice(Nc + 2 * C, Nc + 2 * C + H)
        # columns of a
        self.a_x = slice(0, n_in)
        self.a_c = slice(n_in, n_in + Nc)
        self.a_in = slice(n_in + Nc, n_in + Nc + C)
        self.a_out = slice(n_in + Nc + C, n_in + Nc + 2 * C)
        self.a_h = slice(n_in + Nc + 2 * C, n_in + Nc + 2 * C + H)
        # columns of b
        self.b_x = slice(0, n_in)
        self.b_c = slice(n_in, n_in + Nc)
        self.b_h = slice(n_in + Nc, n_in + Nc + H)


# ---------------------------------------------------------------- forward pass (spec §2.3)
def forward(net, X, reset=0.0, W_h=None, W_o=None, held=None):
    """Run one sequence forward. Returns a dict of per-step arrays (first axis = step t = 0..L-1).

    W_h / W_o override net.W_h / net.W_o (may be complex). Weights are multiplied by the masks.
    held: a dict as returned by forward(); if given, a(t) is built from held["yc"][t-1],
    held["yin"][t-1], held["yout"][t-1], held["yh"][t-1] (reset values at t = 0) instead of this
    pass's own previous activations. The state s(t-1) is never held.
    """
    lay = Layout(net)
    W_h = net.W_h if W_h is None else W_h
    W_o = net.W_o if W_o is None else W_o
    Wh = W_h * net.M_h
    Wo = W_o * net.M_o
    dtype = np.result_type(Wh, Wo, np.float64)
    X = np.asarray(X, dtype=np.float64)
    L = X.shape[0]
    Nc, C, H = lay.Nc, lay.C, lay.H
    blk = lay.blk

    out = {k: [] for k in ("a", "b", "net_c", "net_in", "net_out", "net_h", "net_k",
                           "s", "yc", "yin", "yout", "yh", "yk")}
    s = np.zeros(Nc, dtype=dtype)
    yc_prev = np.full(Nc, reset, dtype=dtype)
    yin_prev = np.full(C, reset, dtype=dtype)
    yout_prev = np.full(C, reset, dtype=dtype)
    yh_prev = np.full(H, reset, dtype=dtype)
    for t in range(L):
        if held is not None and t > 0:
            yc_prev = np.asarray(held["yc"][t - 1])
            yin_prev = np.asarray(held["yin"][t - 1])
            yout_prev = np.asarray(held["yout"][t - 1])
            yh_prev = np.asarray(held["yh"][t - 1])
        a = np.concatenate([X[t], yc_prev, yin_prev, yout_prev, yh_prev, [1.0]]).astype(dtype)
        net_all = Wh @ a
        net_c, net_in = net_all[lay.r_c], net_all[lay.r_in]
        net_out, net_h = net_all[lay.r_out], net_all[lay.r_h]
        yin = f(net_in)
        yout = f(net_out) if net.out_gates else np.ones(C, dtype=dtype)
        s = s + yin[blk] * g(net_c, net.g_kind)           # CEC, self-weight 1.0
        yc = yout[blk] * h(s, net.h_kind)
        yh = f(net_h)
        b = np.concatenate([X[t], yc, yh, [1.0]]).astype(dtype)
        net_k = Wo @ b
        yk = f(net_k)
        for name, val in (("a", a), ("b", b), ("net_c", net_c), ("net_in", net_in),
                          ("net_out", net_out), ("net_h", net_h), ("net_k", net_k), ("s", s),
                          ("yc", yc), ("yin", yin), ("yout", yout), ("yh", yh), ("yk", yk)):
            out[name].append(np.array(val))
        yc_prev, yin_prev, yout_prev, yh_prev = yc, yin, yout, yh
    return {k: np.array(v) for k, v in out.items()}


def loss(net, X, Y, has_t, reset=0.0, W_h=None, W_o=None, held=None):
    """Sum over steps with a target of 1/2 sum_k (t_k - y_k)^2 (no abs/conj: complex-step safe)."""
    fw = forward(net, X, reset, W_h, W_o, held)
    total = 0.0
    for t in range(len(X)):
        if has_t[t]:
            d = np.asarray(Y[t], dtype=np.float64) - fw["yk"][t]
            total = total + 0.5 * np.sum(d * d)
    return total


# ---------------------------------------------------------------- numerical gradients
def _numeric(net, deriv):
    """-dLoss/dW for every existing weight (mask 1); entries of absent weights are 0."""
    G_h = np.zeros_like(net.W_h, dtype=np.float64)
    G_o = np.zeros_like(net.W_o, dtype=np.float64)
    for G, M, which in ((G_h, net.M_h, "h"), (G_o, net.M_o, "o")):
        for idx in zip(*np.nonzero(M)):
            G[idx] = -deriv(which, idx)
    return G_h, G_o


def truncated_grad_fd(net, X, Y, has_t, reset=0.0, eps=1e-6, hold=True):
    """Central finite differences of the loss in which a(t)'s previous-step activations are held
    at their unperturbed values (hold=True: the §3.6 truncated gradient) or not (hold=False)."""
    held = forward(net, X, reset) if hold else None

    def deriv(which, idx):
        vals = []
        for sign in (+1.0, -1.0):
            W_h, W_o = net.W_h.copy(), net.W_o.copy()
            (W_h if which == "h" else W_o)[idx] += sign * eps
            vals.append(loss(net, X, Y, has_t, reset, W_h, W_o, held))
        return (vals[0] - vals[1]) / (2.0 * eps)

    return _numeric(net, deriv)


def full_grad_fd(net, X, Y, has_t, reset=0.0, eps=1e-6):
    """Finite-difference gradient of the full (untruncated) loss: nothing is held."""
    return truncated_grad_fd(net, X, Y, has_t, reset, eps, hold=False)


def truncated_grad_cs(net, X, Y, has_t, reset=0.0, step=1e-30):
    """Complex-step derivative d/dw = Im(Loss(w + i*step)) / step, with held activations.
    No subtraction, so it is exact to rounding; the held activations are real constants."""
    held = forward(net, X, reset)

    def deriv(which, idx):
        W_h = net.W_h.astype(complex)
        W_o = net.W_o.astype(complex)
        (W_h if which == "h" else W_o)[idx] += 1j * step
        return np.imag(loss(net, X, Y, has_t, reset, W_h, W_o, held)) / step

    return _numeric(net, deriv)


# ---------------------------------------------------------------- direct RTRL (spec §3.3 / §3.6)
def rtrl_update(net, X, Y, has_t, lr, reset=0.0, online=False):
    """The §3.6 pseudo-code, written out plainly. Returns (W_h_after, W_o_after); net is untouched.

    online=False: accumulate the per-step changes, apply at the end of the sequence.
    online=True:  apply the changes of a target step right after that step (all changes of a step
                  are computed from that step's forward values and pre-update weights, §3.4);
                  the partials are simply carried on.
    """
    lay = Layout(net)
    W_h = net.W_h.copy() * net.M_h
    W_o = net.W_o.copy() * net.M_o
    M_h, M_o = net.M_h, net.M_o
    acc_h, acc_o = np.zeros_like(W_h), np.zeros_like(W_o)
    Nc, C, H, D = lay.Nc, lay.C, lay.H, lay.D
    blk = lay.blk
    gk, hk = net.g_kind, net.h_kind
    s = np.zeros(Nc)
    yc_prev, yin_prev = np.full(Nc, reset), np.full(C, reset)
    yout_prev, yh_prev = np.full(C, reset), np.full(H, reset)
    P_c = np.zeros((Nc, D))      # ds_c / dW_h[cell row c, :]
    P_in = np.zeros((Nc, D))     # ds_c / dW_h[input-gate row of blk[c], :]
    in_rows = lay.r_in.start + blk
    cell_rows = np.arange(Nc)
    for t in range(len(X)):
        a = np.concatenate([X[t], yc_prev, yin_prev, yout_prev, yh_prev, [1.0]])
        net_all = W_h @ a
        net_c, net_in = net_all[lay.r_c], net_all[lay.r_in]
        net_out, net_h = net_all[lay.r_out], net_all[lay.r_h]
        yin = f(net_in)
        yout = f(net_out) if net.out_gates else np.ones(C)
        gc = g(net_c, gk)
        s = s + yin[blk] * gc
        hs = h(s, hk)
        yc = yout[blk] * hs
        yh = f(net_h)
        b = np.concatenate([X[t], yc, yh, [1.0]])
        net_k = W_o @ b
        yk = f(net_k)
        # partials, every step (25, 27)
        for c in range(Nc):
            P_c[c] += g_prime(net_c[c], gk) * yin[blk[c]] * a * M_h[cell_rows[c]]
            P_in[c] += gc[c] * f_prime(net_in[blk[c]]) * a * M_h[in_rows[c]]
        if has_t[t]:
            dW_h, dW_o = np.zeros_like(W_h), np.zeros_like(W_o)
            e_k = f_prime(net_k) * (Y[t] - yk)                              # (19)
            dW_o += np.outer(e_k, b)                                          # (22)
            delta_c = W_o[:, lay.b_c].T @ e_k                                 # error at y_c
            e_h = f_prime(net_h) * (W_o[:, lay.b_h].T @ e_k)                  # (20)
            dW_h[lay.r_h] += np.outer(e_h, a)                                 # (22)
            if net.out_gates:
                for j in range(C):
                    e_out = f_prime(net_out[j]) * sum(hs[c] * delta_c[c]
                                                      for c in range(Nc) if blk[c] == j)  # (21)
                    dW_h[lay.r_out.start + j] += e_out * a                    # (22)
            e_s = yout[blk] * h_prime(s, hk) * delta_c                        # (23)
            for c in range(Nc):
                dW_h[c] += e_s[c] * P_c[c]                                    # (28)
                dW_h[in_rows[c]] += e_s[c] * P_in[c]                          # (26)
            dW_h *= M_h
            dW_o *= M_o
            if online:
                W_h += lr * dW_h
                W_o += lr * dW_o
            else:
                acc_h += dW_h
                acc_o += dW_o
        yc_prev, yin_prev, yout_prev, yh_prev = yc, yin, yout, yh
    if not online:
        W_h += lr * acc_h
        W_o += lr * acc_o
    return W_h, W_o
