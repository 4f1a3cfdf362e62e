"""The command line as a user meets it: exit codes, one-line errors, no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "lstmsim", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=300)


BAD = [
    (["task=nosuch"], "unknown task 'nosuch'"),
    (["sed=1"], "unknown key 'sed'"),
    (["T=abc"], "T='abc': expected integer"),
    (["T=5"], "T=5: the adding problem needs T >= 12"),
    (["lr=-0.5"], "lr=-0.5: must be a finite number > 0"),
    (["lr=nan"], "lr=nan: must be a finite number > 0"),
    (["lr=inf"], "lr=inf"),
    (["max_sequences=0"], "max_sequences=0: must be >= 1"),
    (["seed=-1"], "seed=-1"),
    (["progress=fancy"], "progress='fancy': choose one of"),
    (["update=batch"], "update='batch': choose one of sequence, step"),
    (["correct=maybe"], "correct='maybe'"),
    (["blocks=2x0"], "blocks='2x0'"),
    (["in_gate_bias=[-3,x]"], "entries must be numbers or 'r'"),
    (["bias=none"], "has no bias weight"),  # the preset's gate biases need bias weights
    (["kind=nosuch"], "kind='nosuch'"),
    (["in_gate_bias=[-3,-6,-9]"], "in_gate_bias"),
    (["T"], "unknown command 'T'"),
    (["T=100", "oops"], "bad argument 'oops'"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["window=-5"], "window=-5"),
    (["test_size=0"], "test_size=0"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_gives_one_line_and_exit_2(args, message, tmp_path):
    if "=" in args[0]:
        r = cli(f"out={tmp_path}", "progress=none", *args)
    else:  # a command word comes first
        r = cli(*args, f"out={tmp_path}", "progress=none")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert message in lines[0]
    assert not any(tmp_path.iterdir())  # nothing written


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = cli(f"out={blocker}/sub", "max_sequences=10", "progress=none")
    assert r.returncode == 2 and "cannot create the run folder" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_short_run_writes_its_folder(tmp_path):
    r = cli("task=adding", "T=20", "max_sequences=500", "test_size=50", f"out={tmp_path}",
            "progress=plain", "seed=4")
    assert r.returncode == 0, r.stderr
    run_dir = Path(r.stdout.strip().splitlines()[-1])
    assert run_dir.parent == tmp_path / "adding"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["seed"] == 4 and summary["sequences_trained"] == 500
    assert (run_dir / "config.yaml").is_file() and (run_dir / "weights.npz").is_file()
    assert "adding seed=4" in r.stderr  # the plain progress / result lines


def test_list_shows_tasks():
    r = cli("list")
    assert r.returncode == 0 and "adding" in r.stdout and "74,000" in r.stdout


def test_presets_found_outside_the_checkout(tmp_path):
    r = cli("list", cwd=tmp_path)
    assert r.returncode == 0 and "adding" in r.stdout
