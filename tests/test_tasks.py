"""Every experiment of the paper as a task: presets, weight counts, learning in short shrunk runs,
the success / stop criteria on hand-made numbers, the sequential construction of 2a/2b, and
one-line errors for bad task keys. (The generators' statistics are in test_generators.py.)
"""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

import lstmsim
from lstmsim import checks, config
from lstmsim.errors import UserError
from lstmsim.kernel import _legal_on_top
from lstmsim.runner import paper_row, result_line
from lstmsim.train_loop import I_SEQS, new_stop_state
from lstmsim.training import Training
from lstmsim.training import test_stats as summarize_test

ROOT = Path(__file__).resolve().parent.parent
TASKS = ["reber", "lag2a", "lag2b", "lag2c", "twoseq", "multiplication", "order6a", "order6b",
         "adding"]


def preset(name):
    return yaml.safe_load((ROOT / "tasks" / f"{name}.yaml").read_text())


def n_weights_now(training):
    return int(training.net.M_h.sum() + training.net.M_o.sum())


# ---- presets: the paper's topology (Table 10) and numbers (Tables 1-9) ------------------------
def weight_cases():
    for name in TASKS:
        paper = preset(name)["paper"]
        for row in paper["rows"]:
            count = row.get("weights", paper.get("weights"))
            keys = {k: v for k, v in row.items()
                    if k in ("T", "N", "variant", "q", "p", "blocks", "lr")}
            yield pytest.param(name, keys, count, id=f"{name}-{'-'.join(map(str, keys.values()))}")


@pytest.mark.parametrize("name,keys,count", list(weight_cases()))  # pytest 10: no generators
def test_every_paper_row_builds_its_weight_count(name, keys, count):
    assert count is not None, "each paper row states its weight count (Table 10)"
    cfg = config.load(name, keys)
    assert paper_row(cfg)["success_after" if "success_after" in paper_row(cfg) else "st2"]
    tr = Training(cfg)
    assert tr.n_weights == count
    if name in ("lag2a", "lag2b"):  # sequential construction: the inputs->outputs net first
        assert n_weights_now(tr) == (cfg.p + 1) ** 2
        checks.add_cells(tr)
    assert n_weights_now(tr) == count


@pytest.mark.parametrize("name", TASKS)
def test_presets_hold_the_paper_settings(name):
    cfg = config.load(name)
    p = preset(name)
    assert cfg.kind == p["kind"] and cfg.description and paper_row(cfg) is not None
    if cfg.stop == "test":
        assert "test_every" in p, "the checking interval is recorded in the preset (§7 item 16)"


@pytest.mark.parametrize("name,keys,lr,init,ogb,igb", [
    ("reber", {}, 0.1, 0.2, [-1, -2, -3, -4], []),
    ("reber", {"blocks": "3x2", "lr": 0.5}, 0.5, 0.2, [-1, -2, -3], []),
    ("lag2a", {}, 1.0, 0.2, [], []),
    ("lag2c", {}, 0.01, 0.2, [], []),
    ("twoseq", {}, 1.0, 0.1, [-2, -4, -6], [-1, -3, -5]),
    ("twoseq", {"variant": "c"}, 0.1, 0.1, [-2, -4, -6], [-1, -3, -5]),
    ("multiplication", {}, 0.1, 0.1, ["r", "r"], ["r", "r"]),
    ("order6a", {}, 0.5, 0.1, ["r", "r"], [-2, -4]),
    ("order6b", {}, 0.1, 0.1, ["r", "r", "r"], [-2, -4, -6]),
])
def test_table10_initialisation_and_learning_rate(name, keys, lr, init, ogb, igb):
    cfg = config.load(name, keys)
    assert cfg.lr == lr and cfg.init_range == init
    assert list(cfg.out_gate_bias) == ogb and list(cfg.in_gate_bias) == igb


def test_twoseq_variants_take_their_criteria():
    a, b, c = (config.load("twoseq", {"variant": v}) for v in "abc")
    assert (a.threshold, a.st1_wrong, a.st2_error) == (0.2, 0, 0.01)
    assert (b.threshold, b.st1_wrong, b.st2_error) == (0.2, 5, 0.04)
    assert (c.threshold, c.st1_wrong, c.st2_error) == (0.1, 0, 0.015)
    assert config.load("twoseq", {"variant": "c", "lr": 0.3}).lr == 0.3  # still one key away


