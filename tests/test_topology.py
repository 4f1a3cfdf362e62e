"""Weight counts of every paper topology (spec §1.6) and the builder's initialisation rules."""

import numpy as np
import pytest

from lstmsim.errors import UserError
from lstmsim.network import InitSpec, build, weight_count
from lstmsim.topology import Topology, parse_blocks

PAPER_COUNTS = [
    (Topology(7, (1,) * 4, 7, bias="gates"), 264),
    (Topology(7, (2,) * 3, 7, bias="gates"), 276),
    (Topology(54, (1, 1), 2, bias="none"), 364),
    (Topology(104, (1, 1), 2, bias="none"), 664),
    (Topology(204, (1, 1), 2, bias="none"), 1264),
    (Topology(504, (1, 1), 2, bias="none"), 3064),
    (Topology(1004, (1, 1), 2, bias="none"), 6064),
    (Topology(1, (1,) * 3, 1, bias="hidden"), 102),
    (Topology(2, (2, 2), 1, bias="all"), 93),
    (Topology(8, (2, 2), 4, bias="all"), 156),
    (Topology(8, (2,) * 3, 8, bias="all"), 308),
    (Topology(101, (1,), 101, connectivity="B", bias="none", output_gates=False, g="g1", h="id"),
     10504),
]


@pytest.mark.parametrize("top,count", PAPER_COUNTS)
def test_paper_weight_counts(top, count):
    assert weight_count(top) == count


def test_gate_biases_exact_and_offset():
    top = Topology(2, (2, 2), 1, bias="all")
    exact = build(top, InitSpec(0.1, [-3.0, -6.0], ["r", -2.0]), np.random.default_rng(0))
    col = top.a_bias
    assert exact.W_h[top.row_in_gates, col] == -3.0
    assert exact.W_h[top.row_in_gates + 1, col] == -6.0
    assert abs(exact.W_h[top.row_out_gates, col]) <= 0.1  # "r": random in the interval
    assert exact.W_h[top.row_out_gates + 1, col] == -2.0
    offset = build(top, InitSpec(0.1, [-3.0, -6.0], [], "offset"), np.random.default_rng(0))
    v = offset.W_h[top.row_in_gates, col]
    assert v != -3.0 and abs(v + 3.0) <= 0.1
    # every other weight is uniform in [-r, r] and masked weights are exactly 0
    others = np.abs(exact.W_h * exact.M_h)
    others[top.row_in_gates:top.row_in_gates + 2, col] = 0
    others[top.row_out_gates + 1, col] = 0
    assert others.max() <= 0.1 and others.max() > 0.05
    assert np.all(exact.W_h[exact.M_h == 0] == 0)


def test_bias_on_unbiased_gate_is_refused():
    top = Topology(5, (1, 1), 2, bias="none")
    with pytest.raises(UserError, match="no bias weight"):
        build(top, InitSpec(0.2, [-1.0]), np.random.default_rng(0))


@pytest.mark.parametrize("text,sizes", [("2x2", (2, 2)), ("3x2", (2, 2, 2)), ("1,2", (1, 2))])
def test_parse_blocks(text, sizes):
    assert parse_blocks(text) == sizes


@pytest.mark.parametrize("text", ["0x2", "2x0", "abc", "2x"])
def test_parse_blocks_refuses(text):
    with pytest.raises(UserError):
        parse_blocks(text)
