"""Bad input at every user-facing entry (issue 6): one line naming the problem, exit code 2, no
traceback, and nothing already written changed.

Entries: run overrides (types, ranges, sizes, T too small for the task, lr, groups), task names,
init= files, task=replay sources, inspect, plot, resume (folders, finished runs, changed configs,
damaged checkpoints and traces, forbidden overrides, a run still being written, an unwritable
folder), sweep values and executor addresses, reproduce, list, unwritable output folders.
The table runs in-process through `cli.main` (fast); a few rows also through a real subprocess.
"""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import lstmsim
from lstmsim import checkpoint, cli

ROOT = Path(__file__).resolve().parent.parent
SMALL = dict(T=20, max_sequences=300, test_size=10, progress="none")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Runs and files the table refers to as {name}."""
    base = tmp_path_factory.mktemp("bad_input")
    capped = Path(lstmsim.run("adding", seed=1, out=str(base / "runs"), **SMALL)["run_dir"])
    solved = Path(lstmsim.run("adding", seed=2, window=50, beta=0.5, threshold=0.9,
                              out=str(base / "runs"), **SMALL)["run_dir"])
    assert (base / "runs").exists()
    killed = base / "killed"  # a run killed at its last checkpoint: resumable
    shutil.copytree(capped, killed)
    (killed / "summary.json").unlink()
    corrupt = base / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(4000))
    foreign = base / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    (base / "empty").mkdir()
    text = base / "notes.txt"
    text.write_text("not a trace\n")
    paths = {"capped": capped, "solved": solved, "killed": killed, "corrupt": corrupt,
             "foreign": foreign, "empty": base / "empty", "text": text, "base": base}

    def variant(name, change):
        d = base / name
        shutil.copytree(killed, d)
        change(d)
        paths[name] = d

    variant("edited", lambda d: (d / "config.yaml").write_text(
        (d / "config.yaml").read_text().replace("T: 20", "T: 30")))
    variant("garbled_config", lambda d: (d / "config.yaml").write_text("T: [unclosed\n"))
    variant("no_checkpoint", lambda d: (d / checkpoint.FILE_NAME).unlink())
    variant("corrupt_checkpoint", lambda d: (d / checkpoint.FILE_NAME).write_bytes(os.urandom(3000)))
    variant("truncated_checkpoint", lambda d: (d / checkpoint.FILE_NAME).write_bytes(
        (d / checkpoint.FILE_NAME).read_bytes()[:2000]))
    variant("foreign_checkpoint", lambda d: np.savez(d / checkpoint.FILE_NAME, x=np.arange(3)))
    variant("no_trace", lambda d: (d / "trace.h5").unlink())
    variant("corrupt_trace", lambda d: shutil.copy(corrupt, d / "trace.h5"))
    variant("other_trace", lambda d: shutil.copy(solved / "trace.h5", d / "trace.h5"))
    variant("unwritable", lambda d: (d / "trace.h5.tmp").mkdir())  # the new trace cannot be made
    variant("locked", lambda d: None)
    return paths


# (id, argv with {name} placeholders, expected part of the message)
CASES = [
    # ---- overrides: types, ranges, sizes ----
    ("bad-key", ["sed=1"], "unknown key 'sed'"),
    ("int-text", ["T=abc"], "T='abc': expected integer"),
    ("int-float", ["T=1.5"], "T='1.5': expected integer"),
    ("seed-text", ["seed=abc"], "seed='abc': expected integer"),
    ("seed-negative", ["seed=-1"], "seed=-1: must be >= 0"),
    ("lr-zero", ["lr=0"], "must be a finite number > 0"),
    ("lr-negative", ["lr=-0.5"], "lr=-0.5: must be a finite number > 0"),
    ("lr-nan", ["lr=nan"], "lr=nan: must be a finite number > 0"),
    ("lr-inf", ["lr=inf"], "lr=inf: must be a finite number > 0"),
    ("lr-overflow", ["lr=1e309"], "lr=inf: must be a finite number > 0"),
    ("lr-text", ["lr=fast"], "lr='fast': expected float"),
    ("max-seq-zero", ["max_sequences=0"], "max_sequences=0: must be >= 1"),
    ("max-seq-negative", ["max_sequences=-5"], "max_sequences=-5: must be >= 1"),
    ("max-seq-float", ["max_sequences=1e3"], "max_sequences='1000.0': expected integer"),
    ("window-zero", ["window=0"], "window=0: must be >= 1"),
    ("test-size-zero", ["test_size=0"], "test_size=0: must be >= 1"),
    ("test-every-zero", ["test_every=0"], "test_every=0: must be >= 1"),
    ("hidden-negative", ["hidden_units=-1"], "hidden_units=-1: must be >= 0"),
    ("blocks-zero-size", ["blocks=2x0"], "blocks='2x0'"),
    ("blocks-zero-count", ["blocks=0x2"], "blocks='0x2': need at least one block"),
    ("blocks-text", ["blocks=abc"], "blocks='abc': expected COUNTxSIZE"),
    ("gate-bias-count", ["in_gate_bias=[-3,-6,-9]"], "in_gate_bias"),
    ("gate-bias-text", ["in_gate_bias=[-3,x]"], "entries must be numbers or 'r'"),
    ("threshold-zero", ["threshold=0"], "threshold=0.0: must be a finite number > 0"),
    ("beta-inf", ["beta=inf"], "beta=inf: must be a finite number > 0"),
    ("init-range-negative", ["init_range=-1"], "init_range=-1.0: must be a finite number >= 0"),
    ("reset-inf", ["reset=inf"], "reset=inf: must be a finite number"),
    ("choice", ["update=batch"], "update='batch': choose one of"),
    ("progress", ["progress=fancy"], "progress='fancy': choose one of"),
    ("trace-negative", ["trace.every=-1"], "trace.every=-1: must be >= 0"),
    ("trace-text", ["trace.first=x"], "trace.first='x': expected integer"),
    ("trace-group", ["trace=5"], "trace is a group of keys"),
    ("trace-unknown", ["trace.nosuch=1"], "unknown key 'nosuch'"),
    ("checkpoint-every-zero", ["checkpoint_every=0"], "checkpoint_every=0: must be >= 1"),
    ("checkpoint-seconds-negative", ["checkpoint_seconds=-1"], "checkpoint_seconds=-1.0: must be"),
    ("checkpoint-seconds-nan", ["checkpoint_seconds=nan"], "checkpoint_seconds=nan: must be"),
    ("nseq-levels-text", ["nseq_levels=[a]"], "nseq_levels[0]='a': expected integer"),
    ("nseq-levels-zero", ["stop=nseq", "nseq_levels=[0]"], "levels must be >= 1"),
    ("nseq-without-levels", ["stop=nseq"], "stop=nseq needs nseq_levels"),
    ("not-key-value", ["T=100", "oops"], "bad argument 'oops'"),
    # ---- T (or p, N) smaller than the task needs ----
    ("adding-T", ["T=5"], "T=5: the adding problem needs T >= 12"),
    ("adding-T-negative", ["T=-3"], "T=-3: the adding problem needs T >= 12"),
    ("multiplication-T", ["task=multiplication", "T=3"], "the multiplication problem needs T >= 12"),
    ("twoseq-T", ["task=twoseq", "T=2"], "T=2: the twoseq task needs T >= N + 1 = 4"),
    ("lag2a-p", ["task=lag2a", "p=1"], "p=1: the lag2a task needs p >= 2"),
    ("lag2c-p", ["task=lag2c", "p=0"], "the lag2c task needs p >="),
    # ---- task names ----
    ("task-unknown", ["task=nosuch"], "unknown task 'nosuch'"),
    ("task-empty", ["task="], "unknown task ''"),
    ("task-path", ["task=/etc/passwd"], "unknown task '/etc/passwd'"),
    ("kind-unknown", ["kind=nosuch"], "kind='nosuch'"),
    ("command-unknown", ["frobnicate"], "unknown command 'frobnicate'"),
    ("list-args", ["list", "x"], "list takes no arguments"),
    # ---- init= and task=replay files ----
    ("init-missing", ["init={base}/nope.h5"], "no such trace file"),
    ("init-corrupt", ["init={corrupt}"], "not a readable HDF5 file"),
    ("init-foreign", ["init={foreign}"], "not an lstmsim trace"),
    ("init-text", ["init={text}"], "not a readable HDF5 file"),
    ("init-folder-without-trace", ["init={empty}"], "no such trace file"),
    ("init-other-network", ["init={capped}", "blocks=3x2"], "the trace's network differs"),
    ("replay-without-source", ["task=replay"], "task=replay needs source=PATH"),
    ("replay-missing", ["task=replay", "source={base}/nope"], "no such trace file"),
    ("replay-corrupt", ["task=replay", "source={corrupt}"], "not a readable HDF5 file"),
    # ---- inspect and plot ----
    ("inspect-nothing", ["inspect"], "inspect needs one run folder or trace file, got 0"),
    ("inspect-two", ["inspect", "{capped}", "{solved}"], "got 2"),
    ("inspect-missing", ["inspect", "{base}/nope"], "no such trace file"),
    ("inspect-corrupt", ["inspect", "{corrupt}"], "not a readable HDF5 file"),
    ("inspect-foreign", ["inspect", "{foreign}"], "not an lstmsim trace"),
    ("inspect-empty-folder", ["inspect", "{empty}"], "no such trace file"),
    ("inspect-bins", ["inspect", "{capped}", "bins=0"], "bins=0: must be >= 1"),
    ("inspect-option", ["inspect", "{capped}", "colour=red"], "unknown option 'colour'"),
    ("plot-corrupt", ["plot", "{corrupt}"], "not a readable HDF5 file"),
    ("plot-foreign", ["plot", "{foreign}", "what=cells"], "not an lstmsim trace"),
    ("plot-what", ["plot", "{capped}", "what=nope"], "what='nope': choose one of"),
    ("plot-seq", ["plot", "{capped}", "what=cells", "seq=-1"], "seq=-1: must be >= 0"),
    ("plot-seq-untraced", ["plot", "{capped}", "what=cells", "seq=5"], "seq=5: not traced"),
    ("plot-phase", ["plot", "{capped}", "phase=x"], "phase='x': choose one of"),
    ("plot-out", ["plot", "{capped}", "out={text}/x.png"], "cannot write"),
    # ---- resume ----
    ("resume-nothing", ["resume"], "resume needs one run folder, got 0"),
    ("resume-two", ["resume", "{killed}", "{capped}"], "got 2"),
    ("resume-missing", ["resume", "{base}/nope"], "no such run folder"),
    ("resume-missing-key-form", ["resume={base}/nope"], "no such run folder"),
    ("resume-not-a-run", ["resume", "{empty}"], "no config.yaml (not an lstmsim run folder)"),
    ("resume-capped", ["resume", "{capped}"], "the run is finished (capped at 300 sequences)"),
    ("resume-capped-smaller", ["resume", "{capped}", "max_sequences=200"], "the run is finished"),
    ("resume-solved", ["resume", "{solved}", "max_sequences=5000"],
     "the run is finished (solved at"),
    ("resume-forbidden-key", ["resume", "{killed}", "T=50"], "T: cannot be changed when resuming"),
    ("resume-forbidden-seed", ["resume", "{killed}", "seed=3"], "seed: cannot be changed"),
    ("resume-bad-value", ["resume", "{killed}", "max_sequences=abc"],
     "max_sequences='abc': expected integer"),
    ("resume-zero", ["resume", "{killed}", "max_sequences=0"], "max_sequences=0: must be >= 1"),
    ("resume-below-trained", ["resume", "{killed}", "max_sequences=100"],
     "max_sequences=100: the run has already trained 300 sequences"),
    ("resume-edited-config", ["resume", "{edited}"],
     "config.yaml no longer matches the checkpoint (T: 20 in the checkpoint, 30 in config.yaml)"),
    ("resume-garbled-config", ["resume", "{garbled_config}"], "config.yaml: cannot read"),
    ("resume-no-checkpoint", ["resume", "{no_checkpoint}"], "no checkpoint.npz"),
    ("resume-corrupt-checkpoint", ["resume", "{corrupt_checkpoint}"], "not a readable checkpoint"),
    ("resume-truncated-checkpoint", ["resume", "{truncated_checkpoint}"], "not a readable checkpoint"),
    ("resume-foreign-checkpoint", ["resume", "{foreign_checkpoint}"], "not an lstmsim checkpoint"),
    ("resume-no-trace", ["resume", "{no_trace}"], "trace.h5: missing"),
    ("resume-corrupt-trace", ["resume", "{corrupt_trace}"], "not a readable HDF5 file"),
    ("resume-other-trace", ["resume", "{other_trace}"], "the trace does not belong to this checkpoint"),
    ("resume-unwritable", ["resume", "{unwritable}"], "cannot write"),
    ("resume-locked", ["resume", "{locked}"], "another lstmsim process is writing this run"),
    # ---- sweeps and reproduce: values, executors ----
    ("sweep-trials-zero", ["sweep", "trials=0"], "trials='0': expected one integer >= 1"),
    ("sweep-trials-text", ["sweep", "trials=x"], "trials='x': expected one integer >= 1"),
    ("sweep-workers-zero", ["sweep", "workers=0"], "workers='0': expected one integer >= 1"),
    ("sweep-seed-negative", ["sweep", "seed=-1"], "seed='-1': expected one integer >= 0"),
    ("sweep-one-bad-value", ["sweep", "T=100,5"], "T=5: the adding problem needs T >= 12"),
    ("sweep-lr-nan", ["sweep", "lr=0.1,nan"], "lr=nan: must be a finite number > 0"),
    ("sweep-brackets", ["sweep", "T=[1,2"], "unbalanced brackets"),
    ("sweep-empty-value", ["sweep", "T=100,,200"], "empty value in a comma-separated list"),
    ("sweep-task", ["sweep", "task=adding,nosuch"], "unknown task 'nosuch'"),
    ("sweep-key", ["sweep", "sed=1,2"], "unknown key 'sed'"),
    ("sweep-progress", ["sweep", "progress=x"], "progress='x': choose one of"),
    ("executor-unknown", ["sweep", "executor=foo"], "executor='foo': choose one of"),
    ("executor-no-port", ["sweep", "executor=dask://nohostport"], "expected dask://HOST:PORT"),
    ("executor-port-zero", ["sweep", "executor=dask://host:0"], "expected dask://HOST:PORT"),
    ("executor-port-big", ["sweep", "executor=dask://host:99999"], "expected dask://HOST:PORT"),
    ("executor-scheme", ["sweep", "executor=tcp://host:8786"], "choose one of"),
    ("executor-unreachable", ["sweep", "T=20", "max_sequences=10", "executor=dask://127.0.0.1:9"],
     "cannot reach the Dask scheduler"),
    ("sweep-out", ["sweep", "T=20", "max_sequences=10", "executor=serial", "out={text}/x"],
     "cannot create the sweep folder"),
    ("reproduce-no-table", ["reproduce"], "reproduce needs table=N"),
    ("reproduce-table", ["reproduce", "table=99"], "table='99': choose one of"),
    ("reproduce-table-text", ["reproduce", "table=x"], "table='x': choose one of"),
    ("reproduce-row", ["reproduce", "table=7", "T=17"], "table 7 has no row with T=17"),
    ("reproduce-trials", ["reproduce", "table=7", "trials=0"], "trials='0': expected one integer"),
    # ---- output folders that cannot be written ----
    ("out-under-a-file", ["out={text}/sub", "max_sequences=10"], "cannot create the run folder"),
    ("out-missing-root", ["out=/proc/nosuch/runs", "max_sequences=10"], "cannot create the run folder"),
]
RUN_WORDS = {"sweep", "reproduce", "inspect", "plot", "resume", "list", "frobnicate"}


def _argv(args, files, out):
    """The case's arguments with out= (a fresh folder) and progress=none unless it sets them."""
    argv = [a.format(**files) for a in args]
    word = argv[0].split("=")[0]
    if word in ("sweep", "reproduce") or (word not in RUN_WORDS and word != "resume"):
        for key, value in (("out", out), ("progress", "none")):
            if not any(a.startswith(f"{key}=") for a in argv):
                argv.append(f"{key}={value}")
    return argv


