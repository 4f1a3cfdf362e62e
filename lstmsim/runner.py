"""One run, end to end: folder, config, training in compiled chunks, test, summary.

Python only sits between chunks (a fraction of a second of compiled work each): it shows progress,
and handles the events the compiled loop returns (stop rule fired, evaluation point, divergence).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from pathlib import Path

import numba
import numpy as np

from . import __version__
from . import config as config_mod
from . import checkpoint, replay
from .errors import UserError
from .progress import Display
from .trace import FILE_NAME as TRACE_FILE
from .trace import SNAP_FINAL, TraceWriter
from .training import LOG_CAPACITY, Training
from .train_loop import (EVENT_DIVERGED, EVENT_DONE, EVENT_LEVEL, EVENT_REC_FULL, EVENT_STOP,
                         I_FILLED, I_LEVEL, I_SEQS, I_STEPS, I_WRONG)

CHUNK_SECONDS = 0.25  # aim for chunks of about this much compiled work


def run(task: str = "adding", **overrides) -> dict:
    """Train one network as `python -m lstmsim task=... key=value ...` does; returns the summary.

    `resume=RUN` continues that run instead (lstmsim/resume_cmd.py); other keys are then overrides
    that do not change the run so far (max_sequences, progress, checkpoint_*)."""
    if "resume" in overrides:
        from .resume_cmd import resume

        return resume(overrides.pop("resume"), **overrides)
    cfg = config_mod.load(task, overrides)
    return run_config(cfg)


def run_config(cfg, run_dir: Path | None = None) -> dict:
    """Run a validated config. `run_dir` (created if missing) overrides the default new folder."""
    init = replay.read_init(cfg) if cfg.get("init") else None  # checked before any folder exists
    if run_dir is None:
        run_dir = make_run_dir(Path(cfg.out), cfg.task, cfg.seed)
    else:
        run_dir = Path(run_dir)
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create run folder {str(run_dir)!r} ({exc.strerror})") from None
    with checkpoint.lock(run_dir), _write_errors(run_dir):
        write_text_atomic(run_dir / "config.yaml", config_mod.to_yaml(cfg))
        started = time.time()
        training = Training(cfg)
        if init is not None:
            replay.apply_init(training, init)
        tracer = TraceWriter(run_dir / TRACE_FILE, cfg, training, started) if cfg.trace.enabled else None
        return execute(cfg, run_dir, training, tracer, new_loop(), started, started)


def new_loop() -> dict:
    """The run loop's own state (kept in checkpoints): what `train` returns as its outcome."""
    return {"status": "running", "solved_at": None, "diverged": None, "evaluations": [],
            "criteria_first_met": {}, "train_seconds": 0.0, "trace_seconds": 0.0, "chunk": 200}


def execute(cfg, run_dir: Path, training: Training, tracer: TraceWriter | None, loop: dict,
            started: float, wall_origin: float, title: str | None = None) -> dict:
    """Train from the state in `training` and `loop`, test, write weights and summary.

    `started`: when the run first started (trace.h5); `wall_origin`: time.time() minus the wall
    seconds the run has already spent (a resumed run counts only the time it ran)."""
    status, summary = "error", None
    ckpt = checkpoint.Checkpointer(run_dir, cfg, started, wall_origin,
                                   int(training.stop.ints[I_SEQS]))
    try:
        with Display(cfg.progress, title or f"lstmsim {cfg.task} seed={cfg.seed}") as display:
            t0 = time.perf_counter()
            training.compile()
            compile_seconds = time.perf_counter() - t0
            if compile_seconds > 1.0:
                display.message(f"compiled kernels in {compile_seconds:.1f} s (cached for next runs)")
            outcome = train(training, display, tracer, loop, ckpt)
            test = training.evaluate(int(cfg.test_size),
                                     recorder=tracer.test_recorder if tracer else None)
            if tracer is not None:
                tracer.test_results(test["arrays"])
                tracer.drain(tracer.test_recorder, "test")
            save_weights(run_dir / "weights.npz", training)
            summary = make_summary(cfg, training, outcome, test, run_dir, wall_origin)
            status = summary["status"]
            if tracer is not None:
                tracer.close(status, summary)
            write_json_atomic(run_dir / "summary.json", summary)
            display.message(result_line(summary))
    except BaseException as exc:
        if tracer is not None:  # keep the trace readable, marked as not finished
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else status
            try:
                tracer.close(status, summary)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
        raise
    return summary


