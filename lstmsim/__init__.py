"""lstmsim: a fast, faithful simulator of the original 1997 Long Short-Term Memory network."""

__version__ = "0.1.0"

from . import _cache  # noqa: E402,F401  (must run before any kernel module is imported)


def run(task: str = "adding", **overrides) -> dict:
    """Train one network (like `python -m lstmsim task=... key=value`); returns the summary dict."""
    from .runner import run as _run

    return _run(task, **overrides)


def resume(run, **overrides) -> dict:
    """Continue a killed or capped run in its folder (like `python -m lstmsim resume RUN`);
    overrides: max_sequences, progress, checkpoint_every, checkpoint_seconds. Returns the summary."""
    from .resume_cmd import resume as _resume

    return _resume(run, **overrides)


def load_trace(path):
    """A run's trace.h5 (the file or its run folder) as NumPy arrays with labels: a `Trace`."""
    from .trace_reader import load_trace as _load_trace

    return _load_trace(path)


def sweep(task="adding", trials: int = 1, seed: int = 0, workers=None, executor: str = "local",
          out: str = "runs", progress: str = "auto", **overrides) -> list:
    """Many trials of one or more settings (a list value is an axis: `T=[500, 1000]`), like
    `python -m lstmsim sweep`; returns the per-trial summaries (see lstmsim/sweep_api.py)."""
    from .sweep_api import sweep as _sweep

    return _sweep(task, trials=trials, seed=seed, workers=workers, executor=executor, out=out,
                  progress=progress, **overrides)


def reproduce(table, trials=None, **options):
    """Run the paper's Table `table` like `python -m lstmsim reproduce`; returns the SweepResult
    (its `.rows` are the side-by-side rows; `lstmsim.report.side_by_side` draws them)."""
    from .sweep_api import reproduce as _reproduce

    return _reproduce(table, trials=trials, **options)
