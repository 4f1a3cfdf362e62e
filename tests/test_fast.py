"""The fast paths against the reference path (issue 7).

1. logistic.logistic, which every kernel uses instead of 1 / (1 + the C library's exp), is within
   2.5 ulp of the exact logistic and within 4 ulp of the C library version (so swapping it in
   changed results only within rounding), keeps 0.5, 0, 1 and nan, and gives the same bits
   vectorised as one at a time;
2. the fast single-trial loop (lstmsim/fast/single.py) gives the reference loop's weights, logs,
   stop points, events and traces bit for bit, on several tasks, topologies and update modes;
3. the trial-parallel loop (lstmsim/fast/lanes.py) gives every trial exactly what it gets alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from lstmsim import config
from lstmsim.fast.lane_inputs import gather as lane_gather
from lstmsim.fast.unrolled import backward as unrolled_backward
from lstmsim.logistic import logistic


@njit(cache=True)
def _logistic_all(x, out, lib):
    for i in range(x.shape[0]):
        out[i] = logistic(x[i])
        lib[i] = 1.0 / (1.0 + math.exp(-x[i]))  # with the C library's exp, as before issue 7


def _ulps(x, exact):
    """|x - exact| in units of the spacing of float64 at x (exact in long double)."""
    sp = np.spacing(np.abs(x)).astype(np.longdouble)
    return np.abs(x.astype(np.longdouble) - exact) / sp


def test_logistic_within_rounding_of_the_exact_value_and_of_the_c_library_version():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-709.0, 745.0, 100_000), rng.uniform(-40.0, 40.0, 200_000),
                        rng.uniform(-1.0, 1.0, 100_000), rng.uniform(-1e-8, 1e-8, 1000)])
    out, lib = np.empty_like(x), np.empty_like(x)
    _logistic_all(x, out, lib)
    # the two differ in the last bits only: within 4 units, equal on about half the arguments
    assert np.all(np.abs(out - lib) <= 4 * np.spacing(lib))
    # against the exact value: needs an extended-precision long double (x86; not e.g. arm64)
    if np.finfo(np.longdouble).nmant < 60:
        pytest.skip("long double is not extended precision here")
    exact = 1.0 / (1.0 + np.exp(-x.astype(np.longdouble)))
    assert _ulps(out, exact).max() < 2.5
    assert _ulps(lib, exact).max() < 2.5  # the versions it replaced: as close (glibc: 2.36)
    assert np.mean(out == exact.astype(np.float64)) > 0.55  # correctly rounded (glibc: 0.63)
    assert np.mean(out == lib) > 0.45


def test_the_logistics_fused_multiply_add_rounds_once():
    from lstmsim.logistic import _fma

    fma = njit(lambda a, b, c: _fma(a, b, c))
    a, b = 1.0 + 2.0 ** -30, 1.0 - 2.0 ** -30  # a * b = 1 - 2^-60, which rounds to 1.0
    assert a * b - 1.0 == 0.0 and fma(a, b, -1.0) == -(2.0 ** -60)


def test_logistic_special_values():
    x = np.array([0.0, -0.0, 5e-324, -5e-324, 37.43, 745.2, 1e6, np.inf, -1e6, -np.inf, -745.2,
                  np.nan])
    out, lib = np.empty_like(x), np.empty_like(x)
    _logistic_all(x, out, lib)
    assert list(out[:4]) == [0.5] * 4
    assert list(out[4:8]) == [1.0] * 4 and list(out[8:11]) == [0.0] * 3 and np.isnan(out[11])
    # down in the denormals (where 1 / (1 + math.exp(-x)) is already 0): within 2.5 ulp, or one
    # unit of the smallest denormal; 0 only where the exact value is below it
    x = -np.linspace(700.0, 746.0, 3000)
    out, lib = np.empty_like(x), np.empty_like(x)
    _logistic_all(x, out, lib)
    exact = 1.0 / (1.0 + np.exp(-x.astype(np.longdouble)))
    assert np.all(np.abs(out - exact) <= np.maximum(2.5 * np.spacing(out), 5e-324))
    assert np.all(out[exact >= 5e-324] > 0.0) and np.all(out[exact < 5e-324 / 2] == 0.0)


def test_logistic_vectorised_gives_the_scalar_bits():
    """The fast paths vectorise it (over rows, over lanes); the reference calls it one at a time."""
    from lstmsim.kernel import _logistic

    @njit(error_model="numpy")  # not cached: its assembly is inspected below
    def logistic_loop(x, out):
        for i in range(x.shape[0]):
            out[i] = logistic(x[i])

    x = np.random.default_rng(3).normal(0.0, 20.0, 4096)
    x[::97] = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 800.0, -800.0, 1e-300] * 6)[:43]
    out = np.empty_like(x)
    logistic_loop(x, out)
    assert "divpd" in "".join(logistic_loop.inspect_asm().values())  # packed: it did vectorise
    scalar = np.array([_logistic(v) for v in x])
    assert np.array_equal(out, scalar, equal_nan=True)


# ------------------------------------------------------------------------------ 2. single trial
def _reference(cfg):
    """A Training that runs the reference loop (train_loop.run_chunk, kernel.run_sequence)."""
    from lstmsim.kernel import make_scratch
    from lstmsim.train_loop import run_chunk
    from lstmsim.training import Training

    tr = Training(cfg)
    tr.chunk_loop = run_chunk
    tr.scratch = make_scratch(tr.net)
    return tr


def _advance_all(tr, n, chunks=(1, 7, 300)):
    """Advance in uneven chunks until n sequences or an event; returns the events seen. Each
    chunk's log rows are kept in tr.chunk_logs (for _same_state)."""
    events, done, k = [], 0, 0
    logs = tr.__dict__.setdefault("chunk_logs", [])
    while done < n:
        d, ev, step = tr.advance(min(chunks[k % len(chunks)], n - done))
        logs.append([a[:d].copy() for a in tr.log])
        k += 1
        done += d
        events.append((int(tr.stop.ints[4]), ev, step))
        if ev != 0:
            break
    return [e for e in events if e[1] != 0]


