"""LSTM variants — NOT the 1997 LSTM: forget gates, peephole connections, the untruncated gradient.

The 1997 kernel (lstmsim/kernel.py) is left exactly as it is; these variants run in their own
kernel, `run_sequence_variant`, written to do the same floating-point operations in the same
order wherever the variant reduces to the 1997 net, so that
* a net with forget gates held at 1 (a forget-gate bias so large that f(net) rounds to 1.0, e.g.
  forget_gate_bias=[60, 60]; then f' = 0 too and the forget weights never change), and
* a net with zero peephole weights that are not trained
reproduce the 1997 kernel's weights bit for bit (tests/test_variants.py). With zero peephole
weights that *are* trained, a sequence's forward pass and its changes of the 1997 weights are still
bit-identical; the peephole weights themselves then get nonzero changes.

Switches (config keys; any of them makes the run "not 1997"):

* forget_gate=true (Gers, Schmidhuber & Cummins 2000): one forget gate per block,
      s(t) = y_phi(t) s(t-1) + y_in(t) g(net_c(t)),   y_phi = f(net_phi)
  The forget gate of block j has its own weights from the same sources as the block's input gate,
  plus always a bias weight (without one it would start near 0.5 and halve the state every step),
  initialised to forget_gate_bias (per block; default +1.0 for every block; "r" = random; Gers et
  al. 2000 initialised forget-gate biases to positive values). Forget gates are not themselves
  sources of recurrent connections (only cells, input and output gates are, as in 1997), so the
  1997 weights keep their meaning.
  Truncated gradient (Gers et al. 2000): the partials decay with the gate,
      ds/dw(t) = y_phi(t) ds/dw(t-1) + (the 1997 term),  and for the forget-gate weights
      ds/dw_phi,m(t) = y_phi(t) ds/dw_phi,m(t-1) + s(t-1) f'(net_phi(t)) a_m(t).
* peepholes=true (Gers, Schraudolph & Schmidhuber 2002): every gate of block j gets one weight
  from the state s of each cell of its block. Timing: the input and forget gates see s(t-1) (the
  state before this step's update), the output gate sees s(t) (after it). Peephole weights start
  uniform in [-init_range, init_range] like every other weight. In the truncated gradient the
  peephole sources are treated like the other gate sources (constant inputs: errors arriving at a
  gate's net input do not flow on into s through the peephole); partials for the input- and
  forget-gate peephole weights are carried like the other gate weights'.
* gradient=full (the "untruncated gradient" of spec §6.5, which the paper says it tried in a few
  runs without a significant difference): the exact gradient of the sequence's loss
  sum_t 1/2 sum_k (t_k - y_k)^2 through every path (recurrent connections from cells, gates and
  hidden units, the CEC, forget gates and peepholes), computed by back-propagation through time
  over the sequence and applied at its end (update=sequence only).

Weight layout: the 1997 arrays, extended so that every weight still lives in W_h or W_o (and so
in weights.npz):
    rows of W_h    [cells | input gates | output gates | hidden units | forget gates (C)]
    columns of W_h [a = x | y_c(t-1) | y_in(t-1) | y_out(t-1) | y_h(t-1) | 1 | s (N_c, peepholes)]
Column D + c of a gate row of block j is the peephole weight from cell c (nonzero only for the
cells of block j). The 1997 part of the arrays is drawn first with the 1997 builder, from the same
random stream, so a variant run starts from the same 1997 weights as the plain run with the same
seed; then the forget-gate rows, then the peephole weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..errors import UserError
from ..generators import generate
from ..kernel import UPDATE_STEP, _apply, _logistic, _record
from ..network import InitSpec, _set_gate_biases, build, masks
from ..topology import Topology
from ..train_loop import EVENT_DONE, EVENT_REC_FULL, NO_EVENT, REC_FULL, end_sequence, record_row
from .loop import judge_finish, judge_start, judge_step, new_judge, new_stats

DEFAULT_FORGET_BIAS = 1.0


@dataclass(frozen=True)
class VariantTopology(Topology):
    """A 1997 topology plus the variant switches (see the module doc)."""

    forget_gate: bool = False
    peepholes: bool = False

    @property
    def row_forget_gates(self) -> int:
        return self.n_rows

    @property
    def n_all_rows(self) -> int:
        return self.n_rows + (self.n_blocks if self.forget_gate else 0)

    @property
    def a_peep(self) -> int:
        """First peephole column of W_h (the state of cell 0)."""
        return self.n_sources

    @property
    def n_weight_cols(self) -> int:
        return self.n_sources + (self.n_cells if self.peepholes else 0)

    def unit_names(self) -> dict[str, list[str]]:
        names = super().unit_names()
        cells = [f"c{j}.{v}" for j, s in enumerate(self.block_sizes) for v in range(s)]
        if self.forget_gate:
            names["rows"] = names["rows"] + [f"forget{j}" for j in range(self.n_blocks)]
        if self.peepholes:
            names["sources"] = names["sources"] + [f"s({c})" for c in cells]
        return names


def variant_masks(top: VariantTopology) -> tuple[np.ndarray, np.ndarray]:
    M_h0, M_o = masks(top)
    R, D = M_h0.shape
    M_h = np.zeros((top.n_all_rows, top.n_weight_cols))
    M_h[:R, :D] = M_h0
    blk = top.cell_block()
    for j in range(top.n_blocks):
        if top.forget_gate:
            M_h[top.row_forget_gates + j, :D] = M_h0[top.row_in_gates + j, :]
            M_h[top.row_forget_gates + j, top.a_bias] = 1.0  # forget gates always have a bias
    if top.peepholes:
        for c, j in enumerate(blk):
            M_h[top.row_in_gates + j, D + c] = 1.0
            if top.forget_gate:
                M_h[top.row_forget_gates + j, D + c] = 1.0
            if top.output_gates:
                M_h[top.row_out_gates + j, D + c] = 1.0
    return M_h, M_o


def variant_weight_count(top: VariantTopology) -> int:
    M_h, M_o = variant_masks(top)
    return int(M_h.sum() + M_o.sum())


class VNet(NamedTuple):
    """lstmsim.network.Net's fields (same meaning) plus the variant switches."""

    W_h: np.ndarray  # (R + C_forget, D + N_c_peep)
    M_h: np.ndarray
    W_o: np.ndarray
    M_o: np.ndarray
    blk: np.ndarray
    n_in: int
    n_cells: int
    n_blocks: int
    n_hidden: int
    n_out: int
    out_gates: int
    g_kind: int
    h_kind: int
    forget: int  # 1: forget gates (rows after the hidden units)
    peep: int  # 1: peephole columns after the bias
    full: int  # 1: untruncated gradient (BPTT over the sequence)
    n_src: int  # D, length of the 1997 source vector a


