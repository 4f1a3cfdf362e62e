"""Whole runs through the Python API: determinism, learning, summary contents, chunking."""

import json

import numpy as np
import pytest

import lstmsim
from lstmsim import config
from lstmsim.training import Training

SMALL = dict(T=20, max_sequences=3000, test_size=200, progress="none")
VOLATILE = {"run_dir", "steps_per_second", "train_seconds", "wall_seconds"}


def test_same_config_and_seed_is_bit_identical(tmp_path):
    a = lstmsim.run("adding", seed=5, out=str(tmp_path / "a"), **SMALL)
    b = lstmsim.run("adding", seed=5, out=str(tmp_path / "b"), **SMALL)
    assert {k: v for k, v in a.items() if k not in VOLATILE} == \
           {k: v for k, v in b.items() if k not in VOLATILE}
    wa = np.load(f"{a['run_dir']}/weights.npz")
    wb = np.load(f"{b['run_dir']}/weights.npz")
    for key in ("W_h", "W_o", "W_h_initial", "W_o_initial"):
        assert np.array_equal(wa[key], wb[key])
    assert not np.array_equal(wa["W_h"], wa["W_h_initial"])  # it did train
    c = lstmsim.run("adding", seed=6, out=str(tmp_path / "c"), **SMALL)
    assert not np.array_equal(np.load(f"{c['run_dir']}/weights.npz")["W_h"], wa["W_h"])


def test_chunk_sizes_do_not_change_results():
    cfg = config.load("adding", dict(seed=2, **SMALL))
    t1, t2 = Training(cfg), Training(cfg)
    t1.advance(3000)
    for n in (1, 7, 500, 1000, 1492):
        t2.advance(n)
    assert np.array_equal(t1.net.W_h, t2.net.W_h) and np.array_equal(t1.net.W_o, t2.net.W_o)
    assert np.array_equal(t1.stop.ints, t2.stop.ints) and t1.stop.err_sum[0] == t2.stop.err_sum[0]


def test_learns_well_below_predicting_the_mean(tmp_path):
    s = lstmsim.run("adding", T=20, seed=0, max_sequences=30000, test_size=500, progress="none",
                    out=str(tmp_path))
    # predicting the mean 0.5 gives E|X1+X2|/4 = 1/6
    assert s["test_mean_abs_error"] < 0.06
    assert s["test_wrong_squared"] < 50


def test_summary_fields(tmp_path):
    s = lstmsim.run("adding", seed=1, out=str(tmp_path), **SMALL)
    on_disk = json.loads(open(f"{s['run_dir']}/summary.json").read())
    for key in ("task", "seed", "status", "sequences_trained", "solved", "sequences_to_solve",
                "test_size", "test_wrong", "test_mean_abs_error", "n_weights", "steps_per_second",
                "lstmsim_version"):
        assert key in on_disk
    assert on_disk["n_weights"] == 93 and on_disk["test_size"] == 200
    assert on_disk["status"] == "capped" and on_disk["sequences_trained"] == 3000
    assert (tmp_path / "adding").is_dir()
    loaded = config.OmegaConf.load(f"{s['run_dir']}/config.yaml")
    assert loaded.T == 20 and loaded.seed == 1


def test_st3_fires_only_on_a_full_correct_window():
    cfg = config.load("adding", dict(T=20, window=50, beta=0.5, threshold=0.9, correct="abs",
                                     max_sequences=1000, progress="none"))
    tr = Training(cfg)
    done, event, _ = tr.advance(1000)
    # with a lenient threshold every sequence is correct: ST3 fires right when the window fills
    assert (done, event) == (50, 1)
    cfg = config.load("adding", dict(T=20, window=50, beta=0.5, threshold=1e-9,
                                     max_sequences=1000, progress="none"))
    tr = Training(cfg)
    assert tr.advance(1000)[:2] == (1000, 0)  # never all correct: never fires


def test_nseq_evaluation_points(tmp_path):
    s = lstmsim.run("adding", T=20, stop="nseq", nseq_levels=[2000, 1900], window=2000,
                    threshold=2.0, max_sequences=5000, test_size=100, progress="none",
                    out=str(tmp_path))
    # threshold 2 means no sequence has a big error: both levels pass when the window fills
    assert [e["level"] for e in s["evaluations"]] == [2000, 1900]
    assert s["evaluations"][0]["sequences"] == 2000 and s["sequences_to_solve"] == 2001


