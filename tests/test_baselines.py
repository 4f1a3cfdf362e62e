"""The paper's competitors (issue 8, lstmsim/models/rnn.py): conventional recurrent nets trained by
RTRL, BPTT and as Elman nets.

1. weight counts: the Exp. 2 baseline has (p+2)^2 = 36 / 144 / 10404 weights, no biases;
2. exact learning: RTRL (changes summed to the sequence end) and BPTT give the same weight change,
   and both equal -dLoss/dw by central finite differences of the full loss (tests/model_reference.py);
   the Elman rule equals finite differences with the previous activations held;
3. RTRL with per-step updates equals a direct NumPy transcription of online RTRL;
4. an Elman net is the 1997 kernel's conventional-hidden-unit rule: on a net without memory cells
   the two kernels, and the two chunk loops (stop window, logs, events), agree bit for bit;
5. configuration and command line: presets, weight counts, errors, runs.
"""

from __future__ import annotations

import os
import sys
import zlib

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_reference as mref  # noqa: E402

from lstmsim import config  # noqa: E402
from lstmsim.errors import UserError  # noqa: E402
from lstmsim.kernel import (RULE_ABS, UPDATE_SEQUENCE, UPDATE_STEP, make_scratch,  # noqa: E402
                            run_sequence)
from lstmsim.models import describe  # noqa: E402
from lstmsim.models.rnn import (LEARN_ELMAN, RNN, RNNTopology, build_rnn, make_rnn_scratch,  # noqa: E402
                                rnn_weight_count, run_chunk_rnn, run_sequence_rnn)
from lstmsim.network import Net  # noqa: E402
from lstmsim.train_loop import (EVENT_STOP, STOP_ST3, new_log, new_recorder,  # noqa: E402
                                new_stop_state, run_chunk)
from lstmsim.training import Training  # noqa: E402


# ------------------------------------------------------------------------------ helpers
def case(top, learner, seed, L=7, targets="every", n_in=None):
    rng = np.random.default_rng(seed)
    net = build_rnn(top, 1.0, rng, learner)
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
    return net, X, Y, has_t


def run(net, X, Y, has_t, lr=1.0, mode=UPDATE_SEQUENCE, reset=0.0, learner=None):
    n = net._replace(W_h=net.W_h.copy(), W_o=net.W_o.copy())
    if learner is not None:
        n = n._replace(learner=learner)
    L = X.shape[0]
    sc = make_rnn_scratch(n, L)
    run_sequence_rnn(n, sc, X, Y, Y.copy(), has_t, L, float(lr), True, int(mode), float(reset),
                     RULE_ABS, 0.04, 0, np.zeros((L, 64)), -1)
    return n


def delta(net, after, lr=1.0):
    return (after.W_h - net.W_h) / lr, (after.W_o - net.W_o) / lr


def close(got, want, rtol, what):
    scale = max(1e-3, float(np.max(np.abs(want))))
    err = np.max(np.abs(got - want))
    assert err <= rtol * scale, f"{what}: max |diff| {err:.3e} vs scale {scale:.3e}"


TOPS = [
    ("F_all", RNNTopology(2, 3, 2, "F", "all")),
    ("F_hidden", RNNTopology(3, 2, 1, "F", "hidden")),
    ("B_none_exp2", RNNTopology(3, 1, 3, "B", "none")),
    ("B_all_2hidden", RNNTopology(2, 2, 2, "B", "all")),
    ("WZ_none", RNNTopology(2, 2, 2, "F", "none", recurrent_outputs=True)),
    ("WZ_all", RNNTopology(2, 1, 2, "F", "all", recurrent_outputs=True)),
]
IDS = [t[0] for t in TOPS]


# ------------------------------------------------------------------------------ 1. weight counts
@pytest.mark.parametrize("p,count", [(4, 36), (10, 144), (100, 10404)])
def test_exp2_baseline_weight_count(p, count):
    """(p+2)^2: hidden unit p+1 inputs + its self-weight; outputs (p+1)(p+1 inputs + hidden)."""
    top = RNNTopology(p + 1, 1, p + 1, connectivity="B", bias="none")
    assert rnn_weight_count(top) == count == (p + 2) ** 2
    # any bias would break the paper's count: the baseline has none
    assert rnn_weight_count(RNNTopology(p + 1, 1, p + 1, "B", "hidden")) == count + 1
    assert rnn_weight_count(RNNTopology(p + 1, 1, p + 1, "B", "all")) == count + 1 + (p + 1)


