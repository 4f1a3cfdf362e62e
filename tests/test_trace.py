"""trace.h5: round trip, replay, crash safety, live reading, xarray, inspect and plot (issue 4)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import lstmsim
from lstmsim import cli, config
from lstmsim.kernel import make_scratch, rec_width, run_sequence
from lstmsim.network import copy_net
from lstmsim.train_loop import I_SEQS, new_recorder
from lstmsim.training import Training

ROOT = Path(__file__).resolve().parent.parent
TRACE = dict(first=2, every=97, test=2, weights_every=50)
SMALL = dict(T=20, max_sequences=400, test_size=30, stop="none", progress="none",
             **{f"trace.{k}": v for k, v in TRACE.items()})


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    summary = lstmsim.run("adding", seed=4, out=str(out), **SMALL)
    return Path(summary["run_dir"]), summary


def replicate(cfg, n, first, every, snap_every, test_n):
    """The same run without a trace: the compiled loop called directly, results collected here."""
    tr = Training(cfg)
    rec = tr.recorder = new_recorder(rec_width(tr.net), 20000, 1000)
    rules = tr.rules._replace(rec_first=first, rec_every=every)
    logs, snaps = [], [(0, tr.net.W_h.copy(), tr.net.W_o.copy())]
    while tr.stop.ints[I_SEQS] < n:
        seqs = int(tr.stop.ints[I_SEQS])
        done, _, _ = tr.advance(min(snap_every - seqs % snap_every, n - seqs), rules)
        logs.append({k: getattr(tr.log, k)[:done].copy() for k in tr.log._fields})
        if tr.stop.ints[I_SEQS] % snap_every == 0:
            snaps.append((int(tr.stop.ints[I_SEQS]), tr.net.W_h.copy(), tr.net.W_o.copy()))
    log = {k: np.concatenate([chunk[k] for chunk in logs]) for k in logs[0]}
    test_rec = new_recorder(rec_width(tr.net), test_n * tr.max_length, test_n)
    test = tr.evaluate(int(cfg.test_size), recorder=test_rec)
    return tr, log, rec, snaps, test, test_rec


def rows_of(trace_steps):
    """Trace per-step arrays back in the recorder's column layout."""
    d = trace_steps
    target = np.where(d["has_target"][:, None] == 1, d["target"], 0.0)
    return np.column_stack([d["x"], target, d["has_target"], d["s"], d["y_c"], d["y_in"],
                            d["y_out"], d["y_k"]])


# ---- round trip ----------------------------------------------------------------------------------
def test_round_trip_equals_a_separate_computation(run):
    run_dir, summary = run
    t = lstmsim.load_trace(run_dir)
    cfg = config.load("adding", dict(seed=4, **SMALL))
    tr, log, rec, snaps, test, test_rec = replicate(cfg, 400, 2, 97, 50, 2)
    # every sequence: results and the global step counter
    assert np.array_equal(t.train["sequence"], np.arange(400))
    assert np.array_equal(t.train["length"], log["length"])
    for name, field in (("abs_error", "abs_err"), ("sq_error", "sq_err"),
                        ("max_abs_error", "max_abs"), ("correct", "correct")):
        assert np.array_equal(t.train[name], log[field]), name
    assert np.array_equal(t.train["steps"], np.cumsum(log["length"]))
    # per-step records of the traced sequences
    n_seq, n_rows = (int(v) for v in rec.count)
    assert list(t.train_trace.sequences) == list(rec.seq[:n_seq]) == [0, 1, 97, 194, 291, 388]
    assert np.array_equal(t.train_trace.start, rec.start[:n_seq])
    assert np.array_equal(rows_of(t.train_trace.data), _zero_free(rec.rows[:n_rows]))
    assert np.array_equal(t.train_trace.data["sequence"], np.repeat(rec.seq[:n_seq], t.train_trace.length))
    # weights: initial, every 50, final; labelled
    assert list(t.weights["sequences"]) == [s for s, _, _ in snaps] + [400]
    assert list(t.weights["kind"]) == [0] + [1] * (len(snaps) - 1) + [2]
    for i, (_, W_h, W_o) in enumerate(snaps):
        assert np.array_equal(t.weights["W_h"][i], W_h) and np.array_equal(t.weights["W_o"][i], W_o)
    assert np.array_equal(t.weights["W_h"][-1], tr.net.W_h)
    assert np.array_equal(t.weights["M_h"], tr.net.M_h) and np.array_equal(t.weights["M_o"], tr.net.M_o)
    names = tr.topology.unit_names()
    assert t.labels["row"] == names["rows"] and t.labels["source"] == names["sources"]
    assert t.labels["out_source"] == names["out_sources"] and t.labels["output"] == names["outputs"]
    # test results and test traces
    assert np.array_equal(t.test["abs_error"], test["arrays"]["abs_err"])
    assert np.array_equal(t.test["correct"], test["arrays"]["correct"])
    assert list(t.test_trace.sequences) == [0, 1]
    n_rows = int(test_rec.count[1])
    assert np.array_equal(rows_of(t.test_trace.data), _zero_free(test_rec.rows[:n_rows]))
    # self-description
    a = t.attrs
    assert a["format"] == "lstmsim-trace" and a["seed"] == 4 and a["status"] == "completed"
    assert a["config"]["T"] == 20 and a["topology"]["block_sizes"] == [2, 2]
    assert a["numba_version"] and a["h5py_version"] and a["start_time"] and a["end_time"]
    assert a["summary"]["sequences_trained"] == summary["sequences_trained"]