def _state(base: Path) -> dict:
    """Every file under base with a hash of its bytes (the lock file's existence aside)."""
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*")) if p.is_file() and p.name != checkpoint.LOCK_NAME}


@pytest.mark.parametrize("case,args,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, args, message, files, tmp_path, capsys,
                                           monkeypatch):
    import lstmsim.executors as executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 1.0)
    out = tmp_path / "out"
    before = _state(files["base"])
    argv = _argv(args, files, out)
    if case == "resume-locked":  # another process writes the run: its lock is held
        with checkpoint.lock(files["locked"]):
            code = cli.main(argv)
    else:
        code = cli.main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("lstmsim: error:"), captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists() or not any(out.rglob("*")), "something was written"
    assert _state(files["base"]) == before, "a file was changed"


@pytest.mark.parametrize("case", ["resume-edited-config", "resume-capped", "sweep-one-bad-value",
                                  "init-corrupt"])
def test_bad_input_through_the_real_command_line(case, files, tmp_path):
    _, args, message = next(c for c in CASES if c[0] == case)
    before = _state(files["base"])
    r = subprocess.run([sys.executable, "-m", "lstmsim", *_argv(args, files, tmp_path / "out")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert _state(files["base"]) == before


def test_the_table_covers_every_entry():
    words = {c[1][0].split("=")[0] if c[1][0].split("=")[0] in RUN_WORDS | {"resume"} else "run"
             for c in CASES}
    assert words >= {"run", "sweep", "reproduce", "inspect", "plot", "resume", "list"}
    assert len(CASES) >= 100