def _same_state(a, b):
    assert np.array_equal(a.net.W_h, b.net.W_h)
    assert np.array_equal(a.net.W_o, b.net.W_o)
    assert np.array_equal(a.stop.ints, b.stop.ints)
    assert a.stop.err_sum[0] == b.stop.err_sum[0]
    assert np.array_equal(a.stop.ring_err, b.stop.ring_err)
    for field, x, y in zip(a.stop._fields, a.stop, b.stop):  # the whole window, levels included
        assert np.array_equal(x, y), field
    # every sequence's log row (length, errors, correct), however the chunks were cut
    for field, x, y in zip(a.log._fields, *(zip(*t.chunk_logs) for t in (a, b))):
        assert np.array_equal(np.concatenate(x), np.concatenate(y)), field


CASES = [  # (task, overrides, sequences): several topologies, tasks and update modes
    ("adding", dict(T=30), 400),
    ("adding", dict(T=30, update="delayed"), 300),
    ("multiplication", dict(T=30, update="step"), 200),
    ("reber", {}, 150),                      # 4 blocks, 7 outputs, target every step, rank rule
    ("lag2a", {}, 200),                      # no output gates, g1, identity h, B connectivity
    ("order6a", dict(correct="squared"), 150),
    ("adding", dict(T=20, hidden_units=2, blocks="1,2"), 200),
    ("adding", dict(T=20, window=20, beta=0.5, threshold=0.9), 400),  # the stop rule fires
]


def _ids(cases):
    return [f"{t}-{'-'.join(f'{k}={v}' for k, v in o.items())}" for t, o, _ in cases]


IDS = _ids(CASES)


@pytest.mark.parametrize("task,over,n", CASES, ids=IDS)
def test_single_trial_fast_path_is_the_reference(task, over, n):
    cfg = config.load(task, dict(seed=3, max_sequences=10**6, progress="none", **over))
    from lstmsim.training import Training

    ref, fast = _reference(cfg), Training(cfg)
    ev_ref, ev_fast = _advance_all(ref, n), _advance_all(fast, n, chunks=(5, 1000))
    assert ev_ref == ev_fast
    _same_state(ref, fast)
    # testing (learn=False), per-step traces included
    from lstmsim.train_loop import new_recorder
    from lstmsim.kernel import rec_width

    recs = [new_recorder(rec_width(t.net), 40 * t.max_length, 40) for t in (ref, fast)]
    for t, rec in zip((ref, fast), recs):
        t.rules = t.rules._replace(rec_first=3, rec_every=7)
    r1 = ref.evaluate(60, recorder=recs[0])
    r2 = fast.evaluate(60, recorder=recs[1])
    for key in r1["arrays"]:
        assert np.array_equal(r1["arrays"][key], r2["arrays"][key]), key
    for a, b in zip(recs[0], recs[1]):
        assert np.array_equal(a, b)