def test_error_at_every_step_tasks_update_per_sequence():
    for name in ("reber", "lag2a", "lag2b"):
        assert config.load(name)["update"] == "sequence"
        assert config.load(name, {"update": "step"})["update"] == "step"


@pytest.mark.parametrize("name,keys,expect", [
    ("reber", {"blocks": "3x2", "lr": 0.5}, 8440),
    ("reber", {"blocks": "2,2,2", "lr": "0.50"}, 8440),  # same sizes, same number
    ("reber", {"blocks": "4x1", "lr": 0.5}, 9500),
    ("lag2a", {"lr": 1}, 5040),
    ("lag2b", {}, 5680),
    ("lag2c", {"q": 1000, "p": 50}, 203000),
    ("twoseq", {"variant": "b", "T": 1000, "N": 1}, 485080),
    ("adding", {"T": 500}, 209000),
])
def test_paper_row_matches_the_run(name, keys, expect):
    row = paper_row(config.load(name, keys))
    assert row.get("success_after", row.get("st2")) == expect


def test_paper_row_none_off_the_table_and_both_levels_for_exp5():
    assert paper_row(config.load("reber", {"lr": 0.3})) is None
    assert paper_row(config.load("lag2c", {"q": 7, "p": 7})) is None
    rows = paper_row(config.load("multiplication"))["rows"]
    assert [(r["n_seq"], r["success_after"]) for r in rows] == [(140, 482000), (13, 1273000)]


# ---- bad task keys: one line, naming the key, its value and the minimum --------------------------
BAD = [
    ("lag2c", {"q": -1}, "q=-1: the lag2c task needs q >= 0"),
    ("lag2c", {"p": 0}, "p=0: the lag2c task needs p >= 1"),
    ("lag2a", {"p": 1}, "p=1: the lag2a task needs p >= 2"),
    ("lag2b", {"grow_window": 5000}, "grow_window=5000: the lag2b task needs 1 <= grow_window <= window"),
    ("lag2a", {"grow_patience": 0}, "grow_patience=0"),
    ("lag2a", {"success_window": 0}, "success_window=0"),
    ("lag2a", {"variant": "c"}, "variant='c': the lag2a task takes one of a, b"),
    ("twoseq", {"variant": "d"}, "variant='d': the twoseq task takes one of a, b, c"),
    ("twoseq", {"N": 0}, "N=0: the twoseq task needs N >= 1"),
    ("twoseq", {"T": 3, "N": 3}, "T=3: the twoseq task needs T >= N + 1 = 4"),
    ("twoseq", {"input_noise": True}, "input_noise=True: the twoseq task needs variant=c"),
    ("twoseq", {"check_size": 0}, "check_size=0"),
    ("reber", {"target": "all"}, "target='all': the reber task takes one of next, legal"),
    ("reber", {"n_train": 0}, "n_train=0: the reber task needs n_train >= 1"),
    ("order6a", {"variant": "c"}, "variant='c': the order6a task takes one of a, b"),
    ("multiplication", {"T": 5}, "T=5: the multiplication problem needs T >= 12"),
    ("reber", {"blocks": "3x0"}, "blocks='3x0'"),
]


@pytest.mark.parametrize("name,keys,message", BAD)
def test_bad_task_keys_give_one_line(name, keys, message):
    with pytest.raises(UserError) as err:
        config.load(name, keys)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_bad_task_key_on_the_command_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lstmsim", "task=lag2c", "q=-1", f"out={tmp_path}"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["lstmsim: error: q=-1: the lag2c task needs q >= 0"]


# ---- criteria on hand-made numbers -------------------------------------------------------------
def test_rank_rule_on_hand_made_outputs():
    J = np.zeros((1, 7))
    J[0, [1, 2]] = 1.0  # legal next symbols T and P
    meets = np.array([0.01, 0.40, 0.31, 0.30, 0.0, 0.2, 0.1])
    assert _legal_on_top(J, 0, meets)
    misses = meets.copy()
    misses[3] = 0.3100001  # an illegal symbol just above the weaker legal one
    assert not _legal_on_top(J, 0, misses)
    tie = meets.copy()
    tie[3] = 0.31
    assert not _legal_on_top(J, 0, tie)


class StubTraining:
    """Stands in for Training in a check: evaluate() hands out prepared results in order."""

    def __init__(self, cfg, results, stop=None, data=None):
        self.cfg = SimpleNamespace(**cfg)
        self.results = list(results)
        self.calls = []
        self.stop = stop
        self.data = data or {}

    def evaluate(self, n, rng=None, data=None, item_base=-1):
        self.calls.append((n, item_base))
        return self.results.pop(0)


