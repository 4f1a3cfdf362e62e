"""Sweeps and `reproduce`: executors agree, interrupted sweeps resume, the paper column is the
spec's, bad input gets one line and exit 2. Tiny settings throughout (the whole file takes ~30 s).
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstmsim import paper_tables
from lstmsim import report as report_mod
from lstmsim.cli import main
from lstmsim.errors import UserError
from lstmsim.sweep_api import plan_reproduction, run_sweep, split_axes
from lstmsim.sweep_display import SweepDisplay
from lstmsim.sweep_plan import make_plan, make_settings, split_values
from lstmsim.trial import PROGRESS_FILE, trial_seed

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared" / "spec" / "lstm1997.md"
# a tiny sweep: 2 settings x 3 trials, each trial a few hundredths of a second (no trace.h5:
# writing one costs ~0.2 s a trial; test_reproduce_prints_the_table_side_by_side keeps it)
TINY = dict(task="adding", T=[20, 30], trials=3, seed=7, max_sequences=400, test_size=50,
            lr=2.0, **{"trace.enabled": False})
VOLATILE = ("run_dir", "steps_per_second", "train_seconds", "wall_seconds", "trace_seconds")


def stable(summary: dict) -> dict:
    """A summary without what legitimately differs between runs: timings and paths."""
    return {k: v for k, v in summary.items() if k not in VOLATILE and not k.endswith("_seconds")}


def csv_rows(folder: Path) -> list[dict]:
    import csv

    with open(folder / "results.csv") as fh:
        return [{k: v for k, v in row.items() if k not in VOLATILE} for row in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep, uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("reference")
    result = run_sweep(**TINY, executor="serial", out=str(out), progress="none")
    return result


# ---- seeds and parsing ----------------------------------------------------------------------
def test_trial_seed_is_the_spawned_child():
    for root in (0, 7, 2**40):
        kids = np.random.SeedSequence(root).spawn(5)
        for k, child in enumerate(kids):
            assert trial_seed(root, k) == int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
    seeds = {trial_seed(0, k) for k in range(1000)}
    assert len(seeds) == 1000 and all(0 <= s < 2**63 for s in seeds)


def test_split_values_respects_brackets():
    assert split_values("T", "100,500,1000") == ["100", "500", "1000"]
    assert split_values("in_gate_bias", "[-3,-6]") == ["[-3,-6]"]
    assert split_values("in_gate_bias", "[-3,-6],[-2,-4]") == ["[-3,-6]", "[-2,-4]"]
    for bad in ("100,,500", "[1,2", "1]"):
        with pytest.raises(UserError):
            split_values("x", bad)


def test_python_axes_and_list_valued_keys():
    axes, fixed = split_axes("adding", {"T": [100, 500], "in_gate_bias": [-3, -6], "lr": 0.5})
    assert axes == [("T", [100, 500])] and fixed == {"in_gate_bias": [-3, -6], "lr": 0.5}
    axes, _ = split_axes("adding", {"in_gate_bias": [[-3, -6], [-2, -4]]})
    assert axes == [("in_gate_bias", [[-3, -6], [-2, -4]])]


def test_folder_comes_from_the_definition(tmp_path):
    def plan(tvals, trials, **fixed):
        return make_plan(make_settings(["adding"], [("T", tvals)], fixed, trials), 0, str(tmp_path))

    a = plan(["100", "500"], 3, max_sequences="1000")
    assert a.folder == plan([500, 100], 10, max_sequences=1000).folder  # order, trials, types
    assert a.folder != plan(["100", "500"], 3, max_sequences="2000").folder
    assert a.folder.parent == tmp_path / "sweeps" and a.folder.name.startswith("adding-")
    assert [t.run_dir.relative_to(a.folder).as_posix() for t in a.trials[:3]] == [
        "adding_T=100/trial-000", "adding_T=500/trial-000", "adding_T=100/trial-001"]
    assert a.trials[0].seed == a.trials[1].seed == trial_seed(0, 0)  # same seed per trial index


# ---- executors agree ------------------------------------------------------------------------
@pytest.mark.parametrize("executor", ["local", "dask"])
def test_executors_give_identical_trials(executor, reference, tmp_path):
    if executor == "dask":
        pytest.importorskip("distributed")
    result = run_sweep(**TINY, executor=executor, workers=2, out=str(tmp_path), progress="none")
    assert result.errors == 0 and result.ran == 6
    assert [stable(s) for s in result.summaries] == [stable(s) for s in reference.summaries]
    assert csv_rows(result.plan.folder) == csv_rows(reference.plan.folder)
    for s in result.summaries:  # each trial in its own folder, progress file cleaned up
        run_dir = Path(s["run_dir"])
        assert run_dir.parent.parent == result.plan.folder
        assert {"config.yaml", "summary.json", "weights.npz"} <= {p.name for p in run_dir.iterdir()}
        assert not (run_dir / PROGRESS_FILE).exists()


# ---- restarting -----------------------------------------------------------------------------
def test_interrupted_sweep_resumes_without_redoing_finished_trials(reference, tmp_path):
    first = run_sweep(**TINY, executor="serial", out=str(tmp_path), progress="none")
    dirs = [Path(s["run_dir"]) for s in first.summaries]
    # simulate an interruption: one trial never started, one stopped mid-run (config and a
    # half-written file, no summary), one with a torn summary
    import shutil

    shutil.rmtree(dirs[5])
    (dirs[4] / "summary.json").unlink()
    (dirs[4] / "weights.npz.tmp.npz").write_bytes(b"partial")
    (dirs[3] / "summary.json").write_text('{"status": "sol')
    kept = {i: (dirs[i] / "summary.json").stat().st_mtime_ns for i in range(3)}
    second = run_sweep(**TINY, executor="serial", out=str(tmp_path), progress="none")
    assert (second.ran, second.reused) == (3, 3)
    assert {i: (dirs[i] / "summary.json").stat().st_mtime_ns for i in range(3)} == kept
    assert not (dirs[4] / "weights.npz.tmp.npz").exists()
    assert [stable(s) for s in second.summaries] == [stable(s) for s in reference.summaries]
    assert csv_rows(second.plan.folder) == csv_rows(reference.plan.folder)
    third = run_sweep(**TINY, executor="serial", out=str(tmp_path), progress="none")
    assert (third.ran, third.reused) == (0, 6)


def test_a_changed_config_is_not_reused(tmp_path):
    args = dict(task="adding", T=20, trials=1, max_sequences=100, test_size=10, executor="serial",
                out=str(tmp_path), progress="none", **{"trace.enabled": False})
    first = run_sweep(**args)
    config = Path(first.summaries[0]["run_dir"]) / "config.yaml"
    config.write_text(config.read_text().replace("lr: 0.5", "lr: 0.25"))
    again = run_sweep(**args)
    assert (again.ran, again.reused) == (1, 0)


def test_killed_sweep_resumes(reference, tmp_path):
    """A real interruption: SIGKILL the sweep process once a trial has finished."""
    cmd = [sys.executable, "-m", "lstmsim", "sweep", "task=adding", "T=20,30", "trials=3", "seed=7",
           "max_sequences=400", "test_size=50", "lr=2.0", "trace.enabled=false", "executor=serial",
           "progress=plain",
           f"out={tmp_path}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    try:
        for line in proc.stderr:
            if line.startswith("[1/6]"):
                proc.kill()
                break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    folder = reference.plan.folder.name
    done_before = {p.parent: p.stat().st_mtime_ns
                   for p in (tmp_path / "sweeps" / folder).glob("*/trial-*/summary.json")}
    assert done_before, "the first trial should have finished before the kill"
    resumed = run_sweep(**TINY, executor="serial", out=str(tmp_path), progress="none")
    assert resumed.reused >= len(done_before) and resumed.ran + resumed.reused == 6
    for run_dir, mtime in done_before.items():
        assert (run_dir / "summary.json").stat().st_mtime_ns == mtime
    assert [stable(s) for s in resumed.summaries] == [stable(s) for s in reference.summaries]


# ---- results and the paper's numbers --------------------------------------------------------
def test_results_csv_and_report(reference):
    folder = reference.plan.folder
    rows = list(csv_rows(folder))
    assert [(r["T"], r["trial"]) for r in rows] == [("20", "0"), ("30", "0"), ("20", "1"),
                                                     ("30", "1"), ("20", "2"), ("30", "2")]
    for key in ("seed", "status", "solved", "sequences_to_solve", "test_wrong", "test_wrong_abs",
                "test_wrong_squared", "test_mean_abs_error", "test_mse"):
        assert key in rows[0]
    text = (folder / "report.md").read_text()
    assert "correct=abs" in text and "wrong squared" in text and "| T=20 | 3 |" in text
    info = json.loads((folder / "sweep.json").read_text())
    assert info["root_seed"] == 7 and len(info["settings"]) == 2


def test_rows_from_the_summaries_a_script_gets(reference):
    rows = report_mod.rows_from_summaries(reference.summaries)
    assert [(r.label, r.stats["ran"]) for r in rows] == [("adding T=20", 3), ("adding T=30", 3)]
    assert all(r.paper is None for r in rows)  # Table 7 has no T = 20 or 30 row
    s = dict(reference.summaries[0], setting={"task": "adding", "T": 100})
    (row,) = report_mod.rows_from_summaries([s])
    assert row.paper["success_after"] == 74000 and row.paper_trials == 10


def _spec_tables() -> dict[int, list[dict]]:
    """The markdown tables of spec §5, as lists of {header: cell}."""
    text = SPEC.read_text()
    section = text[text.index("## 5. Result tables"):text.index("## 6.")]
    tables = {}
    for m in re.finditer(r"### Table (\d+) —.*?\n(.*?)(?=\n### |\Z)", section, re.S):
        lines = [l for l in m.group(2).splitlines() if l.startswith("|")]
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        tables[int(m.group(1))] = [dict(zip(header, (c.strip() for c in l.strip("|").split("|"))))
                                   for l in lines[2:]]
    tables[2].append({"Method": "LSTM", "% successful trials": "100", "Success after": re.search(
        r"Exp. 2b.*?mean \*\*([\d,]+)\*\*", section, re.S).group(1)})
    return tables


def _n(cell: str) -> float:
    return float(cell.split(" out of")[0].replace(",", ""))


def _expected(n: int, spec_row: dict) -> dict:
    """The canonical paper numbers (lstmsim.paper_tables) of one spec row."""
    col = {k.lower(): v for k, v in spec_row.items()}
    out = {}
    for key, names in (("success_after", ("success after", "stop: st2", "stop")),
                       ("st1", ("stop: st1",)), ("success_pct", ("% of success", "% successful trials")),
                       ("wrong", ("# wrong predictions",)),
                       ("misclassified", ("st2: fraction misclassified", "fraction misclassified")),
                       ("mse", ("mse",)), ("avg_diff", ("av. difference to mean",))):
        for name in names:
            if name in col:
                out[key] = _n(col[name])
                break
    return out


@pytest.mark.skipif(not SPEC.is_file(), reason="the project spec (../shared/spec) is not here")
def test_paper_numbers_match_the_spec_tables():
    spec = _spec_tables()
    for n in range(1, 10):
        rows = spec[n]
        if n in (1, 2):
            rows = [r for r in rows if r.get("method", r.get("Method")) == "LSTM"]
        tab = paper_tables.table(n)  # numbers from the presets where they have them
        lstm_rows = [r for r in tab.rows if r.method == "LSTM"]  # competitors: test_baselines.py
        assert len(lstm_rows) == len(rows), n
        for ours, theirs in zip(lstm_rows, rows):
            want = _expected(n, theirs)
            got = {k: float(v) for k, v in ours.numbers.items()}
            assert got == want, (n, ours.label, ours.source)
            # and what a report prints in its paper columns
            row = report_mod.ReportRow(ours.label, [], paper=ours.numbers, paper_trials=ours.trials)
            md = report_mod.markdown("t", [], [row])
            speed = next(l for l in md.splitlines() if l.startswith(f"| {ours.label} |"))
            assert speed.split("|")[9].strip() == f"{round(want['success_after']):,}"
            if "wrong" in want:
                assert f"| {int(want['wrong'])} of 2560 |" in md


def test_reproduce_prints_the_table_side_by_side(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lstmsim", "reproduce", "table=7", "T=100",
                        "trials=2", "max_sequences=300", "test_size=20", "workers=2",
                        f"out={tmp_path}", "progress=none"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Table 7" in r.stdout and "74,000 (10)" in r.stdout and "1 of 2560" in r.stdout
    folder = Path(r.stdout.strip().splitlines()[-1])
    assert folder.name.startswith("table7-")
    report = (folder / "report.md").read_text()
    assert "| T = 100 | 2 |" in report and "| 74,000 |" in report
    assert len(csv_rows(folder)) == 2
    assert len(list(folder.glob("*/trial-*/trace.h5"))) == 2  # each trial: config, summary, trace


def test_reproduce_selects_rows_and_uses_the_paper_trial_counts(tmp_path):
    plan, rows = plan_reproduction(9, out=str(tmp_path))
    assert [(s.task, s.trials) for s in plan.settings] == [("order6a", 20), ("order6b", 10)]
    assert plan.folder.name.startswith("table9-") and len(plan.trials) == 30
    plan, rows = plan_reproduction(9, trials=3, task="order6a", max_sequences=1000, out=str(tmp_path))
    assert [(s.task, s.trials) for s in plan.settings] == [("order6a", 3)]
    assert plan.settings[0].base_config["max_sequences"] == 1000
    plan, rows = plan_reproduction(8, out=str(tmp_path))  # two rows, one setting
    assert len(plan.settings) == 1 and [r.level for r in rows] == [140, 13]
    plan, rows = plan_reproduction(7, T="100,1000", out=str(tmp_path))
    assert [s.base_config["T"] for s in plan.settings] == [100, 1000]
    assert not any(tmp_path.iterdir())  # planning writes nothing


def test_a_table_whose_preset_is_missing_is_refused():
    tab = paper_tables.PaperTable(99, "x", (paper_tables.PaperRow("nosuch", {}, 1, {}),))
    with pytest.raises(UserError, match="table 99 needs task 'nosuch'"):
        paper_tables.require_presets(tab)


# ---- the display ------------------------------------------------------------------------------
def test_display_shows_done_running_solved_and_sequences(tmp_path):
    from rich.console import Console

    run_dir = tmp_path / "trial-000"
    run_dir.mkdir()
    (run_dir / PROGRESS_FILE).write_text(json.dumps(
        {"sequences": 12345, "avg_error": 0.1, "wrong": 3, "window": 2000, "phase": "training"}))
    d = SweepDisplay("none", "demo", total=4, reused=1)
    d.submitted("a", "T=100 #1", run_dir)
    d.submitted("b", "T=100 #2", tmp_path / "not-started")
    d.finished("c", "T=100 #3: solved", solved=True)
    console = Console(file=open(os.devnull, "w"), width=120, record=True)
    console.print(d._render())
    text = console.export_text()
    assert "done 2/4" in text and "running 1" in text and "solved 1" in text and "12,345" in text
    assert "2/4 done, 1 running, 1 solved: T=100 #1 12,345 seq" in d._status_line()


# ---- bad input ------------------------------------------------------------------------------
BAD = [
    (["sweep", "T=100,abc"], "T='abc': expected integer"),
    (["sweep", "trials=0"], "trials='0'"),
    (["sweep", "workers=0"], "workers='0'"),
    (["sweep", "executor=foo"], "executor='foo': choose one of"),
    (["sweep", "executor=dask://nohostport"], "expected dask://HOST:PORT"),
    (["sweep", "seed=1,2"], "seed='1,2'"),
    (["sweep", "T=100,,500"], "empty value"),
    (["sweep", "task=nosuch"], "unknown task 'nosuch'"),
    (["reproduce"], "reproduce needs table=N"),
    (["reproduce", "table=12"], "table='12'"),
    (["reproduce", "table=7", "T=300"], "table 7 has no row with T=300"),
    (["reproduce", "table=7", "lr=0.1,0.2"], "give one value"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_sweep_input_gives_one_line_and_exit_2(args, message, tmp_path, capsys):
    assert main([*args, f"out={tmp_path}", "progress=none"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not any(tmp_path.iterdir())


def test_unreachable_scheduler_gives_one_line_and_exit_2(tmp_path):
    pytest.importorskip("distributed")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "lstmsim", "sweep", "T=20", "executor=dask://127.0.0.1:9",
                        f"out={tmp_path}", "progress=plain"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, env={**os.environ, "LSTMSIM_CONNECT_TIMEOUT": "1"})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in lines[0]
    assert not any(tmp_path.iterdir()) and time.monotonic() - t0 < 30


# ---- which trials share a lane kernel ----------------------------------------------------------
def test_table_7s_rows_share_balanced_batches_whose_lanes_take_the_longest_trials_first(tmp_path):
    """Table 7's rows (adding at T = 100, 500, 1000) fit one lane kernel: on 2 workers its 30
    trials make 2 batches of 15 with 8 lanes each (not 6 batches of 5 lanes, one per row and
    worker), each batch with the same work and its longest trials first; the same for Table 3's
    rows (2c, q from 50 to 1000: sequence lengths without a T key). Settings whose learning
    rules differ (lr) never share a batch, and an explicit lane count is filled before the
    trials are spread over the workers."""
    from lstmsim.sweep_api import plan_reproduction
    from lstmsim.sweep_batches import lanes_of, make_batches, setting_work

    def work(plan, i):
        return setting_work(plan.settings[plan.trials[i].setting])

    plan, _ = plan_reproduction(7, None, 0, str(tmp_path))
    batches = make_batches(plan, list(range(len(plan.trials))), 2, "auto")
    assert sorted(len(b) for b in batches) == [15, 15]
    assert [lanes_of(b, "auto") for b in batches] == [8, 8]
    assert sorted(i for b in batches for i in b) == list(range(30))
    for b in batches:
        assert [work(plan, i) for i in b] == sorted((work(plan, i) for i in b), reverse=True)
        assert {plan.settings[plan.trials[i].setting].resolved["T"] for i in b} == {100, 500, 1000}
    assert len({sum(work(plan, i) for i in b) for b in batches}) == 1

    plan, _ = plan_reproduction(3, None, 0, str(tmp_path))
    shared = [b for b in make_batches(plan, list(range(len(plan.trials))), 2, "auto") if len(b) > 1]
    assert shared and any(len({work(plan, i) for i in b}) > 1 for b in shared)
    for b in shared:
        assert [work(plan, i) for i in b] == sorted((work(plan, i) for i in b), reverse=True)

    plan = make_plan(make_settings(["adding"], [], {"T": 50}, 3), 0, str(tmp_path))
    assert make_batches(plan, [0, 1, 2], 2, 3) == [[0, 1, 2]]
    assert sorted(map(len, make_batches(plan, [0, 1, 2], 2, "auto"))) == [1, 2]

    settings = make_settings(["adding"], [("lr", [0.5, 0.1])], {"T": 50}, 4)
    plan = make_plan(settings, 0, str(tmp_path))
    for workers, n in ((1, [4, 4]), (2, [2, 2, 2, 2])):
        batches = make_batches(plan, list(range(len(plan.trials))), workers, "auto")
        assert sorted(len(b) for b in batches) == n
        assert all(len({plan.trials[i].setting for i in b}) == 1 for b in batches)


def test_lanes_auto_runs_trials_of_nets_with_big_output_layers_alone(tmp_path):
    """With lanes=auto the trials of one setting share a lane kernel, except on nets with more
    output weights than LANES_MAX_OUTPUT_WEIGHTS (Exp. 2a at p = 100: 101 x 103), where the lanes
    ran slower than the trials alone; an explicit lane count is still obeyed."""
    from lstmsim.sweep_plan import LANES_MAX_OUTPUT_WEIGHTS
    from lstmsim.sweep_batches import _output_weights, make_batches

    settings = make_settings(["adding"], [], {}, 3) + make_settings(["lag2a"], [("p", [4, 100])],
                                                                    {}, 3)
    plan = make_plan(settings, 0, str(tmp_path))
    sizes = {(s.task, s.resolved.get("p")): _output_weights(s) for s in plan.settings}
    assert sizes == {("adding", None): 7, ("lag2a", 4): 5 * 7, ("lag2a", 100): 101 * 103}
    assert sizes[("lag2a", 4)] <= LANES_MAX_OUTPUT_WEIGHTS < sizes[("lag2a", 100)]
    for lanes, big in (("auto", [1, 1, 1]), (8, [3])):
        batches = make_batches(plan, list(range(len(plan.trials))), 1, lanes)
        by_setting = {}
        for b in batches:
            key = plan.settings[plan.trials[b[0]].setting]
            assert {plan.trials[i].setting for i in b} == {plan.trials[b[0]].setting}
            by_setting.setdefault((key.task, key.resolved.get("p")), []).append(len(b))
        assert by_setting == {("adding", None): [3], ("lag2a", 4): [3], ("lag2a", 100): big}


def test_the_trials_of_a_running_batch_are_reported_as_each_ends(tmp_path, monkeypatch):
    """A batch's result comes back when all its trials have ended; each trial is reported (counts,
    its line, its summary in the results) as soon as its summary.json is written, and only once.
    A fake executor runs the batch's first trial, then waits until the sweep has reported it
    before running the second."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from lstmsim import sweep_run
    from lstmsim.trial import run_trial

    monkeypatch.setattr(sweep_run, "EARLY_LOOK_SECONDS", 0.0)
    plan = make_plan(make_settings(["adding"], [], {"T": 20, "max_sequences": 40,
                                                    "test_size": 5, "progress": "none"}, 2),
                     0, str(tmp_path))
    first_reported = threading.Event()
    waited = []

    class Display:
        finished_keys: list = []

        def submitted(self, key, label, run_dir):
            pass

        def finished(self, key, line, solved, error=False):
            self.finished_keys.append(key)
            first_reported.set()

        def tick(self):
            pass

    returned = []

    def batch(specs):
        first = run_trial(specs[0])
        waited.append(first_reported.wait(timeout=60))
        returned.extend([first, run_trial(specs[1])])
        return returned

    class Executor:
        pool = ThreadPoolExecutor(1)

        def submit(self, fn, specs, n_lanes):
            return self.pool.submit(batch, specs)

    results, display = {}, Display()
    errors = sweep_run._run(plan, [[0, 1]], results, Executor(), "local", display, 2)
    assert errors == 0 and waited == [True]
    assert display.finished_keys == [0, 1]
    assert sorted(results) == [0, 1]
    for i, r in enumerate(returned):  # what was reported early is what the batch returned
        assert {k: v for k, v in results[i].items() if k != "run_dir"} == \
               {k: v for k, v in json.loads(json.dumps(r["summary"])).items() if k != "run_dir"}