@contextlib.contextmanager
def _write_errors(run_dir: Path):
    """A file that cannot be written (read-only folder, disk full) is a one-line UserError."""
    try:
        yield
    except OSError as exc:
        where = exc.filename or run_dir
        raise UserError(f"{where}: cannot write ({exc.strerror or _first_line(exc)})") from None


def train(training: Training, display: Display, tracer: TraceWriter | None = None,
          loop: dict | None = None, ckpt: checkpoint.Checkpointer | None = None) -> dict:
    """Advance until the stop rule fires, the cap is reached or the run diverges.

    With a tracer, every chunk's results go to trace.h5, and chunks end on the weight-snapshot grid.
    `loop` (new_loop(), or a checkpoint's) is updated in place and returned; with `ckpt`,
    checkpoints are written between chunks when due and when the cap is reached.
    """
    cfg = training.cfg
    cap = int(cfg.max_sequences)
    ints = training.stop.ints
    loop = new_loop() if loop is None else loop
    check_every = int(cfg.test_every) if cfg.stop == "test" else 0
    first_met, evaluations = loop["criteria_first_met"], loop["evaluations"]
    while ints[I_SEQS] < cap:
        todo = min(loop["chunk"], cap - ints[I_SEQS])
        if check_every:  # chunks end exactly at the periodic checks
            todo = min(todo, check_every - ints[I_SEQS] % check_every)
        if tracer is not None:
            todo = min(todo, tracer.weights_every - ints[I_SEQS] % tracer.weights_every)
        steps_before = int(ints[I_STEPS])
        empty = not training.recorder.count.any()  # (trace buffers are flushed between chunks)
        t0 = time.perf_counter()
        done, event, div_step = training.advance(todo)
        if event == EVENT_REC_FULL and done == 0 and empty:  # else this loop would never end
            raise RuntimeError(f"the trace buffer ({training.recorder.rows.shape[0]} rows) cannot "
                               f"hold one sequence of {training.max_length} steps")
        dt = time.perf_counter() - t0
        loop["train_seconds"] += dt
        if tracer is not None:
            tracer.after_chunk(training, done, steps_before)
            loop["trace_seconds"] += time.perf_counter() - t0 - dt
        loop["chunk"] = _next_chunk(loop["chunk"], done, dt)
        display.update(_progress_state(training, loop["train_seconds"]))
        if check_every and ints[I_SEQS] % check_every == 0 and event in (EVENT_DONE, EVENT_REC_FULL):
            finished, record = training.kind.check(training)
            record["sequences"] = int(ints[I_SEQS])
            evaluations.append(record)
            for name, met in record.get("criteria", {}).items():
                if met and name not in first_met:
                    first_met[name] = int(ints[I_SEQS])
            if finished:
                loop["status"], loop["solved_at"] = "solved", int(ints[I_SEQS])
                break
        if event == EVENT_STOP:
            loop["status"], loop["solved_at"] = "solved", int(ints[I_SEQS])
            if cfg.stop == "nseq":
                evaluations.append(_evaluation(training))
            break
        if event == EVENT_LEVEL:
            evaluations.append(_evaluation(training))
        elif event == EVENT_DIVERGED:
            loop["status"] = "diverged"
            loop["diverged"] = {"sequence": int(ints[I_SEQS]) - 1, "step": int(div_step)}
            break
        elif event == EVENT_REC_FULL and tracer is None:
            training.recorder.count[:] = 0  # no trace writer: drop the records
        if ckpt is not None and ckpt.due(int(ints[I_SEQS])):
            ckpt.write(training, loop, tracer)
    else:  # the cap: a checkpoint here lets `resume max_sequences=...` extend the run
        if ckpt is not None and ckpt.last_seqs != int(ints[I_SEQS]):
            ckpt.write(training, loop, tracer)
    if loop["status"] == "running":
        loop["status"] = "completed" if cfg.stop == "none" else "capped"
    if tracer is not None:
        tracer.snapshot(training, SNAP_FINAL)
    display.update(_progress_state(training, loop["train_seconds"]), final=True)
    return loop