def _zero_free(rows):
    """Recorded rows with the (stale) targets of steps without a target set to 0."""
    rows = rows.copy()
    n_in, has_col = 2, 3
    rows[rows[:, has_col] == 0, n_in] = 0.0
    return rows


def test_traced_steps_equal_the_kernel_on_the_recorded_weights(run):
    """Per-step records of traced sequences, against run_sequence called on its own."""
    t = lstmsim.load_trace(run[0])
    assert list(t.train_trace.sequences) == [0, 1, 97, 194, 291, 388]
    cfg = config.load("adding", dict(seed=4, **SMALL))
    tr = Training(cfg)
    net = copy_net(tr.net)._replace(W_h=t.weights["W_h"][0].copy(), W_o=t.weights["W_o"][0].copy())
    sc = make_scratch(net)
    d = t.train_trace.get(0)  # the first sequence runs on the initial weights
    L = len(d["t"])
    X, Y = d["x"].copy(), np.nan_to_num(d["target"])
    rec = np.zeros((L, rec_width(net)))
    run_sequence(net, sc, X, Y, Y, d["has_target"].copy(), L, float(cfg.lr), True, 0, 0.0, 0,
                 float(cfg.threshold), 0, rec, 0)
    assert np.array_equal(rows_of(d), _zero_free(rec))
    assert np.array_equal(d["error"][-1], d["target"][-1] - d["y_k"][-1])
    assert np.all(np.isnan(d["error"][:-1])) and d["has_target"][-1] == 1
    assert sc.stats[0] == t.train["abs_error"][0]


def test_trace_disabled_writes_no_file(tmp_path):
    s = lstmsim.run("adding", out=str(tmp_path), **{**SMALL, "trace.enabled": False})
    assert not (Path(s["run_dir"]) / "trace.h5").exists()


# ---- replay --------------------------------------------------------------------------------------
def test_replay_reproduces_weights_bit_for_bit(tmp_path):
    src = lstmsim.run("adding", seed=7, out=str(tmp_path), **{**SMALL, "trace.inputs": "all",
                                                              "max_sequences": 300})
    rep = lstmsim.run("replay", source=src["run_dir"], out=str(tmp_path), progress="none")
    a, b = lstmsim.load_trace(src["run_dir"]), lstmsim.load_trace(rep["run_dir"])
    assert rep["sequences_trained"] == 300 and b.attrs["kind"] == "replay"
    for key in ("W_h", "W_o", "sequences", "kind"):
        assert np.array_equal(a.weights[key], b.weights[key]), key
    for key in a.train:
        assert np.array_equal(a.train[key], b.train[key]), key
    for key in a.train_trace.data:
        assert np.array_equal(a.train_trace.data[key], b.train_trace.data[key], equal_nan=True), key
    wa, wb = np.load(f"{src['run_dir']}/weights.npz"), np.load(f"{rep['run_dir']}/weights.npz")
    assert np.array_equal(wa["W_h"], wb["W_h"]) and np.array_equal(wa["W_o"], wb["W_o"])
    # its test re-feeds the traced test sequences: the source's first test results
    assert np.array_equal(b.test["abs_error"], a.test["abs_error"][:2])


