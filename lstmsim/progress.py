"""What a person watching a run sees: a rich live panel on a terminal, plain lines elsewhere.

Everything goes to stderr; results go to files (and the final line to stdout).
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.table import Table


def choose_mode(requested: str) -> str:
    if requested != "auto":
        return requested
    return "rich" if sys.stderr.isatty() else "plain"


class Display:
    """Shows the state dicts that the runner passes to `update` (see runner._progress_state)."""

    def __init__(self, mode: str, title: str, plain_every: float = 10.0):
        self.mode = choose_mode(mode)
        self.title = title
        self.plain_every = plain_every
        self.console = Console(stderr=True)
        self._live: Live | None = None
        self._last_plain = 0.0

    def __enter__(self):
        if self.mode == "rich":
            self._live = Live(self._table({}), console=self.console, refresh_per_second=4,
                              transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def message(self, text: str) -> None:
        if self.mode == "none":
            return
        if self.mode == "rich":
            self.console.print(text)
        else:
            print(text, file=sys.stderr, flush=True)

    def update(self, state: dict, final: bool = False) -> None:
        if self.mode == "rich" and self._live is not None:
            self._live.update(self._table(state))
        elif self.mode == "plain":
            now = time.monotonic()
            if final or now - self._last_plain >= self.plain_every:
                self._last_plain = now
                print(self._line(state), file=sys.stderr, flush=True)

    def _line(self, s: dict) -> str:
        return (f"[{self.title}] seq {s.get('sequences', 0):,}  "
                f"err {s.get('avg_error', float('nan')):.4f}  "
                f"wrong/{s.get('window', 0)} {s.get('wrong', 0)}  "
                f"{s.get('steps_per_second', 0) / 1e6:.2f} M steps/s  "
                f"cap in {_duration(s.get('eta_seconds'))}")

    def _table(self, s: dict) -> Table:
        t = Table(title=self.title, show_header=False, box=None)
        t.add_column(style="bold")
        t.add_column(justify="right")
        t.add_row("sequences", f"{s.get('sequences', 0):,} / {s.get('max_sequences', 0):,}")
        t.add_row("running error", f"{s.get('avg_error', float('nan')):.5f}")
        t.add_row(f"wrong of last {s.get('window', 0):,}", f"{s.get('wrong', 0):,}")
        t.add_row("steps/s", f"{s.get('steps_per_second', 0) / 1e6:.2f} M")
        t.add_row("time to cap", _duration(s.get("eta_seconds")))
        return t


def _duration(seconds) -> str:
    if seconds is None or seconds != seconds:
        return "-"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
