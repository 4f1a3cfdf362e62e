"""The builder: turns a `Topology` and an initialisation recipe into the plain arrays the kernels use.

Weights where a mask is 0 do not exist: they are 0 at the start and the kernels never change them.
The weight count of a network is the number of ones in its masks (spec §1.6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from .errors import UserError
from .topology import Topology


class Net(NamedTuple):
    """Everything the kernels need about a network. Arrays are float64 / int64; W_h and W_o change."""

    W_h: np.ndarray  # (R, D) weights into hidden-layer rows [cells | in gates | out gates | hidden]
    M_h: np.ndarray  # (R, D) 0/1 connection mask
    W_o: np.ndarray  # (K, D_o) weights into output units
    M_o: np.ndarray  # (K, D_o)
    blk: np.ndarray  # (N_c,) block index of every cell
    n_in: int
    n_cells: int
    n_blocks: int
    n_hidden: int
    n_out: int
    out_gates: int  # 1 with output gates, 0 without (then y_out = 1)
    g_kind: int  # 0: g2 = 4f-2, 1: g1 = f
    h_kind: int  # 0: h1 = 2f-1, 1: identity


@dataclass(frozen=True)
class InitSpec:
    """How to draw the initial weights (spec §3.7)."""

    init_range: float = 0.1
    in_gate_bias: Sequence[float | str] = ()  # one entry per block; "r" = random; missing -> "r"
    out_gate_bias: Sequence[float | str] = ()
    bias_init: str = "exact"  # "exact": the listed value; "offset": value + U(-r, r) (JKU)

    def __post_init__(self):
        if not (np.isfinite(self.init_range) and self.init_range >= 0):
            raise UserError(f"init_range={self.init_range}: must be a finite number >= 0")
        if self.bias_init not in ("exact", "offset"):
            raise UserError(f"bias_init={self.bias_init!r}: choose one of exact, offset")


def masks(top: Topology) -> tuple[np.ndarray, np.ndarray]:
    """0/1 connection masks (M_h, M_o) for the topology's connectivity and bias pattern (spec §1.4)."""
    R, D, Do = top.n_rows, top.n_sources, top.n_out_sources
    M_h = np.zeros((R, D))
    M_o = np.zeros((top.n_out, Do))
    gate_rows = slice(top.row_in_gates, top.row_hidden)
    M_h[:, : top.n_in] = 1.0  # every hidden-layer unit sees the current input
    if top.connectivity == "F":
        M_h[:, top.n_in : top.a_bias] = 1.0  # ... and all cells, gates and hidden units of t-1
        M_o[:, top.n_in : Do - 1] = 1.0  # outputs: cells and hidden units, not the input
    else:  # "B": each layer sees all layers below, no recurrence
        M_o[:, : Do - 1] = 1.0
    if top.bias in ("hidden", "all"):
        M_h[:, top.a_bias] = 1.0
    elif top.bias == "gates":
        M_h[gate_rows, top.a_bias] = 1.0
    if top.bias == "all":
        M_o[:, Do - 1] = 1.0
    if not top.output_gates:  # the output gates do not exist: no weights into or out of them
        M_h[top.row_out_gates : top.row_hidden, :] = 0.0
        M_h[:, top.a_out_gates : top.a_hidden] = 0.0
    return M_h, M_o


def weight_count(top: Topology) -> int:
    M_h, M_o = masks(top)
    return int(M_h.sum() + M_o.sum())


def build(top: Topology, init: InitSpec, rng: np.random.Generator) -> Net:
    """Draw initial weights: uniform in [-r, r] on every connection, then the listed gate biases."""
    M_h, M_o = masks(top)
    r = init.init_range
    W_h = rng.uniform(-r, r, size=M_h.shape) * M_h
    W_o = rng.uniform(-r, r, size=M_o.shape) * M_o
    for name, listed, first_row in (
        ("in_gate_bias", init.in_gate_bias, top.row_in_gates),
        ("out_gate_bias", init.out_gate_bias, top.row_out_gates),
    ):
        _set_gate_biases(W_h, M_h, top, name, listed, first_row, init.bias_init)
    return Net(
        W_h=W_h, M_h=M_h, W_o=W_o, M_o=M_o,
        blk=np.asarray(top.cell_block(), dtype=np.int64),
        n_in=top.n_in, n_cells=top.n_cells, n_blocks=top.n_blocks, n_hidden=top.n_hidden,
        n_out=top.n_out, out_gates=int(top.output_gates),
        g_kind=0 if top.g == "g2" else 1, h_kind=0 if top.h == "h1" else 1,
    )


def _set_gate_biases(W_h, M_h, top, name, listed, first_row, mode) -> None:
    listed = list(listed)
    if len(listed) > top.n_blocks:
        raise UserError(f"{name}={listed}: {len(listed)} values for {top.n_blocks} blocks")
    for j, value in enumerate(listed):
        if isinstance(value, str) and value.strip().lower() == "r":
            continue  # keep the random draw
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise UserError(f"{name}={listed}: entries must be numbers or 'r', got {value!r}") from None
        if not np.isfinite(value):
            raise UserError(f"{name}={listed}: {value} is not finite")
        row = first_row + j
        if M_h[row, top.a_bias] == 0.0:
            raise UserError(f"{name}={listed}: block {j} has no bias weight (bias={top.bias}, "
                            f"output_gates={top.output_gates})")
        W_h[row, top.a_bias] = value if mode == "exact" else value + W_h[row, top.a_bias]


def copy_net(net: Net) -> Net:
    """A copy whose weight arrays can change without touching the original."""
    return net._replace(W_h=net.W_h.copy(), W_o=net.W_o.copy())