def test_single_trial_divergence_is_reported_alike():
    from lstmsim.training import Training

    cfg = config.load("adding", dict(T=20, seed=0, progress="none"))
    for make in (_reference, Training):
        tr = make(cfg)
        tr.advance(10)
        tr.net.W_o[0, 2] = np.inf
        out = tr.advance(100)
        assert out == (1, 3, tr.log.length[0] - 1)


# ------------------------------------------------------------------------------ 3. lanes
def _run_lanes(cfgs, n, chunks):
    """The trials of cfgs advanced together by the lane engine, each in its own thread with its
    own chunk sizes (as runner.train would ask), until n sequences (or n[i] for trial i) or an
    event."""
    from lstmsim.fast import batch
    from lstmsim.training import Training

    trs = [Training(c) for c in cfgs]
    engine = batch.LaneEngine(len(trs))
    fns = [lambda i=i: _advance_all(trs[i], n[i] if isinstance(n, list) else n,
                                    chunks=chunks[i % len(chunks)]) for i in range(len(trs))]
    out = batch.run_together(fns, engine)
    assert all(exc is None for _, exc in out), out
    assert engine.calls > 0 and engine.error is None
    return trs, [events for events, _ in out]


# Nets of up to unrolled.UNROLL_MAX_SOURCES sources get the written-out lane step (unrolled.py),
# bigger ones the looped one (looped.py); each form with 2a's topology options (no output gates,
# g1, identity h, B connectivity: p = 4 has 9 sources, the preset's p = 100 has 105; grow=false so
# that the cell learns from the start) and with output gates, g2, h, hidden units and blocks of
# two cells (Reber; adding with 8 blocks of 2 and a hidden unit: 36 sources)
LANE_CASES = [CASES[i] for i in (0, 1, 3)] + [
    ("lag2a", dict(p=4), 200), CASES[7], ("lag2a", dict(grow=False), 200),
    ("adding", dict(T=20, blocks="8x2", hidden_units=1), 200), ("reber", dict(update="step"), 60)]


def test_lane_cases_cover_both_forms_of_the_step():
    from lstmsim.fast import unrolled
    from lstmsim.training import topology_of

    sources = [topology_of(config.load(t, dict(o))).n_sources for t, o, _ in LANE_CASES]
    assert min(sources) <= unrolled.UNROLL_MAX_SOURCES < max(sources), sources
    looped = {t for (t, _, _), d in zip(LANE_CASES, sources) if d > unrolled.UNROLL_MAX_SOURCES}
    assert looped == {"lag2a", "adding"}, sources


@njit
def _backward_on(spec, Z, net, st):
    unrolled_backward(spec, Z, net, st)


# written out (Reber: output gates; 2a: none, g1, identity h; adding: hidden units) and as loops
# (more than UNROLL_MAX_SOURCES sources: 36)
BACKWARD_NETS = [("reber", {}), ("lag2a", dict(p=4)),
                 ("adding", dict(hidden_units=2, blocks="1,2")),
                 ("adding", dict(blocks="8x2", hidden_units=1))]


@pytest.mark.parametrize("task,over", BACKWARD_NETS,
                         ids=["reber", "lag2a-p=4", "adding-hidden", "adding-36-sources"])