def test_replay_of_the_traced_prefix(tmp_path):
    """Without trace.inputs=all, the first trace.first sequences are replayed exactly."""
    src = lstmsim.run("adding", seed=8, out=str(tmp_path),
                      **{**SMALL, "trace.first": 5, "trace.weights_every": 5, "max_sequences": 20})
    rep = lstmsim.run("replay", source=src["run_dir"], out=str(tmp_path), progress="none")
    a, b = lstmsim.load_trace(src["run_dir"]), lstmsim.load_trace(rep["run_dir"])
    assert rep["sequences_trained"] == 5
    assert a.weights["sequences"][1] == 5
    assert np.array_equal(b.weights["W_h"][-1], a.weights["W_h"][1])
    for seq in range(5):
        for key, value in a.train_trace.get(seq).items():
            assert np.array_equal(value, b.train_trace.get(seq)[key], equal_nan=True)


def test_init_from_a_trace(run, tmp_path):
    t = lstmsim.load_trace(run[0])
    s = lstmsim.run("adding", seed=99, init=str(run[0]), out=str(tmp_path), **SMALL)
    w = np.load(f"{s['run_dir']}/weights.npz")
    assert np.array_equal(w["W_h_initial"], t.weights["W_h"][0])
    assert np.array_equal(w["W_o_initial"], t.weights["W_o"][0])