def stats_of(outputs, targets, threshold):
    """test_stats of one-output, last-step-only sequences with these outputs and targets."""
    err = np.abs(np.asarray(targets, float) - np.asarray(outputs, float))
    arrays = {"length": np.ones(err.size, np.int32), "abs_err": err, "sq_err": err ** 2,
              "max_abs": err, "correct": (err < threshold).astype(np.int8)}
    return summarize_test(arrays, threshold, 0)


def test_reber_success_needs_both_sets():
    sets = {"train": np.zeros((256, 5)), "test": np.zeros((256, 5))}
    ok = {"test_wrong": 0}
    assert checks.reber_check(StubTraining({}, [ok, ok], data=sets)) == (
        True, {"train_wrong": 0, "test_wrong": 0})
    stub = StubTraining({}, [ok, {"test_wrong": 1}], data=sets)
    assert checks.reber_check(stub)[0] is False
    assert stub.calls == [(256, 0), (256, 0)]  # each set walked in order, every string once
    stub = StubTraining({}, [{"test_wrong": 1}], data=sets)
    assert checks.reber_check(stub) == (False, {"train_wrong": 1})  # test set skipped


@pytest.mark.parametrize("variant,threshold,st1_wrong,st2_error", [
    ("a", 0.2, 0, 0.01), ("b", 0.2, 5, 0.04), ("c", 0.1, 0, 0.015)])
def test_st1_st2_on_hand_made_outputs(variant, threshold, st1_wrong, st2_error):
    rng = np.random.default_rng(0)
    n = 256
    if variant == "c":
        targets = rng.choice([0.2, 0.8], n)
    else:
        targets = rng.choice([0.0, 1.0], n)
    cfg = {"check_size": n, "st1_wrong": st1_wrong, "st2_error": st2_error,
           "fixed_check_set": False}

    def run(outputs):
        stub = StubTraining(cfg, [stats_of(outputs, targets, threshold)])
        return checks.twoseq_check(stub)

    just_in = st2_error * 0.98  # every output this far from its target: mean error just below
    finished, record = run(targets + just_in * np.sign(0.5 - targets))
    assert finished and record["criteria"] == {"ST1": True, "ST2": True}
    just_out = st2_error * 1.02
    finished, record = run(targets + just_out * np.sign(0.5 - targets))
    assert not finished and record["criteria"] == {"ST1": True, "ST2": False}
    # ST1: st1_wrong misclassified sequences are allowed, one more is not
    for extra, st1 in ((st1_wrong, True), (st1_wrong + 1, False)):
        outputs = targets.copy()
        outputs[:extra] = targets[:extra] + threshold * 1.001 * np.sign(0.5 - targets[:extra])
        finished, record = run(outputs)
        assert record["criteria"]["ST1"] is st1
        assert record["wrong"] == extra


def test_st_check_set_fresh_or_fixed():
    for fixed in (False, True):
        tr = Training(config.load("twoseq", dict(T=10, N=1, fixed_check_set=fixed)))
        tr.advance(300)
        first, second = checks.twoseq_check(tr)[1], checks.twoseq_check(tr)[1]
        assert (first == second) is fixed  # same net: same numbers only on the same sequences


def ring(errors, bad, window):
    stop = new_stop_state(window)
    for e, b in zip(errors, bad):  # what train_loop does for each sequence
        pos = int(stop.ints[0])
        stop.ring_err[pos], stop.ring_bad[pos] = e, b
        stop.ints[0] = (pos + 1) % window
        stop.ints[1] = min(stop.ints[1] + 1, window)
    return stop


def test_ring_tail_is_the_latest_sequences_in_order():
    stop = ring(np.arange(13.0), [0] * 13, window=5)
    errors, _ = checks.ring_tail(stop, 3)
    assert errors.tolist() == [10.0, 11.0, 12.0]
    assert checks.ring_tail(stop, 99)[0].tolist() == [8.0, 9.0, 10.0, 11.0, 12.0]
    assert checks.ring_tail(ring([1.0, 2.0], [0, 0], 5), 3)[0].tolist() == [1.0, 2.0]


