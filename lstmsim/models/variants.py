"""LSTM variants — NOT the 1997 LSTM: forget gates, peephole connections, the untruncated gradient.

The 1997 kernel (lstmsim/kernel.py) is left exactly as it is; these variants run in their own
kernel, `run_sequence_variant` (variant_kernel.py; the full gradient's backward pass in
variant_bptt.py), written to do the same floating-point operations in the same
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

from ..errors import UserError
from ..network import InitSpec, _set_gate_biases, build, masks
from ..topology import Topology
from .loop import new_judge, new_stats

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


def check_variant_update(full: bool, update: str) -> None:
    if full and update != "sequence":
        raise UserError(f"update={update}: gradient=full is computed by back-propagation through "
                        "the whole sequence and applied at its end; use update=sequence")
    if update == "delayed":
        raise UserError("update=delayed (JKU lstm.c's timing) is for the 1997 LSTM only")