@pytest.mark.parametrize("args,message", [
    (["blocks=3x1"], "network differs"),
    (["init=/nonexistent/trace.h5"], "no such trace file"),
])
def test_init_mismatch_is_one_line(run, tmp_path, capsys, args, message):
    args = [a.replace("RUN", str(run[0])) for a in args]
    if not any(a.startswith("init=") for a in args):
        args.append(f"init={run[0]}")
    assert cli.main([*args, f"out={tmp_path}", "progress=none", "T=20"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not any(tmp_path.iterdir())


def test_replay_without_source_is_one_line(capsys):
    assert cli.main(["task=replay"]) == 2
    assert "needs source=PATH" in capsys.readouterr().err


# ---- crash safety and live reading ----------------------------------------------------------------
def test_killed_run_leaves_a_readable_trace_holding_what_was_flushed(tmp_path):
    cmd = [sys.executable, "-m", "lstmsim", "T=20", "seed=2", "max_sequences=100000000",
           "stop=none", "progress=none", f"out={tmp_path}"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        path = _wait_for(lambda: next(iter(tmp_path.glob("adding/*/trace.h5")), None), proc)
        seen = _wait_for(lambda: _rows(path) if _rows(path) >= 4096 else None, proc)
        # a second process (this one) sees rows arrive while the run writes
        with h5py.File(path, "r", swmr=True) as f:
            ds = f["train/abs_error"]
            first = ds.shape[0]

            def grown():
                ds.refresh()
                return ds.shape[0] if ds.shape[0] > first else None

            more = _wait_for(grown, proc)
        assert more > first >= seen
        live = lstmsim.load_trace(path)
        assert live.status == "running" and len(live.train["length"]) >= more
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    t = lstmsim.load_trace(path)  # opens after SIGKILL ...
    n = len(t.train["length"])
    assert n >= more  # ... and holds every row flushed before the kill
    assert t.status == "running" and t.weights["kind"][0] == 0
    cfg = config.load("adding", dict(T=20, seed=2, max_sequences=100000000, stop="none"))
    tr = Training(cfg)
    done = 0
    abs_err = []
    while done < n:
        k = tr.advance(n - done)[0]
        abs_err.append(tr.log.abs_err[:k].copy())
        done += k
    assert np.array_equal(t.train["abs_error"], np.concatenate(abs_err))
    assert cli.main(["inspect", str(path.parent)]) == 0


def _rows(path) -> int:
    try:
        with h5py.File(path, "r", swmr=True) as f:
            return f["train/abs_error"].shape[0]
    except (OSError, KeyError):
        return 0


def _wait_for(probe, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = probe()
        if value:
            return value
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    raise AssertionError("timed out")


# ---- xarray -----------------------------------------------------------------------------------------
def test_xarray_opens_groups_with_named_dimensions(run):
    xr = pytest.importorskip("xarray")
    path = run[0] / "trace.h5"
    t = lstmsim.load_trace(path)
    with xr.open_dataset(path, engine="h5netcdf", group="weights") as w:
        assert w["W_h"].dims == ("snapshot", "row", "source")
        assert list(w["source"].values) == t.labels["source"]
        assert np.array_equal(w["W_h"].sel(row="in0", source="bias").values,
                              t.weights["W_h"][:, t.labels["row"].index("in0"), -1])
    with xr.open_dataset(path, engine="h5netcdf", group="train_trace") as d:
        assert d["s"].dims == ("step", "cell") and list(d["cell"].values) == t.labels["cell"]
        assert d["y_in"].dims == ("step", "block") and d["start"].dims == ("traced",)
        assert np.array_equal(d["s"].values, t.train_trace.data["s"])
    with xr.open_dataset(path, engine="h5netcdf", group="train") as d:
        assert d["abs_error"].dims == ("sequence",)
        assert d["abs_error"].attrs["description"]
        assert np.array_equal(d["abs_error"].values, t.train["abs_error"])


# ---- inspect and plot -------------------------------------------------------------------------------
def test_inspect_summarises(run, capsys):
    assert cli.main(["inspect", str(run[0])]) == 0
    out = capsys.readouterr().out
    for text in ("adding (kind adding), seed 4: completed", "learning curve", "final test",
                 "weight snapshots", "c0.0 c0.1 c1.0 c1.1", "0, 1, 97, 194, 291, 388"):
        assert text in out, text


def test_plot_data_equals_the_trace(run, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from lstmsim.inspect_cmd import curve_bins
    from lstmsim.plot_cmd import figure

    t = lstmsim.load_trace(run[0])
    d = t.train_trace.get(97)
    fig = figure(t, "cells", seq=97)
    ax_x, ax_s, ax_y = fig.axes
    for ax, key in ((ax_s, "s"), (ax_y, "y_c")):
        lines = [ln for ln in ax.get_lines() if ln.get_label() in t.labels["cell"]]
        assert [ln.get_label() for ln in lines] == t.labels["cell"]
        for i, ln in enumerate(lines):
            assert np.array_equal(ln.get_xdata(), d["t"]) and np.array_equal(ln.get_ydata(), d[key][:, i])
    marks = sorted({ln.get_xdata()[0] for ln in ax_s.get_lines() if ln.get_linestyle() == "--"})
    assert marks == list(np.flatnonzero(d["x"][:, 1] == 1.0))  # the two marked pairs
    fig = figure(t, "gates", seq=1, phase="test")
    y_in = [ln for ln in fig.axes[1].get_lines() if ln.get_label() == "b1"][0]
    assert np.array_equal(y_in.get_ydata(), t.test_trace.get(1)["y_in"][:, 1])
    fig = figure(t, "curve", bins=10)
    assert np.array_equal(fig.axes[0].get_lines()[0].get_ydata(), curve_bins(t.train, 10)["abs_error"])
    fig = figure(t, "weights")
    first = fig.axes[0].get_lines()[0]  # cell c0.0 fed by x0
    assert np.array_equal(first.get_xdata(), t.weights["sequences"])
    assert np.array_equal(first.get_ydata(), t.weights["W_h"][:, 0, 0])
    out = tmp_path / "cells.png"
    assert cli.main(["plot", str(run[0]), "what=cells", "seq=97", f"out={out}"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out.strip() == str(out)


@pytest.fixture
def bad_files(tmp_path):
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4000))
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    (tmp_path / "empty_run").mkdir()
    return {"missing": tmp_path / "nope.h5", "corrupt": corrupt, "foreign": foreign,
            "folder without trace": tmp_path / "empty_run"}


@pytest.mark.parametrize("command", [["inspect"], ["plot", "what=cells"]])
@pytest.mark.parametrize("which,message", [("missing", "no such trace file"),
                                           ("corrupt", "not a readable HDF5 file"),
                                           ("foreign", "not an lstmsim trace"),
                                           ("folder without trace", "no such trace file")])
def test_bad_trace_files_give_one_line_and_exit_2(bad_files, command, which, message, capsys):
    assert cli.main([command[0], str(bad_files[which]), *command[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and err[0].startswith("lstmsim: error:")


def test_bad_trace_through_the_real_command_line(bad_files):
    r = subprocess.run([sys.executable, "-m", "lstmsim", "plot", str(bad_files["corrupt"])],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr


def test_plot_options_are_checked(run, capsys):
    for args, message in ((["what=nope"], "what='nope'"), (["seq=5"], "seq=5: not traced"),
                          (["colour=red"], "unknown option 'colour'")):
        assert cli.main(["plot", str(run[0]), "what=cells", *args]) == 2
        assert message in capsys.readouterr().err
