"""Running a sweep's plan (lstmsim/sweep_plan.py): the unfinished trials in batches (several
trials per lane kernel, sweep_batches.py), on the local processes, serially or on a Dask cluster,
their files collected into the sweep folder, the display updated, results.csv and report.md
written at the end, also when interrupted.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, wait

from . import report as report_mod
from .errors import UserError
from .executors import open_executor
from .sweep_display import SweepDisplay
from .sweep_batches import lanes_of, make_batches
from .sweep_plan import Plan, SweepResult, Trial, completed_summary, resumable, trial_overrides
from .trial import PROGRESS_FILE, run_trial

EARLY_LOOK_SECONDS = 2.0  # how often the trials of running batches are looked for in their folders


def execute(plan: Plan, executor: str = "local", workers: int = 1, progress: str = "auto",
            title: str | None = None, table_rows: list | None = None,
            lanes: int | str = "auto") -> SweepResult:
    """Run the plan's unfinished trials; write results.csv and report.md; return everything.

    lanes: how many trials run together in one process, one per SIMD lane of the lane kernel
    (lstmsim/fast/lanes.py; each trial's results are exactly those it gets alone), each lane
    taking its batch's next trial when its own ends. `auto`: MAX_LANES, except on nets with more
    than LANES_MAX_OUTPUT_WEIGHTS output weights (Exps. 2a/2b), whose trials run alone, faster;
    1: every trial on its own. Which trials share a batch: lstmsim/sweep_batches.py."""
    results: dict[int, dict] = {}
    for i, t in enumerate(plan.trials):
        done = completed_summary(plan, t)
        if done is not None:
            results[i] = done
    todo = [i for i in range(len(plan.trials)) if i not in results]
    reused, errors = len(results), 0
    with contextlib.ExitStack() as stack:
        # connect first: an unreachable scheduler is reported before anything is written
        ex = stack.enter_context(open_executor(executor, workers)) if todo else None
        try:
            plan.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"out: cannot create the sweep folder {str(plan.folder)!r} "
                            f"({exc.strerror})") from None
        _write_definition(plan, executor, workers)
        # (serial: one batch at a time, so as few and as full batches as the lanes allow)
        batches = make_batches(plan, todo, 1 if executor == "serial" else workers, lanes)
        if todo and executor in ("local", "dask"):
            _warm_cache(plan, plan.trials[todo[0]],
                        sorted({lanes_of(b, lanes) for b in batches if len(b) > 1}))
        display = SweepDisplay(progress, title or plan.name, len(plan.trials), reused)
        display.add_solved(sum(bool(s.get("solved")) for s in results.values()))
        try:
            with display:
                if todo:
                    errors = _run(plan, batches, results, ex, executor, display, lanes)
        finally:
            summaries = [_annotate(plan, t, results.get(i) or _missing(plan, t))
                          for i, t in enumerate(plan.trials)]
            rows = report_mod.write_results(plan, summaries, table_rows, title)
    return SweepResult(plan, summaries, ran=len(todo), reused=reused, errors=errors, rows=rows)


def _run(plan: Plan, batches: list[list[int]], results: dict, ex, executor: str,
         display: SweepDisplay, lanes: int | str = "auto") -> int:
    from .trial import run_trial_batch

    errors = 0
    in_flight_max = 1 if executor == "serial" else len(batches)
    queue = list(batches)
    futures = {}

    def spec_of(i: int) -> dict:
        t = plan.trials[i]
        remote = executor.startswith("dask://")
        resume = not remote and resumable(plan, t)  # a killed trial continues (issue 6)
        if not resume:
            shutil.rmtree(t.run_dir, ignore_errors=True)
        s = plan.settings[t.setting]
        display.submitted(i, f"{s.label} #{t.index}", t.run_dir)
        return {"task": s.task, "overrides": trial_overrides(plan, t), "run_dir": str(t.run_dir),
                "return_files": remote, "resume": resume}

    def submit_more():
        while queue and len(futures) < in_flight_max:
            batch = queue.pop(0)
            specs = [spec_of(i) for i in batch]
            if len(batch) == 1:
                futures[ex.submit(run_trial, specs[0])] = batch
            else:
                futures[ex.submit(run_trial_batch, specs, lanes_of(batch, lanes))] = batch

    def finish(i: int, result: dict | None, exc: BaseException | None) -> None:
        nonlocal errors
        t = plan.trials[i]
        label = f"{plan.settings[t.setting].label} #{t.index}"
        try:
            if exc is not None:
                raise exc
            if "error" in result:
                raise RuntimeError(result["error"])
            summary = _collect(t, result)
        except Exception as err:  # noqa: BLE001 - one failed trial must not stop the rest
            errors += 1
            message = (str(err).strip().splitlines() or [type(err).__name__])[0]
            results[i] = {**_missing(plan, t), "error": f"{type(err).__name__}: {message}"}
            display.finished(i, f"{label}: FAILED ({message})", False, error=True)
            return
        results[i] = summary
        display.finished(i, f"{label}: {_outcome(summary)}", bool(summary.get("solved")))

    early: set[int] = set()  # trials of running batches reported from their folders
    last_look = time.monotonic()

    def report_finished_in_batches():
        """A batch returns when all its trials have ended (15 of Table 7's 30 on 2 workers), so
        report each trial of a running batch when its summary.json appears, as the trial writes
        it last: the counts and lines move as trials end. Not for remote workers, whose files
        come back with the batch."""
        if executor.startswith("dask://"):
            return
        for batch in futures.values():
            for i in batch if len(batch) > 1 else ():
                if i not in early and (plan.trials[i].run_dir / "summary.json").is_file():
                    summary = completed_summary(plan, plan.trials[i])
                    if summary is not None:
                        early.add(i)
                        finish(i, {"summary": summary}, None)

    submit_more()
    while futures:
        done, _ = wait(list(futures), timeout=0.5, return_when=FIRST_COMPLETED)
        for f in done:
            batch = futures.pop(f)
            try:
                out = f.result()
            except Exception as exc:  # noqa: BLE001 - the whole batch failed
                for i in batch:
                    if i not in early:
                        finish(i, None, exc)
                continue
            for i, result in zip(batch, out if len(batch) > 1 else [out]):
                if i not in early:
                    finish(i, result, None)
        if time.monotonic() - last_look >= EARLY_LOOK_SECONDS:
            last_look = time.monotonic()
            report_finished_in_batches()
        submit_more()
        display.tick()
    return errors


def _warm_cache(plan: Plan, t: Trial, lane_counts: list[int] = ()) -> None:
    """Compile (or load) the kernels here once, so that local workers load them from Numba's
    cache instead of each compiling them at the same time (the lane kernel: once per number of
    trials run together)."""
    from .training import Training

    s = plan.settings[t.setting]
    cfg = s.config()
    Training(cfg).compile()
    if lane_counts and type(Training(cfg)) is Training:  # the 1997 LSTM (not issue 8's models)
        from .fast.batch import warm

        for n in lane_counts:
            warm(cfg, n)


def _collect(t: Trial, result: dict) -> dict:
    """Write the trial's files here if the worker wrote them elsewhere (no shared file system)."""
    summary = result["summary"]
    if not (t.run_dir / "summary.json").is_file():
        t.run_dir.mkdir(parents=True, exist_ok=True)
        for name, data in result.get("files", {}).items():
            if name != "summary.json":
                (t.run_dir / name).write_bytes(data)
        from .runner import write_json_atomic

        write_json_atomic(t.run_dir / "summary.json", {**summary, "run_dir": str(t.run_dir)})
    try:
        (t.run_dir / PROGRESS_FILE).unlink()
    except OSError:
        pass
    return {**summary, "run_dir": str(t.run_dir)}


def _outcome(s: dict) -> str:
    head = (f"solved after {s['sequences_to_solve']:,}" if s.get("solved")
            else f"{s.get('status')} at {s.get('sequences_trained', 0):,}")
    return (f"{head} sequences, test {s.get('test_wrong')}/{s.get('test_size')} wrong "
            f"({s.get('correct_rule')}), {s.get('wall_seconds', 0):.1f} s")


def _annotate(plan: Plan, t: Trial, summary: dict) -> dict:
    """The summary as the sweep returns it: with the trial's setting (task and every key the sweep
    set), its label and its index, so that a script can group the trials."""
    s = plan.settings[t.setting]
    return {**summary, "setting": {"task": s.task, **s.resolved}, "label": s.label,
            "trial": t.index}


def _missing(plan: Plan, t: Trial) -> dict:
    s = plan.settings[t.setting]
    return {"task": s.task, "seed": t.seed, "status": "error", "solved": False,
            "sequences_to_solve": None, "run_dir": str(t.run_dir),
            "error": "not finished (sweep interrupted)"}


def _write_definition(plan: Plan, executor: str, workers: int) -> None:
    data = {"name": plan.name, "root_seed": plan.root_seed,
            "seed_rule": "trial k: SeedSequence(root).spawn(k+1)[k]"
                         ".generate_state(1, uint64)[0] >> 1",
            "settings": [{"task": s.task, "overrides": s.resolved, "trials": s.trials,
                          "folder": s.dirname, "label": s.label} for s in plan.settings],
            "last_executor": executor, "last_workers": workers}
    (plan.folder / "sweep.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