def test_masks_have_the_documented_connections():
    top = RNNTopology(3, 2, 2, "B", "none")
    net = build_rnn(top, 0.2, np.random.default_rng(0))
    # hidden units: inputs and own previous activation only
    np.testing.assert_array_equal(net.M_h, [[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 1, 0]])
    np.testing.assert_array_equal(net.M_o, [[1, 1, 1, 1, 1, 0]] * 2)
    wz = RNNTopology(3, 2, 2, "F", "none", recurrent_outputs=True)
    assert rnn_weight_count(wz) == 4 * (3 + 4)
    assert build_rnn(wz, 0.2, np.random.default_rng(0)).M_o.sum() == 0


# ------------------------------------------------------------------------------ 2. exact gradients
@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
@pytest.mark.parametrize("targets,reset", [("every", 0.0), ("some", 0.5), ("last", 0.0)])
def test_rtrl_equals_bptt_equals_finite_differences(name, top, targets, reset):
    net, X, Y, has_t = case(top, "rtrl", seed=zlib.crc32(f"{name}-{targets}".encode()),
                            targets=targets)
    rtrl = delta(net, run(net, X, Y, has_t, reset=reset, learner=0))
    bptt = delta(net, run(net, X, Y, has_t, reset=reset, learner=1))
    fd = mref.rnn_grad_fd(net, X, Y, has_t, reset=reset)
    for i, w in enumerate(("W_h", "W_o")):
        close(rtrl[i], bptt[i], 1e-12, f"{name} {w}: RTRL vs BPTT")
        close(rtrl[i], fd[i], 1e-7, f"{name} {w}: RTRL vs finite differences")
    assert np.abs(fd[0]).max() > 1e-5  # the recurrent layer's weights get a real gradient
    # absent weights stay absent
    after = run(net, X, Y, has_t, reset=reset, learner=0)
    assert np.all(after.W_h[net.M_h == 0] == 0) and np.all(after.W_o[net.M_o == 0] == 0)


@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
def test_elman_rule_is_the_one_step_gradient(name, top):
    net, X, Y, has_t = case(top, "elman", seed=7, targets="every")
    got = delta(net, run(net, X, Y, has_t, learner=LEARN_ELMAN))
    held = mref.rnn_grad_fd(net, X, Y, has_t, hold=True)
    full = mref.rnn_grad_fd(net, X, Y, has_t)
    for i, w in enumerate(("W_h", "W_o")):
        close(got[i], held[i], 1e-7, f"{name} {w}: Elman vs held finite differences")
    if top.connectivity == "F" or top.recurrent_outputs:  # truncation is real on recurrent nets
        assert np.abs(got[0] - full[0]).max() > 1e-4


def test_bptt_ignores_update_step():
    """BPTT always applies the sequence's gradient at its end."""
    net, X, Y, has_t = case(TOPS[0][1], "bptt", seed=3)
    a = run(net, X, Y, has_t, mode=UPDATE_STEP, learner=1)
    b = run(net, X, Y, has_t, mode=UPDATE_SEQUENCE, learner=1)
    np.testing.assert_array_equal(a.W_h, b.W_h)


# ------------------------------------------------------------------------------ 3. online RTRL
def online_rtrl(net, X, Y, has_t, lr):
    """Williams & Zipser's real-time algorithm, transcribed directly (dense NumPy)."""
    W_h, W_o = net.W_h.copy(), net.W_o.copy()
    M_h, M_o = net.M_h, net.M_o
    N, K, n_in = net.n_hidden, net.n_out, net.n_in
    D = W_h.shape[1]
    P = np.zeros((N, N, D))
    y = np.zeros(N)
    for t in range(len(X)):
        a = np.concatenate([X[t], y, [1.0]])
        y = mref.f(W_h @ a)
        b = np.concatenate([X[t], y, [1.0]])
        yk = y[N - K:] if net.out_in_layer else mref.f(W_o @ b)
        fp = y * (1 - y)
        newP = np.einsum("nm,mrd->nrd", W_h[:, n_in:n_in + N], P)
        for n in range(N):
            newP[n, n] += a * M_h[n]
        P = fp[:, None, None] * newP
        if has_t[t]:
            if net.out_in_layer:
                dlt = np.zeros(N)
                dlt[N - K:] = Y[t] - yk
                dW_o = np.zeros_like(W_o)
            else:
                ek = yk * (1 - yk) * (Y[t] - yk)
                dW_o = np.outer(ek, b) * M_o
                dlt = W_o[:, n_in:n_in + N].T @ ek
            dW_h = np.einsum("n,nrd->rd", dlt, P) * M_h
            W_h = W_h + lr * dW_h
            W_o = W_o + lr * dW_o
    return W_h, W_o