def test_abs_success_runs_only_after_a_clean_window_and_stops_at_a_failure():
    cfg = {"success_window": 100, "success_size": 10000}
    passing = {"test_size": 500, "test_wrong": 0, "test_max_abs_error": 0.2}
    failing = {"test_size": 500, "test_wrong": 1, "test_max_abs_error": 0.26}
    clean = ring([0.1] * 150, [0] * 49 + [1] + [0] * 100, window=200)  # wrong 101 sequences ago
    just_not = ring([0.1] * 150, [0] * 50 + [1] + [0] * 99, window=200)  # wrong 100 ago
    too_few = ring([0.1] * 99, [0] * 99, window=200)  # only 99 sequences seen
    for stop in (just_not, too_few):
        stub = StubTraining(cfg, [], stop=stop)
        assert checks.abs_success_check(stub) == (False, {}) and not stub.calls
    stub = StubTraining(cfg, [passing] * 20, stop=clean)
    finished, record = checks.abs_success_check(stub)
    assert finished and record["success_test"]["tested"] == 10000 and len(stub.calls) == 20
    stub = StubTraining(cfg, [passing, passing, failing] + [passing] * 17, stop=clean)
    finished, record = checks.abs_success_check(stub)
    assert not finished and record["success_test"]["tested"] == 1500  # stopped at the failure


# ---- sequential construction (2a/2b) -----------------------------------------------------------
def test_plateau_fires_exactly_after_patience_checks_without_improvement():
    plateau = checks.Plateau(patience=3, tol=0.1)
    values = [1.0, 0.8, 0.75, 0.73, 0.725, 0.721]  # 0.8 is the last 10% improvement
    fired = [plateau.observe(v) for v in values]
    assert fired == [False, False, False, False, True, True]
    plateau = checks.Plateau(patience=2, tol=0.1)
    assert [plateau.observe(v) for v in (1.0, 0.95, 0.89, 0.85, 0.85)] == [
        False, False, False, False, True]


def test_cell_is_added_exactly_when_the_criterion_says():
    cfg = config.load("lag2a", dict(p=8, seed=3, test_every=100, window=300, grow_window=300,
                                    grow_patience=4, grow_tol=0.05))
    tr = Training(cfg)
    start = n_weights_now(tr)
    assert start == 9 * 9 and tr.net.M_h.sum() == 0
    errors = []  # every training sequence's error, kept independently of the runner's window
    plateau = checks.Plateau(4, 0.05)
    expected = None
    for check in range(1, 200):
        done, _, _ = tr.advance(100)
        errors.extend(tr.log.abs_err[:done])
        if expected is None and len(errors) >= 300 and plateau.observe(np.mean(errors[-300:])):
            expected = check * 100
        before = tr.net.M_h.copy()
        _, record = checks.lag2_check(tr)
        added = "cell_added" in record
        assert added == (check * 100 == expected)
        if added:
            assert record["criteria"] == {"cell_added": True}
            assert (before == 0).all() and n_weights_now(tr) == tr.n_weights == 9 + 9 + 9 * 10
            assert tr.kind_state["grown_at"] == expected == int(tr.stop.ints[I_SEQS])
            new = tr.net.W_h[tr.net.M_h > 0]
            assert np.abs(new).max() <= 0.2 and np.abs(new).min() > 0
            break
    assert expected is not None


def test_growth_is_deterministic_and_learns_2a(tmp_path):
    small = dict(p=5, seed=0, max_sequences=20000, test_size=1000, progress="none")
    a = lstmsim.run("lag2a", out=str(tmp_path / "a"), **small)
    b = lstmsim.run("lag2a", out=str(tmp_path / "b"), **small)
    wa = np.load(f"{a['run_dir']}/weights.npz")
    wb = np.load(f"{b['run_dir']}/weights.npz")
    assert np.array_equal(wa["W_h"], wb["W_h"]) and np.array_equal(wa["W_o"], wb["W_o"])
    assert a["criteria_first_met"] == b["criteria_first_met"]
    grown = a["criteria_first_met"]["cell_added"]
    assert a["solved"] and grown < a["sequences_to_solve"]
    assert int(wa["M_h"].sum() + wa["M_o"].sum()) == a["n_weights"] == 6 + 6 + 6 * 7
    assert wa["W_h_initial"].sum() == 0  # the run started without the cell
    assert a["test_wrong"] == 0 and a["test_size"] == 1000


def test_without_growth_the_cell_is_there_from_the_start():
    tr = Training(config.load("lag2b", dict(p=6, grow=False)))
    assert n_weights_now(tr) == tr.n_weights == 7 + 7 + 7 * 8
    assert checks.lag2_check(tr) == (False, {})  # window empty: nothing to test yet