def test_the_lanes_backward_pass_is_each_lanes_own_and_leaves_the_others(task, over):
    """lane_backward: the backward pass of the lanes that are on, all at once, against each
    lane's own (lane_steps._backward_lane) on a random state; the lanes that are off keep every
    bit of their summed changes, -0.0 included."""
    from lstmsim.fast.lane_state import new_lane_state
    from lstmsim.fast.lane_steps import _backward_lane
    from lstmsim.training import Training

    net = Training(config.load(task, dict(progress="none", **over))).net
    rng = np.random.default_rng(5)
    states = [new_lane_state(net, 6, 3) for _ in range(2)]
    Z0 = rng.uniform(-1.0, 1.0, states[0].Z.size)
    targets = rng.uniform(0.0, 1.0, (6, net.n_out))
    on = [0, 2, 3, 5]
    for st in states:
        st.Z[:] = Z0
        st.dW[0, :, :] = -0.0
        st.dWo[:, 0, :] = -0.0
    fast, ref = states
    before = fast.dW.copy(), fast.dWo.copy()
    fast.on[0, :] = 0.0
    for l in on:
        fast.on[0, l] = 1.0
        fast.ek[:, l] = targets[l]
        ref.ys[l, 2] = targets[l]
        _backward_lane(net, ref, l, ref.ys[l], 2)
    _backward_on(fast.spec, fast.Z, net, fast)
    off = [l for l in range(fast.on.shape[1]) if l not in on]  # (lanes 6, 7: padding)
    for a, b, old in zip((fast.dW, fast.dWo), (ref.dW, ref.dWo), before):
        assert np.array_equal(a.view(np.int64), b.view(np.int64))
        assert np.array_equal(a[..., off].view(np.int64), old[..., off].view(np.int64))
        assert not np.array_equal(a[..., on], old[..., on])


@njit
def _gather_on(spec, xs, tl, live, k, Z):
    lane_gather(spec, xs, tl, live, k, Z)


# written out with 4, 8 and 16 lanes (one vector, one, two per input line), and as loops (36
# sources); lag2a at p = 4: 5 input lines
GATHER_NETS = [("adding", {}, 4, 4), ("adding", {}, 8, 8), ("adding", {}, 13, 8),
               ("lag2a", dict(p=4), 8, 8), ("adding", dict(blocks="8x2", hidden_units=1), 8, 8)]


@pytest.mark.parametrize("task,over,n_lanes,pad", GATHER_NETS,
                         ids=["adding-4", "adding-8", "adding-16", "lag2a-p=4", "adding-36-sources"])
def test_the_inputs_gather_puts_each_lanes_input_at_its_step_in_the_input_rows(task, over,
                                                                               n_lanes, pad):
    """lane_inputs.gather: row m of the sources gets xs[l, tl[l] + k, m] for every live lane l and
    xs[l, tl[l], m] for the others (pad lanes included), and nothing else in Z changes."""
    from lstmsim.fast.lane_state import new_lane_state
    from lstmsim.fast.unrolled import dims_from_spec, layout
    from lstmsim.training import Training

    net = Training(config.load(task, dict(progress="none", **over))).net
    st = new_lane_state(net, n_lanes, 9, pad=pad)
    NL = st.tl.shape[0]
    rng = np.random.default_rng(3)
    st.Z[:] = rng.uniform(-1.0, 1.0, st.Z.size)
    st.xs[:] = rng.uniform(-1.0, 1.0, st.xs.shape)
    st.tl[:] = rng.integers(0, 6, NL)
    st.live[:] = -rng.integers(0, 2, NL)  # -1 live, 0 not
    k = 3
    before = st.Z.copy()
    _gather_on(st.spec, st.xs, st.tl, st.live, k, st.Z)
    expected = st.xs[np.arange(NL), st.tl + k * (st.live != 0), :].T  # (n_in, NL)
    assert np.array_equal(st.a[:net.n_in], expected)
    A = layout(dims_from_spec(st.spec))["A"]
    st.a[:net.n_in] = before.reshape(-1, NL)[A:A + net.n_in]  # the rest of Z: untouched
    assert np.array_equal(st.Z, before)


def test_the_spec_type_holds_every_size_of_the_net():
    from numba import typeof

    from lstmsim.fast import unrolled
    from lstmsim.training import Training

    for task, over in (("lag2c", dict(p=1000, q=1000)), ("adding", dict(blocks="1,2,3",
                                                                        hidden_units=10))):
        net = Training(config.load(task, dict(progress="none", **over))).net
        spec = unrolled.make_spec(net, 16)
        want = dict(n_in=net.n_in, sizes=[list(net.blk).count(j) for j in range(net.n_blocks)],
                    H=net.n_hidden, K=net.n_out, out_gates=int(net.out_gates),
                    g1=int(net.g_kind), h_id=int(net.h_kind), NL=16)
        assert unrolled.dims_from_spec(spec) == want
        assert unrolled._dims_from_type(typeof(spec)) == want
        assert len(str(typeof(spec))) < 700  # not one tuple element per input line


