"""LSTM variants, NOT 1997 (issue 8, lstmsim/models/variants.py): forget gates, peepholes, the
untruncated gradient.

1. reductions to 1997, bit for bit: without switches, with forget gates held at 1 (bias 60, so
   f(net) rounds to 1.0 and f' to 0), with zero peephole weights that are not trained — single
   sequences in both update modes, and whole chunks of training through both chunk loops; zero
   peephole weights that are trained leave a sequence's forward pass and 1997 weights unchanged;
2. the truncated variant gradient equals finite differences of the loss with the previous-step
   activations and the peephole sources held (the CEC chain s(t-1) -> s(t) not held);
3. gradient=full equals finite differences of the untruncated loss: the 1997 net against
   tests/reference.py, forget gates and peepholes against tests/model_reference.py; on a net
   without recurrence it equals the truncated gradient;
4. weight counts, configuration, a run from the command-line path that reproduces the 1997 run.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_reference as mref  # noqa: E402
import reference as ref  # noqa: E402

from lstmsim import config  # noqa: E402
from lstmsim.errors import UserError  # noqa: E402
from lstmsim.kernel import (RULE_ABS, UPDATE_SEQUENCE, UPDATE_STEP, make_scratch,  # noqa: E402
                            rec_width, run_sequence)
from lstmsim.models import describe  # noqa: E402
from lstmsim.models.variant_kernel import run_chunk_variant, run_sequence_variant  # noqa: E402
from lstmsim.models.variants import (VariantTopology, make_variant_scratch,  # noqa: E402
                                     variant_weight_count, vnet_from)
from lstmsim.network import InitSpec, build, copy_net, weight_count  # noqa: E402
from lstmsim.topology import Topology  # noqa: E402
from lstmsim.train_loop import new_log, new_recorder, new_stop_state, run_chunk  # noqa: E402
from lstmsim.training import Training  # noqa: E402

T_2A = dict(connectivity="B", output_gates=False, g="g1", h="id", bias="none")
TOPS = [
    ("F_1+1_all", Topology(2, (1, 1), 2, bias="all")),
    ("F_2_gates", Topology(2, (2,), 1, bias="gates")),
    ("F_2+1_hid1_none", Topology(2, (2, 1), 2, n_hidden=1, bias="none")),
    ("F_noout_1+2_hidden", Topology(2, (1, 2), 1, output_gates=False, bias="hidden")),
    ("B_2a", Topology(3, (1,), 3, **T_2A)),
]
IDS = [t[0] for t in TOPS]
SWITCHES = [(1, 0), (0, 1), (1, 1)]
SW_IDS = ["forget", "peep", "forget+peep"]


def case(top, seed, L=8, targets="every", init=1.0):
    rng = np.random.default_rng(seed)
    net = build(top, InitSpec(init_range=init), rng)
    X = rng.uniform(-1.0, 1.0, (L, top.n_in))
    Y = rng.uniform(0.0, 1.0, (L, top.n_out))
    has_t = np.zeros(L, np.int8)
    if targets == "every":
        has_t[:] = 1
    elif targets == "last":
        has_t[-1] = 1
    else:
        has_t[[1, L // 2, L - 1]] = 1
    Y[has_t == 0] = 0.0
    return net, X, Y, has_t, rng


def with_switches(net, rng, forget, peep, full=False, forget_bias=None, peep_zero=False, r=1.0):
    C, D, Nc = net.n_blocks, net.W_h.shape[1], net.n_cells
    fw = rng.uniform(-r, r, (C, D))
    if forget_bias is not None:
        fw[:, -1] = forget_bias
    rows = net.W_h.shape[0] + (C if forget else 0)
    pw = np.zeros((rows, Nc)) if peep_zero else rng.uniform(-r, r, (rows, Nc))
    return vnet_from(net, forget, peep, full, forget_weights=fw, peep_weights=pw)


def run_1997(net, X, Y, has_t, lr=1.0, mode=UPDATE_SEQUENCE, reset=0.0):
    n = copy_net(net)
    L = X.shape[0]
    rec = np.zeros((L, rec_width(n)))
    run_sequence(n, make_scratch(n), X, Y, Y.copy(), has_t, L, lr, True, mode, reset, RULE_ABS,
                 0.04, 0, rec, 0)
    return n, rec


def run_variant(v, X, Y, has_t, lr=1.0, mode=UPDATE_SEQUENCE, reset=0.0):
    n = v._replace(W_h=v.W_h.copy(), W_o=v.W_o.copy())
    L = X.shape[0]
    rec = np.zeros((L, rec_width(n)))
    run_sequence_variant(n, make_variant_scratch(n, L), X, Y, Y.copy(), has_t, L, lr, True, mode,
                         reset, RULE_ABS, 0.04, 0, rec, 0)
    return n, rec


def part_1997(v, net):
    R, D = net.W_h.shape
    return v.W_h[:R, :D]


def close(got, want, rtol, what):
    scale = max(1e-3, float(np.max(np.abs(want))))
    err = np.max(np.abs(got - want))
    assert err <= rtol * scale, f"{what}: max |diff| {err:.3e} vs scale {scale:.3e}"


# ------------------------------------------------------------------------------ 1. reductions to 1997
@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
@pytest.mark.parametrize("mode", [UPDATE_SEQUENCE, UPDATE_STEP], ids=["sequence", "step"])
def test_held_forget_gates_and_frozen_zero_peepholes_are_1997(name, top, mode):
    net, X, Y, has_t, rng = case(top, seed=sum(map(ord, name)), targets="some")
    old, rec_old = run_1997(net, X, Y, has_t, lr=0.4, mode=mode, reset=0.5)
    for forget, peep in [(0, 0)] + SWITCHES:
        v = with_switches(net, rng, forget, peep, forget_bias=60.0, peep_zero=True)
        v.M_h[:, net.W_h.shape[1]:] = 0.0  # peephole weights present but not trained
        new, rec_new = run_variant(v, X, Y, has_t, lr=0.4, mode=mode, reset=0.5)
        np.testing.assert_array_equal(rec_new, rec_old)
        np.testing.assert_array_equal(part_1997(new, net), old.W_h)
        np.testing.assert_array_equal(new.W_o, old.W_o)
        np.testing.assert_array_equal(new.W_h[net.W_h.shape[0]:], v.W_h[net.W_h.shape[0]:])


@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
def test_zero_peepholes_trained_change_only_themselves(name, top):
    net, X, Y, has_t, rng = case(top, seed=3)
    old, rec_old = run_1997(net, X, Y, has_t)
    v = with_switches(net, rng, 0, 1, peep_zero=True)
    new, rec_new = run_variant(v, X, Y, has_t)
    np.testing.assert_array_equal(rec_new, rec_old)
    np.testing.assert_array_equal(part_1997(new, net), old.W_h)
    np.testing.assert_array_equal(new.W_o, old.W_o)
    assert np.abs(new.W_h[:, net.W_h.shape[1]:]).max() > 1e-6  # the peepholes do learn


def test_held_forget_gates_reproduce_a_1997_chunk():
    """Thousands of sequences of the adding task through both chunk loops: identical."""
    cfg = config.load("adding", {"T": 20, "window": 100, "trace.enabled": "false"})
    tr = Training(cfg)
    net = tr.net
    v = with_switches(copy_net(net), np.random.default_rng(1), 1, 0, forget_bias=60.0, r=0.1)
    data = np.zeros((1, 1))
    res = []
    for loop, n, sc in ((run_chunk, net, make_scratch(net)),
                        (run_chunk_variant, v, make_variant_scratch(v, tr.max_length))):
        rng = np.random.Generator(np.random.PCG64(9))
        stop, log = new_stop_state(100), new_log(3000)
        out = loop(n, sc, tr.rules, tr.tp, data, rng, tuple(b.copy() for b in tr.bufs), 3000,
                   stop, log, new_recorder(8))
        res.append((out, log, stop))
    assert res[0][0] == res[1][0]
    for a, b in zip(res[0][1] + res[0][2], res[1][1] + res[1][2]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(part_1997(v, net), net.W_h)
    np.testing.assert_array_equal(v.W_o, net.W_o)
    assert not np.array_equal(net.W_h, tr.initial_weights[0])  # it did learn


# ------------------------------------------------------------------------------ 2. truncated gradient
@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
@pytest.mark.parametrize("forget,peep", SWITCHES, ids=SW_IDS)
def test_truncated_variant_gradient_exact(name, top, forget, peep):
    net, X, Y, has_t, rng = case(top, seed=sum(map(ord, name)) + 7 * forget + peep, L=7)
    v = with_switches(net, rng, forget, peep, forget_bias=1.0)
    new, _ = run_variant(v, X, Y, has_t, reset=0.5)
    fd_h, fd_o = mref.variant_grad_fd(v, X, Y, has_t, reset=0.5, hold=True)
    close(new.W_h - v.W_h, fd_h, 1e-7, f"{name} W_h")
    close(new.W_o - v.W_o, fd_o, 1e-7, f"{name} W_o")
    R = net.W_h.shape[0]
    if forget:
        assert np.abs(fd_h[R:]).max() > 1e-5  # forget gates get a real gradient
    if peep:
        assert np.abs(fd_h[:, net.W_h.shape[1]:]).max() > 1e-5


def test_variant_reference_agrees_with_1997_reference():
    """The two NumPy references agree on a net without switches (checks model_reference)."""
    net, X, *_ = case(TOPS[2][1], seed=2)
    v = vnet_from(net)
    fw = ref.forward(net, X, 0.5)
    mv = mref.variant_forward(v, X, reset=0.5)
    for k in ("yc", "yin", "yk", "s"):
        np.testing.assert_allclose(mv[k], fw[k], rtol=1e-13, atol=1e-14)


# ------------------------------------------------------------------------------ 3. full gradient
@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
@pytest.mark.parametrize("targets", ["every", "last"])
def test_full_gradient_of_1997_net_is_exact(name, top, targets):
    net, X, Y, has_t, rng = case(top, seed=sum(map(ord, name)) + 1, targets=targets)
    new, _ = run_variant(vnet_from(net, full=True), X, Y, has_t, reset=0.5)
    fd_h, fd_o = ref.full_grad_fd(net, X, Y, has_t, reset=0.5)
    close(new.W_h - net.W_h, fd_h, 1e-7, f"{name} W_h vs full FD")
    close(new.W_o - net.W_o, fd_o, 1e-7, f"{name} W_o vs full FD")
    trunc, _ = run_1997(net, X, Y, has_t, reset=0.5)
    gap = np.abs((new.W_h - trunc.W_h)).max()
    if top.connectivity == "F":
        assert gap > 1e-4 * np.abs(fd_h).max()  # the full gradient is really different
    else:  # no recurrence: nothing to truncate
        assert gap < 1e-12


@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
@pytest.mark.parametrize("forget,peep", SWITCHES, ids=SW_IDS)
def test_full_variant_gradient_is_exact(name, top, forget, peep):
    net, X, Y, has_t, rng = case(top, seed=sum(map(ord, name)) + 3 * forget + peep, L=7)
    v = with_switches(net, rng, forget, peep, full=True, forget_bias=1.0)
    new, _ = run_variant(v, X, Y, has_t)
    fd_h, fd_o = mref.variant_grad_fd(v, X, Y, has_t, hold=False)
    close(new.W_h - v.W_h, fd_h, 1e-7, f"{name} W_h")
    close(new.W_o - v.W_o, fd_o, 1e-7, f"{name} W_o")


# ------------------------------------------------------------------------------ 4. counts, config, runs
def test_variant_weight_counts():
    base = Topology(2, (2, 2), 1, bias="all")
    assert weight_count(base) == 93
    kw = dict(n_in=2, block_sizes=(2, 2), n_out=1, bias="all")
    assert variant_weight_count(VariantTopology(**kw)) == 93
    # a forget gate per block: the input gate's 2 + 8 + 1 sources
    assert variant_weight_count(VariantTopology(**kw, forget_gate=True)) == 93 + 2 * 11
    # one peephole from each cell to each of its block's gates
    assert variant_weight_count(VariantTopology(**kw, peepholes=True)) == 93 + 2 * 4
    assert variant_weight_count(VariantTopology(**kw, forget_gate=True, peepholes=True)) == 93 + 22 + 12
    # 2a: no biases, no output gate; the forget gate still gets its bias weight
    top2a = VariantTopology(n_in=101, block_sizes=(1,), n_out=101, forget_gate=True, **T_2A)
    assert variant_weight_count(top2a) == 10504 + 101 + 1


@pytest.mark.parametrize("overrides,message", [
    ({"gradient": "full", "update": "step"}, "update=sequence"),
    ({"forget_gate": "true", "update": "delayed"}, "1997 LSTM only"),
    ({"forget_gate_bias": "[1.0]"}, "forget_gate=true"),
    ({"forget_gate": "true", "forget_gate_bias": "[1,2,3]"}, "3 values for 2 blocks"),
    ({"gradient": "partial"}, "choose one of"),
])
def test_bad_variant_settings_are_refused(overrides, message):
    with pytest.raises(UserError, match=message):
        config.load("adding", overrides)


def test_variants_are_labelled_not_1997():
    assert describe(config.load("adding", {})).startswith("LSTM 1997")
    for ov in ({"forget_gate": "true"}, {"peepholes": "true"}, {"gradient": "full"}):
        assert "NOT 1997" in describe(config.load("adding", ov))


def test_held_forget_gate_run_reproduces_the_1997_run(tmp_path):
    """End to end (config, runner, trace): the 1997 run and a run with forget gates held at 1
    train the same 1997 weights, bit for bit; the forget-gate weights never change."""
    import lstmsim

    kw = dict(task="adding", T=20, max_sequences=1500, test_size=100, progress="none", seed=2)
    plain = lstmsim.run(out=str(tmp_path / "a"), **kw)
    held = lstmsim.run(out=str(tmp_path / "b"), forget_gate=True, forget_gate_bias=[60, 60], **kw)
    w0 = np.load(os.path.join(plain["run_dir"], "weights.npz"))
    w1 = np.load(os.path.join(held["run_dir"], "weights.npz"))
    R, D = w0["W_h"].shape
    np.testing.assert_array_equal(w1["W_h"][:R, :D], w0["W_h"])
    np.testing.assert_array_equal(w1["W_o"], w0["W_o"])
    np.testing.assert_array_equal(w1["W_h"][R:], w1["W_h_initial"][R:])
    assert held["n_weights"] == 93 + 22
    for key in ("sequences_trained", "test_wrong", "test_mean_abs_error"):
        assert plain[key] == held[key]
    full = lstmsim.run(out=str(tmp_path / "c"), gradient="full", peepholes=True, **kw)
    assert full["sequences_trained"] == 1500 and full["n_weights"] == 93 + 8


@pytest.mark.parametrize("task,weights,label", [("adding_full_gradient", 93, "full gradient"),
                                                ("adding_forget_gate", 115, "forget gates")])
def test_variant_presets(task, weights, label):
    cfg = config.load(task, {})
    assert Training(cfg).n_weights == weights
    assert "NOT 1997" in describe(cfg) and label in describe(cfg)
    assert cfg.description.startswith("NOT 1997")
