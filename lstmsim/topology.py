"""What the network is: a declarative description of a 1997 LSTM topology (spec §1.4-1.6).

A `Topology` says how many inputs, blocks, cells and outputs there are and who feeds whom; the
builder (`network.py`) turns it into weight and mask arrays. Nothing here touches numbers that
change during training.

Source layout shared by every part of lstmsim (spec §3.6):
  hidden-layer source vector  a = [x (n_in) | y_c(t-1) (N_c) | y_in(t-1) (C) | y_out(t-1) (C) | y_h(t-1) (H) | 1]
  output source vector        b = [x (n_in) | y_c(t) (N_c) | y_h(t) (H) | 1]
Hidden-layer rows (units fed by a): [cells (N_c) | input gates (C) | output gates (C) | hidden (H)].
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError

CONNECTIVITY = ("F", "B")
BIAS_PATTERNS = ("gates", "hidden", "all", "none")  # paper codes: ga, b1, all, none
G_CHOICES = ("g2", "g1")  # g2 = 4f-2 in [-2,2]; g1 = logistic f in [0,1]
H_CHOICES = ("h1", "id")  # h1 = 2f-1 in [-1,1]; id = identity


@dataclass(frozen=True)
class Topology:
    n_in: int
    block_sizes: tuple[int, ...]
    n_out: int
    n_hidden: int = 0
    connectivity: str = "F"
    bias: str = "all"
    output_gates: bool = True
    g: str = "g2"
    h: str = "h1"

    def __post_init__(self):
        _positive("n_in", self.n_in)
        _positive("n_out", self.n_out)
        if not self.block_sizes:
            raise UserError("blocks: at least one memory-cell block is needed")
        for s in self.block_sizes:
            _positive("block size", s)
        if self.n_hidden < 0:
            raise UserError(f"hidden_units={self.n_hidden}: must be >= 0")
        _choice("connectivity", self.connectivity, CONNECTIVITY)
        _choice("bias", self.bias, BIAS_PATTERNS)
        _choice("g", self.g, G_CHOICES)
        _choice("h", self.h, H_CHOICES)

    # ---- sizes -------------------------------------------------------------------------------
    @property
    def n_blocks(self) -> int:
        return len(self.block_sizes)

    @property
    def n_cells(self) -> int:
        return sum(self.block_sizes)

    @property
    def n_rows(self) -> int:
        """Hidden-layer units: cells, input gates, output gates, conventional hidden units."""
        return self.n_cells + 2 * self.n_blocks + self.n_hidden

    @property
    def n_sources(self) -> int:
        """Length D of the hidden-layer source vector a."""
        return self.n_in + self.n_cells + 2 * self.n_blocks + self.n_hidden + 1

    @property
    def n_out_sources(self) -> int:
        """Length D_o of the output source vector b."""
        return self.n_in + self.n_cells + self.n_hidden + 1

    # ---- offsets into a / rows ---------------------------------------------------------------
    @property
    def a_cells(self) -> int:
        return self.n_in

    @property
    def a_in_gates(self) -> int:
        return self.n_in + self.n_cells

    @property
    def a_out_gates(self) -> int:
        return self.a_in_gates + self.n_blocks

    @property
    def a_hidden(self) -> int:
        return self.a_out_gates + self.n_blocks

    @property
    def a_bias(self) -> int:
        return self.n_sources - 1

    @property
    def row_in_gates(self) -> int:
        return self.n_cells

    @property
    def row_out_gates(self) -> int:
        return self.n_cells + self.n_blocks

    @property
    def row_hidden(self) -> int:
        return self.n_cells + 2 * self.n_blocks

    def cell_block(self) -> list[int]:
        """Block index of every cell, in cell order."""
        return [j for j, s in enumerate(self.block_sizes) for _ in range(s)]

    def unit_names(self) -> dict[str, list[str]]:
        """Readable names of the sources and rows, for traces and reports."""
        cells = [f"c{j}.{v}" for j, s in enumerate(self.block_sizes) for v in range(s)]
        ins = [f"in{j}" for j in range(self.n_blocks)]
        outs = [f"out{j}" for j in range(self.n_blocks)]
        hid = [f"h{i}" for i in range(self.n_hidden)]
        x = [f"x{m}" for m in range(self.n_in)]
        return {
            "sources": x + [f"{c}(t-1)" for c in cells] + [f"{g}(t-1)" for g in ins + outs]
            + [f"{u}(t-1)" for u in hid] + ["bias"],
            "rows": cells + ins + outs + hid,
            "out_sources": x + cells + hid + ["bias"],
            "outputs": [f"k{k}" for k in range(self.n_out)],
        }


def parse_blocks(text: str) -> tuple[int, ...]:
    """'2x2' -> (2, 2); '3x2' -> (2, 2, 2); '1,2' -> (1, 2) (explicit sizes)."""
    text = str(text).strip().lower()
    try:
        if "x" in text:
            count, size = text.split("x")
            sizes = (int(size),) * int(count)
        else:
            sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise UserError(f"blocks={text!r}: expected COUNTxSIZE (e.g. 2x2) or sizes like 1,2") from None
    if not sizes or any(s < 1 for s in sizes):
        raise UserError(f"blocks={text!r}: need at least one block, each of size >= 1")
    return sizes


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise UserError(f"{name}={value}: must be >= 1")


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"{name}={value!r}: choose one of {', '.join(choices)}")