def build_variant(top: VariantTopology, init: InitSpec, rng: np.random.Generator,
                  forget_bias=(), full: bool = False) -> VNet:
    net = build(top, init, rng)  # the 1997 weights, drawn exactly as a 1997 run draws them
    M_h, M_o = variant_masks(top)
    R, D = net.W_h.shape
    r = init.init_range
    W_h = np.zeros(M_h.shape)
    W_h[:R, :D] = net.W_h
    if top.forget_gate:
        rows = slice(top.row_forget_gates, top.n_all_rows)
        W_h[rows, :D] = rng.uniform(-r, r, size=(top.n_blocks, D)) * M_h[rows, :D]
        listed = list(forget_bias) or [DEFAULT_FORGET_BIAS] * top.n_blocks
        _set_gate_biases(W_h, M_h, top, "forget_gate_bias", listed, top.row_forget_gates,
                         init.bias_init)
    if top.peepholes:
        W_h[:, D:] = rng.uniform(-r, r, size=(W_h.shape[0], top.n_cells)) * M_h[:, D:]
    return VNet(W_h=W_h, M_h=M_h, W_o=net.W_o, M_o=M_o, blk=net.blk, n_in=net.n_in,
                n_cells=net.n_cells, n_blocks=net.n_blocks, n_hidden=net.n_hidden,
                n_out=net.n_out, out_gates=net.out_gates, g_kind=net.g_kind, h_kind=net.h_kind,
                forget=int(top.forget_gate), peep=int(top.peepholes), full=int(full), n_src=D)