def test_the_spec_passes_no_bytes_at_run_time():
    """make_spec's sizes live in its type only (unrolled._size: tuples of empty tuples), so calls of
    the generated kernels pass nothing for it; of zeros, a spec was 8 bytes per unit of each digit."""
    from numba import typeof
    from numba.core.registry import cpu_target

    from lstmsim.fast import unrolled
    from lstmsim.training import Training

    ctx = cpu_target.target_context
    for task, over in (("adding", {}), ("lag2c", dict(p=1000, q=1000))):
        net = Training(config.load(task, dict(progress="none", **over))).net
        spec = unrolled.make_spec(net, 8)
        assert unrolled.dims_from_spec(spec)["n_in"] == net.n_in
        assert ctx.get_abi_sizeof(ctx.get_value_type(typeof(spec))) == 0


def _host_has_avx512():
    import os

    import llvmlite.binding as ll

    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return False  # compiled for another CPU than this one
    return bool(ll.get_host_cpu_features().get("avx512f"))


def test_the_lanes_generated_code_is_marked_for_512_bit_vectors_and_one_trials_is_not():
    """vector_width.py: LLVM's models of Intel's AVX-512 server cores prefer 256-bit vectors, so
    the lane step ran as two halves of 4 lanes; the lane kernel's functions are marked for
    512-bit ones (and use zmm registers where the CPU has AVX-512). The one-trial step keeps the
    CPU model's default (marked wide, it was slower)."""
    from numba import typeof

    from lstmsim.fast import unrolled
    from lstmsim.fast.step_code import _calling
    from lstmsim.training import Training

    tr = Training(config.load("adding", dict(T=20, progress="none")))
    tr.compile()
    spec = unrolled.make_spec(tr.net, 8)
    Z = np.zeros(4000)
    lane = dict(step=(unrolled.step, (spec, Z)), tick=(unrolled.tick, (spec, Z)),
                partials=(unrolled.partials, (spec, Z)),
                backward=(unrolled.backward_written, (spec, Z)))
    for name, (kernel, args) in lane.items():  # each called from a jitted function, whose
        probe = njit(error_model="numpy")(_calling(kernel, name))  # code has the kernel's linked in
        sig = tuple(typeof(a) for a in args)
        probe.compile(sig)
        assert '"prefer-vector-width"="512"' in probe.inspect_llvm(sig), name
        if _host_has_avx512():
            assert "zmm" in probe.inspect_asm(sig), name
    fs = tr.scratch  # the one-trial step (step_code.py), as single.py calls it
    from lstmsim.fast.step_code import forward

    one = njit(error_model="numpy")(_calling(forward, "forward"))
    sig = (typeof(fs.spec), typeof(fs.Z), typeof(tr.net.W_o))
    one.compile(sig)
    ir = one.inspect_llvm(sig)
    assert "define" in ir and "prefer-vector-width" not in ir


@pytest.mark.parametrize("task,over,n", LANE_CASES, ids=_ids(LANE_CASES))
def test_lanes_give_each_trial_what_it_gets_alone(task, over, n):
    from lstmsim.training import Training

    cfgs = [config.load(task, dict(seed=s, max_sequences=10**6, progress="none", **over))
            for s in (1, 2, 3)]
    trs, events = _run_lanes(cfgs, n, chunks=[(3, 50), (1000,), (17,)])
    for cfg, tr, ev in zip(cfgs, trs, events):
        alone = Training(cfg)
        assert _advance_all(alone, n) == ev
        _same_state(alone, tr)  # the whole stop window (its per-sequence errors) included


@pytest.mark.parametrize("poisoned", ["W_h", "W_o"])
def test_lanes_report_a_divergence_in_the_middle_of_a_sequence_as_alone(poisoned):
    """A lane whose cell state (W_h) or output (W_o: the cell states stay finite) becomes nan at
    a step with no target (a `quiet` tick of the lane kernel, where no per-lane code runs and the
    output units' logistic is not taken) reports the same step and event as the trial alone."""
    from lstmsim.fast import batch
    from lstmsim.training import Training

    cfgs = [config.load("adding", dict(T=20, seed=s, progress="none")) for s in (1, 2, 3)]

    def train(tr, poison):
        first = tr.advance(7)
        if poison:
            # W_h: cell 0's bias weight, so s is nan from the next step on; W_o: the output's
            # weight from cell 0, so y_k is nan from the next step on and s stays finite
            getattr(tr.net, poisoned)[0, -1 if poisoned == "W_h" else tr.net.n_in] = np.nan
        return first, tr.advance(50)

    trs = [Training(c) for c in cfgs]
    out = batch.run_together([lambda i=i: train(trs[i], i == 1) for i in range(3)],
                             batch.LaneEngine(3))
    assert all(exc is None for _, exc in out), out
    for i, (cfg, tr) in enumerate(zip(cfgs, trs)):
        alone = Training(cfg)
        assert train(alone, i == 1) == out[i][0]
        assert np.array_equal(alone.net.W_h, tr.net.W_h, equal_nan=True)
        assert np.array_equal(alone.net.W_o, tr.net.W_o, equal_nan=True)
        assert np.array_equal(alone.stop.ints, tr.stop.ints)
    assert out[1][0][1] == (1, 3, 0)  # diverged at step 0 of its next sequence