@pytest.mark.parametrize("name,top", TOPS, ids=IDS)
def test_online_rtrl_matches_direct_transcription(name, top):
    net, X, Y, has_t = case(top, "rtrl", seed=11, targets="some")
    lr = 0.7
    got = run(net, X, Y, has_t, lr=lr, mode=UPDATE_STEP, learner=0)
    W_h, W_o = online_rtrl(net, X, Y, has_t, lr)
    np.testing.assert_allclose(got.W_h, W_h, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(got.W_o, W_o, rtol=1e-11, atol=1e-13)
    seq = run(net, X, Y, has_t, lr=lr, mode=UPDATE_SEQUENCE, learner=0)
    assert np.abs(seq.W_h - got.W_h).max() > 1e-8  # weights really change within the sequence


# ------------------------------------------------------------------------------ 4. Elman = 1997 hidden units
def as_1997_net(net: RNN) -> Net:
    """The same net for the 1997 kernel: no memory-cell blocks, N conventional hidden units."""
    return Net(W_h=net.W_h.copy(), M_h=net.M_h, W_o=net.W_o.copy(), M_o=net.M_o,
               blk=np.zeros(0, np.int64), n_in=net.n_in, n_cells=0, n_blocks=0,
               n_hidden=net.n_hidden, n_out=net.n_out, out_gates=1, g_kind=0, h_kind=0)


@pytest.mark.parametrize("mode", [UPDATE_SEQUENCE, UPDATE_STEP], ids=["sequence", "step"])
def test_elman_equals_1997_kernel_without_cells(mode):
    net, X, Y, has_t = case(RNNTopology(2, 3, 2, "F", "all"), "elman", seed=5, targets="some")
    mine = run(net, X, Y, has_t, lr=0.3, mode=mode)
    old = as_1997_net(net)
    L = X.shape[0]
    run_sequence(old, make_scratch(old), X, Y, Y.copy(), has_t, L, 0.3, True, mode, 0.0, RULE_ABS,
                 0.04, 0, np.zeros((L, 64)), -1)
    np.testing.assert_array_equal(mine.W_h, old.W_h)
    np.testing.assert_array_equal(mine.W_o, old.W_o)


def test_elman_chunk_loop_equals_run_chunk():
    """run_chunk_rnn is run_chunk: same logs, stop window, counters and stop event, bit for bit."""
    cfg = config.load("adding", {"model": "elman", "hidden_units": 3, "bias": "all", "T": 12,
                                 "window": 50, "beta": 0.2, "threshold": 0.3, "lr": 0.5,
                                 "update": "step", "trace.enabled": "false"})
    tr = Training(cfg)
    assert tr.chunk_loop is run_chunk_rnn
    old_net = as_1997_net(tr.net)
    old_sc = make_scratch(old_net)
    rng_old = np.random.Generator(np.random.PCG64(123))
    rng_new = np.random.Generator(np.random.PCG64(123))
    stop_old, stop_new = new_stop_state(50), new_stop_state(50)
    log_old, log_new = new_log(5000), new_log(5000)
    rules = tr.rules._replace(stop_kind=STOP_ST3)
    data = np.zeros((1, 1))
    r_old = run_chunk(old_net, old_sc, rules, tr.tp, data, rng_old, tr.bufs, 5000, stop_old,
                      log_old, new_recorder(8))
    bufs = tuple(b.copy() for b in tr.bufs)
    r_new = run_chunk_rnn(tr.net, tr.scratch, rules, tr.tp, data, rng_new, bufs, 5000, stop_new,
                          log_new, new_recorder(8))
    assert r_old == r_new
    assert r_new[1] == EVENT_STOP  # the stop rule fired: the window logic was exercised
    for a, b in zip(log_old, log_new):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(stop_old, stop_new):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(old_net.W_h, tr.net.W_h)
    assert rng_old.bit_generator.state == rng_new.bit_generator.state


# ------------------------------------------------------------------------------ 5. configuration, runs
@pytest.mark.parametrize("task,overrides,weights", [
    ("lag2a_rtrl", {}, 36), ("lag2a_rtrl", {"p": 10}, 144), ("lag2a_rtrl", {"p": 100}, 10404),
    ("lag2a_bptt", {}, 10404),
    ("lag2a", {"model": "rnn", "hidden_units": 1, "connectivity": "B", "bias": "none", "p": 4}, 36),
])
def test_presets_build_the_paper_nets(task, overrides, weights):
    cfg = config.load(task, overrides)
    tr = Training(cfg)
    assert tr.n_weights == weights
    assert not cfg.grow and not cfg.trace.enabled  # switched off for conventional nets
    assert describe(cfg).startswith("NOT LSTM")


@pytest.mark.parametrize("overrides,message", [
    ({"model": "rnn"}, "hidden_units"),
    ({"model": "rnn", "hidden_units": 2, "learner": "bptt", "update": "step"}, "update=sequence"),
    ({"model": "rnn", "hidden_units": 2, "bias": "gates"}, "no gates"),
    ({"model": "rnn", "hidden_units": 2, "connectivity": "B", "recurrent_outputs": "true"}, "connectivity=F"),
    ({"model": "elman", "hidden_units": 2, "learner": "rtrl"}, "one-step"),
    ({"model": "rnn", "hidden_units": 2, "forget_gate": "true"}, "no LSTM"),
    ({"model": "rnn", "hidden_units": 2, "update": "delayed"}, "1997 LSTM only"),
    ({"model": "gru"}, "choose one of"),
    ({"learner": "bptt"}, "model=rnn only"),
    ({"model": "rnn", "hidden_units": 2, "trace.enabled": "true"}, "not supported"),
])
def test_bad_model_settings_are_refused(overrides, message):
    with pytest.raises(UserError, match=message):
        config.load("adding", overrides)


def test_explicit_grow_is_refused_for_rnn():
    with pytest.raises(UserError, match="sequential construction"):
        config.load("lag2a", {"model": "rnn", "hidden_units": 1, "grow": "true"})


def test_rnn_runs_from_python_and_is_reproducible(tmp_path):
    import lstmsim

    kw = dict(task="lag2a_rtrl", max_sequences=300, test_size=50, success_size=50,
              progress="none", seed=4)
    s1 = lstmsim.run(out=str(tmp_path / "a"), **kw)
    s2 = lstmsim.run(out=str(tmp_path / "b"), **kw)
    assert s1["n_weights"] == 36 and s1["sequences_trained"] == 300
    w1 = np.load(os.path.join(s1["run_dir"], "weights.npz"))
    w2 = np.load(os.path.join(s2["run_dir"], "weights.npz"))
    np.testing.assert_array_equal(w1["W_h"], w2["W_h"])
    assert not np.array_equal(w1["W_h"], w1["W_h_initial"])
    for learner, update in (("bptt", "sequence"), ("rtrl", "sequence")):
        s = lstmsim.run(out=str(tmp_path / learner), **{**kw, "learner": learner, "update": update})
        assert s["sequences_trained"] == 300


# ------------------------------------------------------------------------------ 6. the paper's rows
SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "spec",
                    "lstm1997.md")