# ---- short shrunk runs learn: error well below the best constant output ------------------------
LEARN = [
    # (task, keys, sequences, MSE of the best constant output; spec §4)
    ("twoseq", dict(T=10, N=1), 3000, 0.25),
    ("twoseq", dict(T=10, N=1, variant="b"), 3000, 0.25),
    ("twoseq", dict(T=5, N=3, variant="c"), 25000, 0.09),  # noise-free targets 0.2 / 0.8
    ("lag2c", dict(q=5, p=5), 25000, 0.5),  # two outputs, x or y
    ("multiplication", dict(T=12), 40000, 7 / 144),  # var(X1 X2), X uniform in [0, 1]
    # four outputs, one-hot class. 6a's trials solve after 17k-49k sequences and are erratic on
    # the way (docs/fidelity.md); seed 2 reached test MSE 0.29 / 0.0 / 0.0 at 30k / 40k / 50k
    ("order6a", dict(seed=2), 40000, 0.75),
]


@pytest.mark.parametrize("name,keys,n,no_learning", LEARN)
def test_short_runs_learn(name, keys, n, no_learning):
    tr = Training(config.load(name, dict(stop="none", **keys)))
    tr.advance(n)
    assert tr.evaluate(1000)["test_mse"] < 0.3 * no_learning


def test_reber_learns():
    tr = Training(config.load("reber", dict(blocks="3x2", lr=0.5)))
    before = tr.evaluate(256)
    assert before["test_size"] == 256 and before["test_wrong"] == 256  # the whole test set
    tr.advance(4000)
    assert tr.evaluate(256)["test_mean_abs_error"] < 0.4 * before["test_mean_abs_error"]
    # per-step updates learn the long lag too (a finding: per-sequence updates have not, in
    # runs of 40,000 strings; see docs/tasks.md)
    tr = Training(config.load("reber", dict(blocks="3x2", lr=0.5, update="step")))
    tr.advance(10000)
    assert tr.evaluate(256)["test_wrong"] < 20


# ---- whole runs from the command line, printed beside the paper's row --------------------------
def test_cli_run_prints_the_result_beside_the_paper(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lstmsim", "task=twoseq", "T=10", "N=1",
                        "max_sequences=20000", "test_every=500", "progress=plain",
                        f"out={tmp_path}"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith("twoseq seed=0: solved after") and "ST1 at" in line and "ST2 at" in line
    assert "| paper" not in line  # T=10 is not a row of Table 4
    s = lstmsim.run("twoseq", T=10, N=1, max_sequences=20000, test_every=500, progress="none",
                    out=str(tmp_path))
    assert s["criteria_first_met"]["ST1"] <= s["criteria_first_met"]["ST2"] == s["sequences_to_solve"]
    s["paper"] = paper_row(config.load("twoseq"))
    assert "| paper (Table 4, mean of 10 trials): ST1 after 27,380, ST2 after 39,850" in result_line(s)


def test_reber_run_uses_both_fixed_sets(tmp_path):
    s = lstmsim.run("reber", blocks="3x2", lr=0.5, max_sequences=300, progress="none",
                    out=str(tmp_path))
    assert s["test_size"] == 256 and s["correct_rule"] == "rank"
    assert [e["sequences"] for e in s["evaluations"]] == [100, 200, 300]
    assert all(e["train_wrong"] > 0 for e in s["evaluations"])
    assert "(rank rule)" in result_line(s) and "Table 1" in result_line(s)


def test_multiplication_result_line_shows_both_evaluation_points(tmp_path):
    s = lstmsim.run("multiplication", T=12, nseq_levels=[2000, 1999], threshold=2.0,
                    max_sequences=3000, test_size=100, progress="none", out=str(tmp_path))
    assert [e["level"] for e in s["evaluations"]] == [2000, 1999]
    s["paper"] = paper_row(config.load("multiplication"))
    line = result_line(s)
    assert "n_seq=2000 at 2,000" in line and "n_seq=140: success after 482,000" in line


def test_list_shows_every_task():
    r = subprocess.run([sys.executable, "-m", "lstmsim", "list"], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0
    for name in TASKS:
        assert name in r.stdout
    for text in ("39,740", "5,040", "5,680", "31,000", "27,380", "482,000", "31,390", "571,100",
                 "blocks=4x1|3x2", "variant=a|b|c", "target=next"):
        assert text in r.stdout, text