def _evaluation(training: Training) -> dict:
    """A test at an evaluation point (Exp. 5's n_seq levels) on a fresh test stream."""
    level = int(training.stop.levels[int(training.stop.ints[I_LEVEL]) - 1])
    stats = training.evaluate(int(training.cfg.test_size))
    stats.pop("arrays")
    return {"level": level, "sequences": int(training.stop.ints[I_SEQS]), **stats}


def _next_chunk(chunk: int, done: int, seconds: float) -> int:
    if done < chunk or seconds <= 0:
        return chunk
    scaled = int(chunk * CHUNK_SECONDS / max(seconds, 1e-6))
    return max(50, min(LOG_CAPACITY, scaled, 4 * chunk))


def _progress_state(training: Training, train_seconds: float) -> dict:
    ints, cfg = training.stop.ints, training.cfg
    filled = int(ints[I_FILLED])
    rate = ints[I_STEPS] / train_seconds if train_seconds > 0 else 0.0
    seq_rate = ints[I_SEQS] / train_seconds if train_seconds > 0 else 0.0
    left = int(cfg.max_sequences) - int(ints[I_SEQS])
    return {
        "sequences": int(ints[I_SEQS]), "max_sequences": int(cfg.max_sequences),
        "avg_error": float(training.stop.err_sum[0] / filled) if filled else float("nan"),
        "wrong": int(ints[I_WRONG]), "window": filled,
        "steps_per_second": rate, "eta_seconds": left / seq_rate if seq_rate > 0 else None,
    }


def make_summary(cfg, training: Training, outcome: dict, test: dict, run_dir: Path,
                 started: float) -> dict:
    ints = training.stop.ints
    test = {k: v for k, v in test.items() if k != "arrays"}
    steps = int(ints[I_STEPS])
    secs = outcome["train_seconds"]
    return {
        "task": cfg.task, "kind": cfg.kind, "seed": int(cfg.seed), "status": outcome["status"],
        "sequences_trained": int(ints[I_SEQS]), "steps_trained": steps,
        "solved": outcome["status"] == "solved", "sequences_to_solve": outcome["solved_at"],
        "diverged_at": outcome["diverged"], "evaluations": outcome["evaluations"],
        "criteria_first_met": outcome["criteria_first_met"],
        "correct_rule": cfg.correct if test["rule"] != "rank" else "rank",
        **{k: test[k] for k in ("test_size", "test_wrong", "test_wrong_abs", "test_wrong_squared",
                                "test_mean_abs_error", "test_mse", "test_max_abs_error")},
        "train_window_wrong": int(ints[I_WRONG]),
        "n_weights": training.n_weights,
        "steps_per_second": steps / secs if secs > 0 else None,
        "train_seconds": secs, "wall_seconds": time.time() - started,
        "paper": paper_row(cfg),
        "lstmsim_version": __version__, "numba_version": numba.__version__,
        "numpy_version": np.__version__, "run_dir": str(run_dir),
    }


def paper_row(cfg) -> dict | None:
    """The paper's reported row for this setting: the preset's row whose keys match the config.

    Row keys that are config keys (T, N, variant, q, p, blocks, lr, ...) select; the others are
    the reported numbers. Values compare as numbers when both are numbers (lr 1 == 1.0) and
    `blocks` by the sizes it means (3x2 == 2,2,2). When several rows match (Exp. 5's two
    evaluation points), the first is returned with all of them under "rows".
    """
    paper = cfg.get("paper")
    if not paper:
        return None
    paper = config_mod.OmegaConf.to_container(paper) if not isinstance(paper, dict) else paper
    matches = [row for row in paper.get("rows", []) if _row_matches(cfg, row)]
    if not matches:
        return None
    out = {"table": paper.get("table"), "trials": paper.get("trials"), **matches[0]}
    if len(matches) > 1:
        out["rows"] = matches
    return out


def _row_matches(cfg, row: dict) -> bool:
    return all(_same_value(k, cfg[k], v) for k, v in row.items() if k != "paper" and k in cfg)


def _same_value(key: str, ours, theirs) -> bool:
    if key == "blocks":
        from .topology import parse_blocks

        try:
            return parse_blocks(str(ours)) == parse_blocks(str(theirs))
        except UserError:
            return False
    if not isinstance(ours, (str, bool)) and not isinstance(theirs, (str, bool)):
        try:
            return float(ours) == float(theirs)
        except (TypeError, ValueError):
            pass
    return str(ours) == str(theirs)


