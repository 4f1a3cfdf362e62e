"""The compiled kernel against an independent NumPy reference (tests/reference.py).

1. forward pass: the kernel's recorded per-step values equal the reference forward pass;
2. exactness of the truncated gradient (spec §3.6): with per-sequence updates, (W_after-W_before)/lr
   equals -dLoss/dw computed by central finite differences (and by complex step) of a forward pass
   whose previous-step hidden activations are held at their unperturbed values, s(t-1) not held;
   absent weights never change;
3. per-step and per-sequence updates agree when only the last step has a target; with targets at
   every step, the per-step mode agrees with a direct transcription of the spec's pseudo-code;
4. the truncation is real: on recurrent nets the truncated gradient differs from the full one
   (so test 2 is not vacuous), and on a net without recurrence the two coincide.
"""

from __future__ import annotations

import os
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

from lstmsim.kernel import (  # noqa: E402
    RULE_ABS, UPDATE_SEQUENCE, UPDATE_STEP, make_scratch, rec_width, run_sequence)
from lstmsim.network import InitSpec, build, copy_net  # noqa: E402
from lstmsim.topology import Topology  # noqa: E402


# ------------------------------------------------------------------------------ helpers
def seed_of(name):
    return zlib.crc32(name.encode())


def make_case(top, seed, L, targets, init_range=1.0):
    """A net with weights uniform in +-init_range (masks kept) and one random sequence."""
    rng = np.random.default_rng(seed)
    net = build(top, InitSpec(init_range=init_range), rng)
    X = rng.uniform(-1.0, 1.0, size=(L, top.n_in))
    Y = rng.uniform(0.0, 1.0, size=(L, top.n_out))
    has_t = np.zeros(L, dtype=np.int8)
    if targets == "every":
        has_t[:] = 1
    elif targets == "last":
        has_t[-1] = 1
    elif targets == "some":
        has_t[[1, L // 2, L - 1]] = 1
    else:
        raise ValueError(targets)
    Y[has_t == 0] = 0.0
    return net, X, Y, has_t


def run_kernel(net, X, Y, has_t, lr=1.0, mode=UPDATE_SEQUENCE, reset=0.0, learn=True):
    """Run one sequence on a copy of net; returns (net_after, rec)."""
    n = copy_net(net)
    sc = make_scratch(n)
    L = X.shape[0]
    rec = np.zeros((L, rec_width(n)))
    run_sequence(n, sc, np.ascontiguousarray(X, dtype=np.float64),
                 np.ascontiguousarray(Y, dtype=np.float64), np.ascontiguousarray(Y, dtype=np.float64),
                 np.ascontiguousarray(has_t, dtype=np.int8), L, float(lr), bool(learn), int(mode),
                 float(reset), RULE_ABS, 0.04, 0, rec, 0)
    return n, rec


def split_rec(net, rec):
    """Columns of a record: x | target | has_target | s | y_c | y_in | y_out | y_k."""
    sizes = [("x", net.n_in), ("target", net.n_out), ("has_t", 1), ("s", net.n_cells),
             ("yc", net.n_cells), ("yin", net.n_blocks), ("yout", net.n_blocks), ("yk", net.n_out)]
    out, col = {}, 0
    for name, n in sizes:
        out[name] = rec[:, col:col + n]
        col += n
    assert col == rec.shape[1]
    return out


def kernel_delta(net, X, Y, has_t, lr=1.0, mode=UPDATE_SEQUENCE, reset=0.0):
    after, _ = run_kernel(net, X, Y, has_t, lr, mode, reset)
    return (after.W_h - net.W_h) / lr, (after.W_o - net.W_o) / lr, after


def assert_close_grad(got, want, rtol, what):
    """Element-wise relative check, with an absolute floor tied to the gradient's overall scale."""
    scale = max(1.0, float(np.max(np.abs(want))))
    err = np.abs(got - want)
    bound = rtol * np.abs(want) + rtol * 1e-3 * scale
    bad = err > bound
    if bad.any():
        i = np.unravel_index(np.argmax(err - bound), err.shape)
        raise AssertionError(f"{what}: {bad.sum()} of {bad.size} entries differ; worst at {i}: "
                             f"got {got[i]!r}, want {want[i]!r} (|diff| {err[i]:.3e})")


# Topologies for the exactness checks (name, Topology, reset, target pattern, L)
T_2A = dict(connectivity="B", output_gates=False, g="g1", h="id", bias="none")
CASES = [
    ("F_1+1_all_every", Topology(2, (1, 1), 2, bias="all"), 0.0, "every", 8),
    ("F_2_gates_last", Topology(2, (2,), 1, bias="gates"), 0.0, "last", 10),
    ("F_2+1_none_every_r05", Topology(2, (2, 1), 2, bias="none"), 0.5, "every", 7),
    ("F_2+1_hidden_last_r05", Topology(1, (2, 1), 1, bias="hidden"), 0.5, "last", 12),
    ("F_1+2_all_some", Topology(3, (1, 2), 2, bias="all"), 0.0, "some", 9),
    ("F_noout_1+2_all_every_r05", Topology(2, (1, 2), 2, output_gates=False, bias="all"), 0.5,
     "every", 8),
    ("B_2a_every", Topology(3, (1,), 3, **T_2A), 0.0, "every", 8),
    ("B_2a_last_r05", Topology(3, (1,), 3, **T_2A), 0.5, "last", 10),
    ("B_2a_2blocks_some", Topology(2, (1, 2), 2, **T_2A), 0.0, "some", 9),
    ("F_hid2_1+1_all_every", Topology(2, (1, 1), 2, n_hidden=2, bias="all"), 0.0, "every", 8),
    ("F_hid1_2_gates_last_r05", Topology(2, (2,), 1, n_hidden=1, bias="gates"), 0.5, "last", 10),
    ("B_hid1_all_every", Topology(2, (1,), 2, n_hidden=1, connectivity="B", bias="all"), 0.0,
     "every", 8),
    ("F_g1_id_out_2+1_hidden_every", Topology(2, (2, 1), 1, g="g1", h="id", bias="hidden"), 0.0,
     "every", 8),
]
IDS = [c[0] for c in CASES]


# ------------------------------------------------------------------------------ 1. forward pass
@pytest.mark.parametrize("name,top,reset,targets,L", CASES, ids=IDS)
@pytest.mark.parametrize("learn", [False, True], ids=["nolearn", "learn"])
def test_forward_matches_reference(name, top, reset, targets, L, learn):
    net, X, Y, has_t = make_case(top, seed=seed_of(name), L=L, targets=targets)
    after, rec = run_kernel(net, X, Y, has_t, lr=0.7, reset=reset, learn=learn)
    r = split_rec(net, rec)
    fw = ref.forward(net, X, reset)
    np.testing.assert_array_equal(r["x"], X)
    np.testing.assert_array_equal(r["target"], Y)
    np.testing.assert_array_equal(r["has_t"][:, 0], has_t)
    for key in ("s", "yc", "yin", "yk"):
        np.testing.assert_allclose(r[key], fw[key], rtol=1e-12, atol=1e-12, err_msg=key)
    if net.out_gates:
        np.testing.assert_allclose(r["yout"], fw["yout"], rtol=1e-12, atol=1e-12, err_msg="yout")
    if not learn:
        np.testing.assert_array_equal(after.W_h, net.W_h)
        np.testing.assert_array_equal(after.W_o, net.W_o)


def test_forward_recorded_yout_without_output_gates():
    """Without output gates y_out is identically 1 (spec §1.2); the record should say so."""
    top = Topology(3, (1,), 3, **T_2A)
    net, X, Y, has_t = make_case(top, seed=5, L=4, targets="every")
    _, rec = run_kernel(net, X, Y, has_t, learn=False)
    np.testing.assert_array_equal(split_rec(net, rec)["yout"], 1.0)


def test_forward_reference_sanity():
    """The reference itself on a hand-checkable case: one cell, one input, no recurrence."""
    top = Topology(1, (1,), 1, connectivity="B", bias="none")
    net = build(top, InitSpec(init_range=0.0), np.random.default_rng(0))
    lay = ref.Layout(net)
    net.W_h[0, 0] = 0.3            # cell <- x
    net.W_h[lay.r_in.start, 0] = -0.4
    net.W_h[lay.r_out.start, 0] = 0.9
    net.W_o[0, lay.b_c.start] = 1.5
    net.W_o[0, 0] = -0.2
    X = np.array([[1.0], [0.5], [-2.0]])
    fw = ref.forward(net, X)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    s = 0.0
    for t, x in enumerate(X[:, 0]):
        s += sig(-0.4 * x) * (4 * sig(0.3 * x) - 2)
        yc = sig(0.9 * x) * (2 * sig(s) - 1)
        assert fw["s"][t, 0] == pytest.approx(s, abs=1e-15)
        assert fw["yk"][t, 0] == pytest.approx(sig(1.5 * yc - 0.2 * x), abs=1e-15)


# ------------------------------------------------------------------------------ 2. exactness
@pytest.mark.parametrize("name,top,reset,targets,L", CASES, ids=IDS)
def test_truncated_gradient_exact(name, top, reset, targets, L):
    net, X, Y, has_t = make_case(top, seed=seed_of(name), L=L, targets=targets)
    lr = 1.0
    d_h, d_o, after = kernel_delta(net, X, Y, has_t, lr=lr, reset=reset)

    # absent weights stay absent (exactly 0, unchanged)
    assert np.all(after.W_h[net.M_h == 0] == 0.0) and np.all(net.W_h[net.M_h == 0] == 0.0)
    assert np.all(after.W_o[net.M_o == 0] == 0.0) and np.all(net.W_o[net.M_o == 0] == 0.0)

    fd_h, fd_o = ref.truncated_grad_fd(net, X, Y, has_t, reset, eps=1e-6)
    assert_close_grad(d_h, fd_h, 1e-6, f"{name} W_h vs finite differences")
    assert_close_grad(d_o, fd_o, 1e-6, f"{name} W_o vs finite differences")

    cs_h, cs_o = ref.truncated_grad_cs(net, X, Y, has_t, reset)
    assert_close_grad(d_h, cs_h, 1e-10, f"{name} W_h vs complex step")
    assert_close_grad(d_o, cs_o, 1e-10, f"{name} W_o vs complex step")

    # the test is not trivially satisfied: every kind of weight gets a real gradient
    assert np.abs(cs_o).max() > 1e-3
    assert np.abs(cs_h[: net.n_cells]).max() > 1e-4                    # cell inputs
    assert np.abs(cs_h[net.n_cells: net.n_cells + net.n_blocks]).max() > 1e-4   # input gates
    if net.out_gates:
        assert np.abs(cs_h[net.n_cells + net.n_blocks: net.n_cells + 2 * net.n_blocks]).max() > 1e-4
    if net.n_hidden:
        assert np.abs(cs_h[-net.n_hidden:]).max() > 1e-5


def test_truncated_gradient_scales_with_lr():
    top = Topology(2, (2, 1), 2, bias="all")
    net, X, Y, has_t = make_case(top, seed=11, L=9, targets="every")
    d1_h, d1_o, _ = kernel_delta(net, X, Y, has_t, lr=1.0)
    d2_h, d2_o, _ = kernel_delta(net, X, Y, has_t, lr=0.03)
    np.testing.assert_allclose(d2_h, d1_h, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d2_o, d1_o, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name,top,reset,targets,L", CASES[:6], ids=IDS[:6])
def test_reference_rtrl_matches_complex_step(name, top, reset, targets, L):
    """The spec's pseudo-code (reference) is itself the held-activation gradient."""
    net, X, Y, has_t = make_case(top, seed=seed_of(name), L=L, targets=targets)
    Wh, Wo = ref.rtrl_update(net, X, Y, has_t, lr=1.0, reset=reset)
    cs_h, cs_o = ref.truncated_grad_cs(net, X, Y, has_t, reset)
    assert_close_grad(Wh - net.W_h, cs_h, 1e-10, "rtrl W_h")
    assert_close_grad(Wo - net.W_o, cs_o, 1e-10, "rtrl W_o")


# ------------------------------------------------------------------------------ 3. update modes
@pytest.mark.parametrize("name,top,reset,targets,L", CASES, ids=IDS)
def test_step_and_sequence_updates_agree_on_last_target(name, top, reset, targets, L):
    net, X, Y, has_t = make_case(top, seed=seed_of(name) + 1, L=L, targets="last")
    seq, _ = run_kernel(net, X, Y, has_t, lr=0.3, mode=UPDATE_SEQUENCE, reset=reset)
    stp, _ = run_kernel(net, X, Y, has_t, lr=0.3, mode=UPDATE_STEP, reset=reset)
    d_seq = np.concatenate([(seq.W_h - net.W_h).ravel(), (seq.W_o - net.W_o).ravel()])
    d_stp = np.concatenate([(stp.W_h - net.W_h).ravel(), (stp.W_o - net.W_o).ravel()])
    assert np.abs(d_seq).max() > 1e-4
    np.testing.assert_allclose(d_stp, d_seq, rtol=1e-13, atol=1e-15 * np.abs(d_seq).max())


@pytest.mark.parametrize("name,top,reset,targets,L",
                         [c for c in CASES if c[3] != "last"], ids=[c[0] for c in CASES if c[3] != "last"])
def test_step_updates_match_reference(name, top, reset, targets, L):
    """Targets at several steps, per-step updates: the weights change within the sequence."""
    net, X, Y, has_t = make_case(top, seed=seed_of(name) + 2, L=L, targets=targets)
    lr = 0.5
    k, _ = run_kernel(net, X, Y, has_t, lr=lr, mode=UPDATE_STEP, reset=reset)
    Wh, Wo = ref.rtrl_update(net, X, Y, has_t, lr=lr, reset=reset, online=True)
    np.testing.assert_allclose(k.W_h, Wh, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(k.W_o, Wo, rtol=1e-11, atol=1e-12)
    # and it is genuinely different from the per-sequence update
    s, _ = run_kernel(net, X, Y, has_t, lr=lr, mode=UPDATE_SEQUENCE, reset=reset)
    assert np.abs(s.W_h - k.W_h).max() + np.abs(s.W_o - k.W_o).max() > 1e-6


# ------------------------------------------------------------------------------ 4. truncation is real
@pytest.mark.parametrize("top,targets", [
    (Topology(2, (1, 1), 2, bias="all"), "every"),
    (Topology(2, (2,), 1, bias="gates"), "last"),
    (Topology(2, (1, 1), 2, n_hidden=1, bias="all"), "every"),
], ids=["F_1+1_every", "F_2_last", "F_hid1_every"])
def test_truncation_is_real(top, targets):
    net, X, Y, has_t = make_case(top, seed=3, L=8, targets=targets)
    d_h, d_o, _ = kernel_delta(net, X, Y, has_t)
    full_h, full_o = ref.full_grad_fd(net, X, Y, has_t)
    tr_h, tr_o = ref.truncated_grad_fd(net, X, Y, has_t)
    full = np.concatenate([full_h.ravel(), full_o.ravel()])
    trunc = np.concatenate([tr_h.ravel(), tr_o.ravel()])
    kern = np.concatenate([d_h.ravel(), d_o.ravel()])
    gap = np.abs(full - trunc).max()
    assert gap > 1e-2 * np.abs(full).max(), gap          # truncation changes the gradient a lot
    assert np.abs(kern - trunc).max() < 1e-6 * np.abs(full).max()
    assert np.abs(kern - full).max() > 1e3 * np.abs(kern - trunc).max()


def test_no_recurrence_means_no_truncation():
    """B connectivity without output gates (2a/2b): a(t) has no recurrent entries, so holding the
    previous activations changes nothing and the full gradient equals the truncated one (the CEC
    path s(t-1) -> s(t) is not truncated)."""
    top = Topology(3, (1,), 3, **T_2A)
    net, X, Y, has_t = make_case(top, seed=4, L=10, targets="every")
    d_h, d_o, _ = kernel_delta(net, X, Y, has_t)
    full_h, full_o = ref.full_grad_fd(net, X, Y, has_t)
    assert_close_grad(d_h, full_h, 1e-6, "W_h vs full gradient")
    assert_close_grad(d_o, full_o, 1e-6, "W_o vs full gradient")


# ------------------------------------------------------------------------------ scratch reuse
@pytest.mark.parametrize("first_mode,first_learn", [(UPDATE_SEQUENCE, True), (UPDATE_STEP, True),
                                                    (UPDATE_SEQUENCE, False)],
                         ids=["seq", "step", "nolearn"])
@pytest.mark.parametrize("reset", [0.0, 0.5])
def test_scratch_reuse_starts_each_sequence_afresh(first_mode, first_learn, reset):
    """Sequence start (spec §3.4): s, activations and the partials ds/dw are reset, and nothing
    from the previous sequence leaks into the next when the same scratch arrays are reused."""
    top = Topology(2, (2, 1), 2, n_hidden=1, bias="all")
    net, X1, Y1, h1 = make_case(top, seed=21, L=11, targets="every")
    _, X2, Y2, h2 = make_case(top, seed=22, L=6, targets="some")
    shared = copy_net(net)
    sc = make_scratch(shared)
    for X, Y, h, mode, learn in ((X1, Y1, h1, first_mode, first_learn),
                                 (X2, Y2, h2, UPDATE_SEQUENCE, True)):
        L = X.shape[0]
        rec = np.zeros((L, rec_width(shared)))
        before = copy_net(shared)
        run_sequence(shared, sc, X, Y, Y.copy(), h, L, 0.5, learn, mode, reset, RULE_ABS, 0.04, 0,
                     rec, 0)
    # second sequence, on a fresh scratch from the same starting weights
    fresh, rec_fresh = run_kernel(before, X2, Y2, h2, lr=0.5, mode=UPDATE_SEQUENCE, reset=reset)
    np.testing.assert_array_equal(rec, rec_fresh)
    np.testing.assert_array_equal(shared.W_h, fresh.W_h)
    np.testing.assert_array_equal(shared.W_o, fresh.W_o)
    Wh, Wo = ref.rtrl_update(before, X2, Y2, h2, lr=0.5, reset=reset)
    np.testing.assert_allclose(shared.W_h, Wh, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(shared.W_o, Wo, rtol=1e-12, atol=1e-13)