def _spec_rows(table: int) -> list[list[str]]:
    text = open(SPEC).read()
    start = text.index(f"### Table {table} —")
    block = text[start:text.index("###", start + 10)]
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.splitlines()
            if line.startswith(("| RTRL", "| BPTT", "| ELM"))]


def _num(cell: str):
    try:
        return float(cell.replace(",", ""))
    except ValueError:
        return None  # "> 5,000,000", "some fraction", a range of learning rates


@pytest.mark.skipif(not os.path.isfile(SPEC), reason="the project spec (../shared/spec) is not here")
def test_competitor_rows_match_the_spec():
    from lstmsim import paper_tables

    # Table 2: method | delay p | learning rate | # weights | % successful | success after
    spec2 = _spec_rows(2)
    ours2 = [r for r in paper_tables.table(2).rows if r.method != "LSTM"]
    assert len(ours2) == len(spec2) == 6
    for r in ours2:
        m = [s for s in spec2 if s[0] == r.method and _num(s[1]) == r.setting["p"]
             and _num(s[2]) in (None, r.setting["lr"])]
        assert len(m) == 1, r.label
        s = m[0]
        assert r.numbers.get("success_pct") == _num(s[4])
        assert r.numbers.get("success_after") == _num(s[5])
        assert Training(config.load(r.task, r.setting)).n_weights == _num(s[3])
    # Table 1: method | hidden units | # weights (estimates) | learning rate | % success | after
    spec1 = _spec_rows(1)
    ours1 = [r for r in paper_tables.table(1).rows if r.method != "LSTM"]
    assert len(ours1) == len(spec1) == 3
    for r, s in zip(ours1, spec1):
        assert (r.method, r.setting["hidden_units"]) == (s[0], _num(s[1]))
        assert r.setting.get("lr") == _num(s[3])
        assert r.numbers.get("success_pct") == _num(s[4])
        assert r.numbers.get("success_after") == _num(s[5])