@pytest.mark.parametrize("update", ["sequence", "delayed"])
def test_a_lane_freed_by_a_divergence_gives_its_next_trial_what_it_gets_alone(update):
    """A lane whose trial diverged (nan weights, partials and summed changes left in its rows,
    L_DIRTY set) takes another trial, as run_trials' lane threads do: that trial gets exactly
    what it gets alone, under update=delayed too (whose summed changes carry over between
    sequences in the lane rows, so a stale row would change its first update)."""
    from lstmsim.fast import batch
    from lstmsim.training import Training

    cfgs = [config.load("adding", dict(T=20, seed=s, progress="none", update=update))
            for s in (1, 2, 3)]

    def poisoned(tr):  # diverges at step 0 of its 8th sequence, in the middle of a chunk
        tr.advance(7)
        tr.net.W_h[0, -1] = np.nan
        return tr.advance(50)

    trs = [Training(c) for c in cfgs]
    first_lane = [lambda: (poisoned(trs[0]), _advance_all(trs[2], 150, chunks=(40, 3))),
                  lambda: _advance_all(trs[1], 150, chunks=(40,))]
    engine = batch.LaneEngine(2)
    out = batch.run_together(first_lane, engine)
    assert all(exc is None for _, exc in out), out
    assert engine.alone == 0 and engine.error is None
    (diverged, events), _ = out[0]
    assert diverged == (1, 3, 0)  # EVENT_DIVERGED at step 0, as in the test above
    for i, chunks in ((2, (40, 3)), (1, (40,))):
        alone = Training(cfgs[i])
        assert _advance_all(alone, 150, chunks=chunks) == (events if i == 2 else out[1][0])
        _same_state(alone, trs[i])


def test_a_trial_with_another_stop_window_runs_alone_and_gets_what_it_gets_alone():
    """The lane state holds one window length (lane_state.fits): a trial of another runs on the
    single-trial path beside the lanes instead of failing the batch."""
    from lstmsim.training import Training

    cfgs = [config.load("adding", dict(T=20, seed=s, progress="none", **over))
            for s, over in ((1, {}), (2, dict(window=7)), (3, {}))]
    trs, events = _run_lanes(cfgs, 150, chunks=[(40,)])
    for cfg, tr, ev in zip(cfgs, trs, events):
        alone = Training(cfg)
        assert _advance_all(alone, 150) == ev
        _same_state(alone, tr)
    assert trs[1].stop.ring_err.shape == (7,) != trs[0].stop.ring_err.shape


def test_a_trial_that_never_trains_leaves_the_others_alone():
    """A trial that leaves before its first chunk (e.g. one that fails while starting) has no
    objects of its own in the kernel; its idle lane must not write over another trial's."""
    from lstmsim.training import Training

    cfgs = [config.load("adding", dict(T=20, seed=s, progress="none")) for s in (1, 2, 3)]
    trs, _ = _run_lanes(cfgs, [120, 120, 0], chunks=[(40,)])
    for cfg, tr in zip(cfgs[:2], trs[:2]):
        alone = Training(cfg)
        _advance_all(alone, 120)
        _same_state(alone, tr)
    untouched = Training(cfgs[2])
    assert np.array_equal(untouched.net.W_h, trs[2].net.W_h)


@pytest.mark.parametrize("T, lanes, update", [(20, 3, "sequence"), ([20, 40], 2, "sequence"),
                                              ([20, 40], 2, "delayed")])