def test_update_modes(tmp_path):
    runs = {mode: lstmsim.run("adding", update=mode, seed=3, out=str(tmp_path), **SMALL)
            for mode in ("step", "sequence", "delayed")}
    w = {m: np.load(f"{s['run_dir']}/weights.npz")["W_h"] for m, s in runs.items()}
    # adding has one target per sequence, at its end: per-step and per-sequence are one algorithm
    assert np.array_equal(w["step"], w["sequence"])
    # JKU's delayed timing (applied after the next sequence's first step) is a different trajectory
    assert not np.array_equal(w["delayed"], w["sequence"])
    assert np.abs(w["delayed"] - w["sequence"]).max() < 0.5


def test_update_key_is_read(tmp_path):
    # `update` is also a method name of a mapping: make sure the key itself reaches the kernel
    cfg = config.load("adding", dict(update="step", **SMALL))
    assert Training(cfg).rules.update_mode == 1


def test_freeze_keeps_cell_input_weights(tmp_path):
    s = lstmsim.run("adding", freeze=["cell_bias", "cell_gates"], seed=1, out=str(tmp_path), **SMALL)
    w = np.load(f"{s['run_dir']}/weights.npz")
    top_cells, bias_col = 4, 10
    assert np.array_equal(w["W_h"][:top_cells, bias_col], w["W_h_initial"][:top_cells, bias_col])
    assert np.array_equal(w["W_h"][:top_cells, 6:10], w["W_h_initial"][:top_cells, 6:10])
    assert not np.array_equal(w["W_h"][:top_cells, :2], w["W_h_initial"][:top_cells, :2])
    assert s["n_weights"] == 93


def test_divergence_is_caught():
    cfg = config.load("adding", dict(seed=0, **SMALL))
    tr = Training(cfg)
    tr.advance(10)
    tr.net.W_o[0, 2] = np.inf  # a weight into the output becomes infinite
    done, event, step = tr.advance(100)
    # the saturated output stays finite, so the infinite weight is caught when the update is applied
    assert (done, event, step) == (1, 3, tr.log.length[0] - 1)
    tr = Training(cfg)
    tr.net.W_h[0, 0] = np.nan
    assert tr.advance(100) == (1, 3, 0)


def test_finite_huge_weights_are_not_divergence(tmp_path):
    # with logistic units a huge learning rate saturates the net instead of overflowing
    s = lstmsim.run("adding", lr=1e300, seed=0, out=str(tmp_path), **SMALL)
    assert s["status"] == "capped"


def test_fixed_set_evaluation_continues_across_chunks(monkeypatch):
    import lstmsim.training as training_mod

    cfg = config.load("reber", dict(progress="none", max_sequences=10))
    tr = Training(cfg)
    whole = tr.evaluate(256, data=tr.data["test"], item_base=0)
    monkeypatch.setattr(training_mod, "LOG_CAPACITY", 50)  # force several chunks
    chunked = tr.evaluate(256, data=tr.data["test"], item_base=0)
    assert np.array_equal(whole["arrays"]["length"], chunked["arrays"]["length"])
    # the 256 test strings are distinct, so their lengths are not one repeated block of 50
    assert not np.array_equal(chunked["arrays"]["length"][:50], chunked["arrays"]["length"][50:100])


def test_evaluate_takes_only_pcg64_generators():
    """The compiled generators draw with PCG64's step inlined (generators/pcg64.py), so a
    Generator on another bit generator is refused before it reaches them."""
    tr = Training(config.load("adding", dict(progress="none", max_sequences=10, T=20)))
    with pytest.raises(ValueError, match="PCG64"):
        tr.evaluate(3, rng=np.random.Generator(np.random.MT19937(0)))
    assert tr.evaluate(3, rng=np.random.default_rng(0))["arrays"]["length"].shape == (3,)


def test_a_trace_buffer_that_cannot_hold_one_sequence_is_an_error_not_a_hang():
    """runner.train flushes the trace buffer between chunks; a buffer too small for even one
    sequence would return 'full' with nothing done for ever (the trace writer sizes it for one
    sequence at least, so this guards against a future mistake)."""
    from lstmsim import runner
    from lstmsim.kernel import rec_width
    from lstmsim.progress import Display
    from lstmsim.train_loop import new_recorder

    tr = Training(config.load("adding", dict(T=20, seed=1, max_sequences=50, progress="none")))
    tr.rules = tr.rules._replace(rec_first=3, rec_every=7)
    tr.recorder = new_recorder(rec_width(tr.net), tr.max_length - 1, 10)
    with pytest.raises(RuntimeError, match="cannot hold one sequence"):
        runner.train(tr, Display("none", "test"))
    assert tr.stop.ints[4] == 0  # nothing trained: sequence 0 is traced (rec_first=3)
