"""lstmsim: a fast, faithful simulator of the original 1997 Long Short-Term Memory network."""

__version__ = "0.1.0"

from . import _cache  # noqa: E402,F401  (must run before any kernel module is imported)


def run(task: str = "adding", **overrides) -> dict:
    """Train one network (like `python -m lstmsim task=... key=value`); returns the summary dict."""
    from .runner import run as _run

    return _run(task, **overrides)
