"""Reliability (issue 6): checkpoints, resume after SIGKILL, divergence, concurrent runs.

A resumed run must end bit-identical to the same run never interrupted: weights.npz, summary.json
(but its timing fields) and every dataset of trace.h5.
"""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import lstmsim
from lstmsim import checkpoint, cli
from lstmsim.errors import UserError
from lstmsim.train_loop import I_SEQS

ROOT = Path(__file__).resolve().parent.parent
VOLATILE = {"run_dir", "steps_per_second", "train_seconds", "wall_seconds"}


# ---- helpers ------------------------------------------------------------------------------------
def start(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "lstmsim", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def the_run(out: Path) -> Path:
    runs = list(out.glob("*/*/config.yaml"))
    assert len(runs) == 1, runs
    return runs[0].parent


def ck_sequences(run: Path) -> int:
    try:
        with np.load(run / checkpoint.FILE_NAME) as z:
            return int(z["stop/ints"][I_SEQS])
    except (OSError, KeyError, ValueError):
        return -1


def wait_for(probe, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = probe()
        if value:
            return value
        if proc.poll() is not None:
            return None
        time.sleep(0.02)
    raise AssertionError("timed out")


def trace_datasets(path: Path) -> dict:
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        status = f.attrs["status"]
    return out, status


def assert_same_run(a: Path, b: Path, trace: bool = True) -> None:
    sa, sb = (json.loads((r / "summary.json").read_text()) for r in (a, b))
    assert {k: v for k, v in sa.items() if k not in VOLATILE} == \
           {k: v for k, v in sb.items() if k not in VOLATILE}
    with np.load(a / "weights.npz") as wa, np.load(b / "weights.npz") as wb:
        assert sorted(wa.files) == sorted(wb.files)
        for k in wa.files:
            assert np.array_equal(wa[k], wb[k]), k
    if trace:
        (da, status_a), (db, status_b) = trace_datasets(a / "trace.h5"), trace_datasets(b / "trace.h5")
        assert status_a == status_b == sa["status"]
        assert sorted(da) == sorted(db)
        for name in da:
            assert da[name].shape == db[name].shape, name
            assert np.array_equal(da[name], db[name],
                                  equal_nan=da[name].dtype.kind == "f"), name
        n = sa["sequences_trained"]
        assert len(da["train/length"]) == n  # no sequence missing or twice
        assert np.array_equal(da["train/steps"], np.cumsum(da["train/length"]))


# ---- SIGKILL at random moments ------------------------------------------------------------------
KILL_RUN = ["task=adding", "T=20", "seed=3", "max_sequences=900000", "stop=none", "update=delayed",
            "checkpoint_every=90000", "checkpoint_seconds=0.7", "test_size=200", "progress=none"]


def test_sigkill_at_random_points_then_resume_is_bit_identical(tmp_path):
    seed = int(os.environ.get("LSTMSIM_KILL_SEED", time.time_ns() % 100000))
    rng = random.Random(seed)
    ref = lstmsim.run(**dict(a.split("=", 1) for a in KILL_RUN), out=str(tmp_path / "ref"))
    out = tmp_path / "killed"
    proc = start(*KILL_RUN, f"out={out}")
    run, kills, last = None, [], -1
    try:
        for i in range(3):
            if run is None:
                found = wait_for(lambda: next(iter(out.glob("*/*/checkpoint.npz")), None), proc)
                if found is None:
                    break
                run = found.parent
            if i == 1:  # anywhere in the resumed process: start-up, rebuilding the trace, training
                time.sleep(rng.uniform(0.2, 2.0))
            else:  # after a new checkpoint
                if not wait_for(lambda: ck_sequences(run) > last, proc):
                    break  # the run finished before this kill
                if i == 0:  # a run that is still writing cannot be resumed by another process
                    assert cli.main(["resume", str(run)]) == 2
                time.sleep(rng.uniform(0.0, 0.5))
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            if proc.returncode != -signal.SIGKILL:
                break
            with h5py.File(run / "trace.h5", "r", swmr=True) as f:
                rows = f["train/length"].shape[0]
            last = ck_sequences(run)
            assert rows >= last  # everything up to the checkpoint is in the trace
            kills.append((last, rows))
            if (run / "summary.json").exists():  # killed after it had finished
                proc = None
                break
            proc = start("resume", str(run))
        if proc is not None:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err.decode()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
    print(f"kill seed {seed}: (checkpoint sequences, trace rows) at each kill: {kills}")
    assert len(kills) >= 2, f"kill seed {seed}: the run ended before two kills ({kills})"
    assert_same_run(Path(ref["run_dir"]), run)
    assert json.loads((run / "summary.json").read_text())["sequences_trained"] == 900000
    # resuming the finished run is refused
    assert cli.main(["resume", str(run)]) == 2


def test_kill_inside_a_checkpoint_keeps_the_previous_one(tmp_path):
    args = ["T=20", "seed=4", "max_sequences=20000", "checkpoint_every=2000",
            "checkpoint_seconds=1000", "test_size=100", "progress=none"]
    ref = lstmsim.run(**dict(a.split("=", 1) for a in args), out=str(tmp_path / "ref"))
    out = tmp_path / "killed"
    proc = start(*args, f"out={out}", env={checkpoint.KILL_ENV: "3"})
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL  # died between writing the temp file and the rename
    run = the_run(out)
    tmp = run / (checkpoint.FILE_NAME + ".tmp")
    with np.load(tmp) as z:
        in_tmp = int(z["stop/ints"][I_SEQS])
    kept = checkpoint.load(run).sequences
    assert 0 < kept < in_tmp  # the second checkpoint is intact, the third never replaced it
    tmp.write_bytes(tmp.read_bytes()[:1000])  # ... and a broken temp file is never read
    r = subprocess.run([sys.executable, "-m", "lstmsim", "resume", str(run)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert_same_run(Path(ref["run_dir"]), run)


# ---- capped runs extended; state of every kind of task ------------------------------------------
TRACE = {"trace.every": 100, "trace.weights_every": 250}  # explicit: independent of the cap
EXTEND = {
    # update=delayed: the pending weight change of the last sequence is state
    "adding-delayed": (dict(task="adding", T=20, update="delayed", **TRACE), 1500, 4000),
    # 2a sequential construction: the plateau detector's state, the growth rng; before growing
    "lag2a-growing": (dict(task="lag2a", p=10, test_every=100, grow_patience=1, grow_window=100,
                           window=200, success_window=100, success_size=200, **TRACE), 400, 3000),
    # ... and after the cell was added (masks changed)
    "lag2a-grown": (dict(task="lag2a", p=10, test_every=100, grow_patience=1, grow_window=100,
                         window=200, success_window=100, success_size=200, **TRACE), 1000, 3000),
    # ST1/ST2 first-met records, periodic checks on the test stream
    "twoseq": (dict(task="twoseq", T=20, check_size=16, test_every=200, **TRACE), 1000, 3000),
    # an n_seq evaluation point right at the cap; the stop rule fires after the resume
    "multiplication-nseq": (dict(task="multiplication", T=20, nseq_levels=[1500, 1400],
                                 window=500, threshold=0.5, **TRACE), 500, 3000),
    # fixed data sets, the rank rule
    "reber": (dict(task="reber", test_every=200, **TRACE), 600, 1400),
    # other Training classes: a conventional RNN (RTRL) and an LSTM variant
    "rnn": (dict(task="adding", T=20, model="rnn", hidden_units=3, update="step"), 700, 2000),
    "forget-gates": (dict(task="adding", T=20, forget_gate=True, peepholes=True, **TRACE), 700, 2000),
}


@pytest.mark.parametrize("name", list(EXTEND))
def test_capped_run_continued_equals_the_longer_run(name, tmp_path):
    settings, first, total = EXTEND[name]
    common = dict(settings, test_size=50, progress="none", seed=7)
    ref = lstmsim.run(**common, max_sequences=total, out=str(tmp_path / "ref"))
    part = lstmsim.run(**common, max_sequences=first, out=str(tmp_path / "part"))
    assert part["sequences_trained"] == first and part["status"] in ("capped", "completed")
    run = Path(part["run_dir"])
    with pytest.raises(UserError, match="the run is finished"):
        lstmsim.resume(run)  # capped: a larger max_sequences is needed
    done = lstmsim.resume(run, max_sequences=total)
    assert done["sequences_trained"] == ref["sequences_trained"]
    assert_same_run(Path(ref["run_dir"]), run, trace=bool(common.get("trace.every")))
    if common.get("trace.every"):
        assert len(json.loads(h5py.File(run / "trace.h5", "r").attrs["resumes"])) == 1


def test_run_stopped_right_after_a_checkpoint_resumes(tmp_path, monkeypatch):
    """In-process stand-in for a kill: the run stops just after its second checkpoint."""
    settings = dict(EXTEND["lag2a-growing"][0], test_size=50, progress="none", seed=2,
                    max_sequences=3000, checkpoint_every=300, checkpoint_seconds=1000)
    ref = lstmsim.run(**settings, out=str(tmp_path / "ref"))
    write = checkpoint.Checkpointer.write

    def write_then_stop(self, *args, **kwargs):
        write(self, *args, **kwargs)
        if self.written == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.Checkpointer, "write", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        lstmsim.run(**settings, out=str(tmp_path / "cut"))
    monkeypatch.setattr(checkpoint.Checkpointer, "write", write)
    run = the_run(tmp_path / "cut")
    assert not (run / "summary.json").exists()
    assert lstmsim.load_trace(run).status == "interrupted"
    assert lstmsim.run(resume=str(run))["status"] == ref["status"]
    assert_same_run(Path(ref["run_dir"]), run)


# ---- a checkpoint that cannot be written ----------------------------------------------------------
def test_failed_checkpoint_write_is_one_line_and_keeps_the_previous(tmp_path, monkeypatch, capsys):
    args = ["T=20", "seed=5", "max_sequences=6000", "checkpoint_every=1000",
            "checkpoint_seconds=1000", "test_size=50", "progress=none"]
    ref = lstmsim.run(**dict(a.split("=", 1) for a in args), out=str(tmp_path / "ref"))
    replace, calls = os.replace, []

    def disk_full(src, dst):
        if str(dst).endswith(checkpoint.FILE_NAME):
            calls.append(dst)
            if len(calls) >= 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", disk_full)
    assert cli.main([*args, f"out={tmp_path / 'full'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot write the checkpoint" in err[0] and "No space" in err[0]
    monkeypatch.setattr(checkpoint.os, "replace", replace)
    run = the_run(tmp_path / "full")
    assert not (run / (checkpoint.FILE_NAME + ".tmp")).exists()
    first = checkpoint.load(run).sequences  # the first checkpoint, intact
    assert 1000 <= first < 6000
    t = lstmsim.load_trace(run)  # the trace stays readable
    assert t.status == "error" and len(t.train["length"]) >= first
    assert cli.main(["resume", str(run)]) == 0
    assert_same_run(Path(ref["run_dir"]), run)


# ---- divergence ---------------------------------------------------------------------------------
def test_divergence_from_the_command_line(tmp_path):
    # lag2a's cells have h = identity and g in [0,1]: with lr = 1e307 the first weight change
    # overflows (a huge lr does not do it on the adding net: its logistic units saturate)
    r = subprocess.run([sys.executable, "-m", "lstmsim", "task=lag2a", "lr=1e307",
                        "max_sequences=1000", "test_size=10", "progress=plain", f"out={tmp_path}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    run = Path(r.stdout.strip().splitlines()[-1])
    s = json.loads((run / "summary.json").read_text())
    assert s["status"] == "diverged" and s["diverged_at"] == {"sequence": 0, "step": 100}
    assert s["sequences_trained"] == 1 and not s["solved"]
    t = lstmsim.load_trace(run)
    assert t.status == "diverged" and len(t.train["length"]) == 1
    assert list(t.weights["kind"]) == [0, 2] and not np.isfinite(t.weights["W_o"][-1]).all()
    assert "DIVERGED (NaN/Inf) in sequence 0 at step 100" in r.stderr
    assert cli.main(["resume", str(run)]) == 2  # a finished run


def test_divergence_mid_run_stops_at_once_with_a_readable_trace(tmp_path, monkeypatch, capsys):
    from lstmsim.training import Training

    advance = Training.advance

    def poisoned(self, n, rules=None):  # a weight becomes NaN once 700 sequences are trained
        seqs = int(self.stop.ints[I_SEQS])
        if seqs < 700:
            n = min(n, 700 - seqs)
        elif not getattr(self, "poisoned", False):
            self.poisoned = True
            self.net.W_h[0, 0] = np.nan
        return advance(self, n, rules)

    monkeypatch.setattr(Training, "advance", poisoned)
    assert cli.main(["T=20", "max_sequences=5000", "test_size=20", "progress=none",
                     f"out={tmp_path}"]) == 1
    run = the_run(tmp_path)
    s = json.loads((run / "summary.json").read_text())
    assert s["status"] == "diverged" and s["diverged_at"] == {"sequence": 700, "step": 0}
    assert s["sequences_trained"] == 701
    t = lstmsim.load_trace(run)
    assert t.status == "diverged" and len(t.train["length"]) == 701
    assert np.isfinite(t.train["abs_error"][:700]).all()


# ---- concurrency ----------------------------------------------------------------------------------
def test_two_simultaneous_runs_never_share_a_folder(tmp_path):
    args = ["T=20", "seed=1", "max_sequences=2000", "test_size=50", "progress=none",
            f"out={tmp_path}"]
    procs = [start(*args), start(*args)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    dirs = [Path(o[0].decode().strip().splitlines()[-1]) for o in outs]
    assert dirs[0] != dirs[1] and all(d.parent == tmp_path / "adding" for d in dirs)
    assert sorted(p.parent for p in tmp_path.glob("adding/*/summary.json")) == sorted(dirs)
    assert_same_run(dirs[0], dirs[1])  # the same config and seed: the same run, twice


def test_make_run_dir_never_reuses_a_folder(tmp_path, monkeypatch):
    from lstmsim import runner

    monkeypatch.setattr(runner.secrets, "token_hex", lambda n: "abcdef")  # force a collision
    monkeypatch.setattr(runner.time, "strftime", lambda fmt: "20000101-000000")
    first = runner.make_run_dir(tmp_path, "adding", 0)
    with pytest.raises(UserError, match="could not find a free run folder"):
        runner.make_run_dir(tmp_path, "adding", 0)
    assert first.is_dir() and len(list((tmp_path / "adding").iterdir())) == 1


def test_sweep_trials_each_write_their_own_folder(tmp_path):
    from lstmsim.sweep_api import run_sweep

    result = run_sweep(task="adding", T=[20, 30], trials=2, max_sequences=300, test_size=20,
                       executor="local", workers=2, out=str(tmp_path), progress="none")
    dirs = [Path(s["run_dir"]) for s in result.summaries]
    assert len(set(dirs)) == 4
    for s, d in zip(result.summaries, dirs):
        cfg = lstmsim.load_trace(d).config  # each trial's files hold its own run
        assert cfg["seed"] == s["seed"] and cfg["T"] == s["setting"]["T"]
        assert {p.name for p in d.iterdir()} >= {"config.yaml", "summary.json", "trace.h5",
                                                 "weights.npz", checkpoint.FILE_NAME}


def test_a_sweep_rerun_resumes_its_killed_trials(tmp_path):
    from lstmsim.sweep_api import run_sweep

    args = dict(task="adding", T=20, trials=2, max_sequences=1500, test_size=20, executor="serial",
                out=str(tmp_path), progress="none", checkpoint_every=500)
    first = run_sweep(**args)
    dirs = [Path(s["run_dir"]) for s in first.summaries]
    (dirs[0] / "summary.json").unlink()  # trial 0 killed after its last checkpoint
    (dirs[0] / "marker").write_text("")  # (removed if the trial were run again from scratch)
    (dirs[1] / "summary.json").unlink()  # trial 1 killed with a damaged checkpoint
    (dirs[1] / checkpoint.FILE_NAME).write_bytes(b"garbage")
    second = run_sweep(**args)
    assert second.ran == 2 and second.errors == 0
    assert (dirs[0] / "marker").exists()  # continued in place
    for a, b in zip(first.summaries, second.summaries):
        assert {k: v for k, v in a.items() if k not in VOLATILE} == \
               {k: v for k, v in b.items() if k not in VOLATILE}