def test_sweep_lanes_equal_single_trials(tmp_path, monkeypatch, T, lanes, update):
    """Through sweep: the same summaries, weights and traces with lanes as with lanes=1; also
    when a batch mixes settings of different sequence lengths and has more trials than lanes, so
    that a lane takes a new trial when its own ends (sweep_batches.py), under update=delayed too
    (whose summed changes carry over between sequences in the lane rows)."""
    import h5py

    import lstmsim
    from lstmsim.fast import batch

    engines = []

    class Recorded(batch.LaneEngine):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.lengths = set()  # the trials' sequence buffers: one length per setting
            engines.append(self)

        def chunk(self, lane, args):
            self.lengths.add(args[6][0].shape[0])
            return super().chunk(lane, args)

    kw = dict(task="adding", T=T, trials=3, max_sequences=600, test_size=40, executor="serial",
              progress="none", update=update)
    one = lstmsim.sweep(out=str(tmp_path / "one"), lanes=1, **kw)
    monkeypatch.setattr(batch, "LaneEngine", Recorded)
    many = lstmsim.sweep(out=str(tmp_path / "many"), lanes=lanes, **kw)
    assert engines and all(e.calls > 0 and e.alone == 0 for e in engines)
    if isinstance(T, list):  # 6 trials, 2 lanes: 2 batches of 3, each mixing T = 20 and 40
        assert [e.n for e in engines] == [2, 2]
        assert all(len(e.lengths) == 2 and e.state.xs.shape[1] == max(e.lengths) for e in engines)
    volatile = {"run_dir", "steps_per_second", "train_seconds", "wall_seconds"}
    for a, b in zip(one, many):
        assert {k: v for k, v in a.items() if k not in volatile} == \
               {k: v for k, v in b.items() if k not in volatile}
        wa, wb = np.load(f"{a['run_dir']}/weights.npz"), np.load(f"{b['run_dir']}/weights.npz")
        assert all(np.array_equal(wa[k], wb[k]) for k in wa.files)
        with h5py.File(f"{a['run_dir']}/trace.h5", "r") as fa, \
                h5py.File(f"{b['run_dir']}/trace.h5", "r") as fb:
            names = []
            fa.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            for n in names:
                if fa[n].dtype.kind in "fiub":
                    assert np.array_equal(fa[n][()], fb[n][()],
                                          equal_nan=fa[n].dtype.kind == "f"), n


def test_a_lane_takes_the_batchs_next_trial_even_if_it_is_longer_than_the_first(tmp_path,
                                                                               monkeypatch):
    """run_trials sizes the lane rows for the batch's longest trial: here the two lanes start
    with T = 20 and the third trial (T = 40) takes the lane freed first; it runs in the lane
    kernel, not alone. Every trial gets the weights it gets alone, also with trace buffers that
    hold only the trial's own longest sequence (a T = 20 trial's buffer is full by its own
    length, not by the batch's: else it would find it full at every sequence, for ever)."""
    from lstmsim import trace
    from lstmsim.fast import batch
    from lstmsim.trial import run_trial

    monkeypatch.setattr(trace, "RECORDER_BYTES", 64)  # rows = the trial's own longest sequence

    engines = []

    class Recorded(batch.LaneEngine):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            engines.append(self)

    monkeypatch.setattr(batch, "LaneEngine", Recorded)
    base = dict(max_sequences=200, test_size=10, progress="none")
    over = [dict(base, T=20, seed=1), dict(base, T=20, seed=2),
            dict(base, T=40, seed=3)]
    specs = [{"task": "adding", "overrides": o, "run_dir": str(tmp_path / f"lane{i}"),
              "return_files": False, "resume": False} for i, o in enumerate(over)]
    out = batch.run_trials(specs, n_lanes=2)
    assert all("error" not in r for r in out), out
    (engine,) = engines
    assert engine.n == 2 and engine.alone == 0 and engine.state.xs.shape[1] >= 40
    for i, spec in enumerate(specs):
        alone = run_trial({**spec, "run_dir": str(tmp_path / f"alone{i}")})
        wa = np.load(tmp_path / f"alone{i}" / "weights.npz")
        wb = np.load(tmp_path / f"lane{i}" / "weights.npz")
        assert all(np.array_equal(wa[k], wb[k]) for k in wa.files)
        for key in ("steps_trained", "test_mse", "test_wrong", "status"):
            assert out[i]["summary"][key] == alone["summary"][key]