# the paper's columns, in print order: row key -> format
PAPER_FIELDS = (
    ("success_pct", "{}% of trials successful"),
    ("st1", "ST1 after {:,}"),
    ("st2", "ST2 after {:,}"),
    ("success_after", "success after {:,}"),
    ("range", "range {}"),
    ("wrong", "{} wrong"),
    ("misclassified", "fraction misclassified {}"),
    ("avg_diff", "mean |diff| {}"),
    ("mse", "'MSE' {}"),
)


def _paper_fields(row: dict) -> str:
    parts = []
    for key, fmt in PAPER_FIELDS:
        if row.get(key) is not None:
            value = row[key]
            if key == "range":
                value = "-".join(f"{v:,}" for v in value)
            parts.append(fmt.format(value))
    return ", ".join(parts)


def result_line(summary: dict) -> str:
    """One line: this run's result, then the paper's row for the same setting (if any)."""
    s = summary
    solved = (f"solved after {s['sequences_to_solve']:,} sequences" if s["solved"]
              else f"{s['status']} at {s['sequences_trained']:,} sequences")
    if s.get("diverged_at"):
        d = s["diverged_at"]
        solved = f"DIVERGED (NaN/Inf) in sequence {d['sequence']:,} at step {d['step']:,}"
    parts = [solved]
    met = s.get("criteria_first_met") or {}
    if met:
        parts.append(", ".join(f"{k} at {v:,}" for k, v in met.items()))
    for e in s.get("evaluations") or []:
        if "level" in e:  # Exp. 5's evaluation points
            parts.append(f"n_seq={e['level']} at {e['sequences']:,}: {e['test_wrong']}/"
                         f"{e['test_size']} wrong, mean |err| {e['test_mean_abs_error']:.4f}, "
                         f"MSE {e['test_mse']:.4f}")
    n = s["test_size"] or 0
    test = f"test {s['test_wrong']}/{n} wrong"
    if n:
        test += f" ({s['test_wrong'] / n:.5f})"
    if s["correct_rule"] == "rank":
        test += " (rank rule)"
    else:
        test += (f" ({s['correct_rule']} rule; abs {s['test_wrong_abs']}, squared "
                 f"{s['test_wrong_squared']})")
    parts.append(f"{test}, mean |err| {s['test_mean_abs_error']:.4f}")
    parts.append(f"{(s['steps_per_second'] or 0) / 1e6:.2f} M steps/s")
    line = f"{s['task']} seed={s['seed']}: " + "; ".join(parts)
    if s.get("paper"):
        line += f"  | paper {paper_text(s['paper'])}"
    return line


def paper_text(p: dict) -> str:
    """'(Table 7, mean of 10 trials): success after 74,000, 1 wrong' for a `paper_row` result."""
    table = p.get("table")
    where = f"Table {table}" if isinstance(table, int) else str(table)
    rows = p.get("rows") or [p]
    if len(rows) > 1 and all("n_seq" in r for r in rows):
        reported = "; ".join(f"n_seq={r['n_seq']}: {_paper_fields(r)}" for r in rows)
    else:
        reported = _paper_fields(p)
    return f"({where}, mean of {p.get('trials')} trials): {reported}"


def make_run_dir(out: Path, task: str, seed: int) -> Path:
    """A new folder out/task/<time>-seed<seed>-<random>; never shared by two runs."""
    parent = out / Path(task).stem
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-seed{seed}-{secrets.token_hex(3)}"
            try:
                (parent / name).mkdir()
                return parent / name
            except FileExistsError:
                continue
    except OSError as exc:
        raise UserError(f"out={str(out)!r}: cannot create the run folder ({exc.strerror})") from None
    raise UserError(f"out={str(out)!r}: could not find a free run folder name")


def save_weights(path: Path, training: Training) -> None:
    """Initial and final weights (W_h: rows feed-by sources, W_o), written atomically."""
    tmp = path.with_name(path.name + ".tmp.npz")
    W_h0, W_o0 = training.initial_weights
    np.savez(tmp, W_h_initial=W_h0, W_o_initial=W_o0, W_h=training.net.W_h, W_o=training.net.W_o,
             M_h=training.net.M_h, M_o=training.net.M_o)
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: dict) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=_json_default))


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file, fsync and rename: a reader never sees a partial file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