def vnet_from(net, forget: bool = False, peep: bool = False, full: bool = False,
              forget_weights=None, peep_weights=None) -> VNet:
    """A variant net holding a 1997 Net's weights (for tests and comparisons): forget-gate rows
    (C, D) and peephole weights (rows of W_h, N_c) are given or zero; masks as variant_masks."""
    Nc, C, H = net.n_cells, net.n_blocks, net.n_hidden
    R, D = net.W_h.shape
    rows = R + (C if forget else 0)
    cols = D + (Nc if peep else 0)
    W_h = np.zeros((rows, cols))
    M_h = np.zeros((rows, cols))
    W_h[:R, :D] = net.W_h
    M_h[:R, :D] = net.M_h
    r_in, r_out = Nc, Nc + C
    if forget:
        for j in range(C):
            M_h[R + j, :D] = net.M_h[r_in + j]
            M_h[R + j, D - 1] = 1.0
        if forget_weights is not None:
            W_h[R:, :D] = np.asarray(forget_weights) * M_h[R:, :D]
    if peep:
        for c in range(Nc):
            j = int(net.blk[c])
            M_h[r_in + j, D + c] = 1.0
            if forget:
                M_h[R + j, D + c] = 1.0
            if net.out_gates:
                M_h[r_out + j, D + c] = 1.0
        if peep_weights is not None:
            W_h[:, D:] = np.asarray(peep_weights) * M_h[:, D:]
    return VNet(W_h=W_h, M_h=M_h, W_o=net.W_o.copy(), M_o=net.M_o.copy(), blk=net.blk,
                n_in=net.n_in, n_cells=Nc, n_blocks=C, n_hidden=H, n_out=net.n_out,
                out_gates=net.out_gates, g_kind=net.g_kind, h_kind=net.h_kind, forget=int(forget),
                peep=int(peep), full=int(full), n_src=D)


class VScratch(NamedTuple):
    a: np.ndarray
    b: np.ndarray
    net: np.ndarray  # net inputs of every row
    s: np.ndarray
    s_prev: np.ndarray
    yc: np.ndarray
    yin: np.ndarray
    yout: np.ndarray
    yf: np.ndarray
    yh: np.ndarray
    yk: np.ndarray
    gc: np.ndarray
    gp: np.ndarray
    hs: np.ndarray
    hp: np.ndarray
    fin: np.ndarray
    fout: np.ndarray
    ff: np.ndarray
    fh: np.ndarray
    ek: np.ndarray
    dc: np.ndarray
    es: np.ndarray
    P_c: np.ndarray  # (Nc, D) ds_c/dW[cell c, :D]
    P_in: np.ndarray  # (Nc, D) ds_c/dW[in gate of c, :D]
    P_f: np.ndarray  # (Nc, D) ds_c/dW[forget gate of c, :D]
    P_inp: np.ndarray  # (Nc, Nc) ds_c/dW[in gate of c, peephole from cell v]
    P_fp: np.ndarray  # (Nc, Nc) ds_c/dW[forget gate of c, peephole from cell v]
    dW_h: np.ndarray
    dW_o: np.ndarray
    # full gradient: per-step history and backward work arrays
    H_a: np.ndarray  # (Lmax, D)
    H_cell: np.ndarray  # (Lmax, 7, Nc): s_prev, s, gc, gp, hs, hp, dc (direct error at y_c)
    H_blk: np.ndarray  # (Lmax, 6, C): yin, fin, yout, fout, yf, ff
    H_hid: np.ndarray  # (Lmax, 2, H): fh, direct error at y_h
    e_row: np.ndarray  # (rows,) errors at the net inputs of step t
    d_src: np.ndarray  # (D,) errors reaching a(t+1)'s sources, i.e. the activations of step t
    ds_next: np.ndarray  # (Nc,) error reaching s(t) from step t+1
    jacc: np.ndarray
    stats: np.ndarray


def make_variant_scratch(net: VNet, max_length: int) -> VScratch:
    Rv = net.W_h.shape[0]
    D = net.n_src
    K, Do = net.W_o.shape
    Nc, C, H = net.n_cells, net.n_blocks, net.n_hidden
    Lf = max_length if net.full else 0
    z = np.zeros
    Pf = Nc if net.forget else 0
    return VScratch(z(D), z(Do), z(Rv), z(Nc), z(Nc), z(Nc), z(C), z(C), z(C), z(H), z(K),
                    z(Nc), z(Nc), z(Nc), z(Nc), z(C), z(C), z(C), z(H), z(K), z(Nc), z(Nc),
                    z((Nc, D)), z((Nc, D)), z((Pf, D)), z((Nc, Nc)), z((Nc, Nc)),
                    z(net.W_h.shape), z((K, Do)),
                    z((Lf, D)), z((Lf, 7, Nc)), z((Lf, 6, C)), z((Lf, 2, H)),
                    z(Rv), z(D), z(Nc), new_judge(), new_stats())


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
    ek, dc, es, P_c, P_in, P_f = sc.ek, sc.dc, sc.es, sc.P_c, sc.P_in, sc.P_f
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


def check_variant_update(full: bool, update: str) -> None:
    if full and update != "sequence":
        raise UserError(f"update={update}: gradient=full is computed by back-propagation through "
                        "the whole sequence and applied at its end; use update=sequence")
    if update == "delayed":
        raise UserError("update=delayed (JKU lstm.c's timing) is for the 1997 LSTM only")
