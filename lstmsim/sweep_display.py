"""What a person watching a sweep sees, on stderr: trials done, running, solved, and the sequences
so far of the running trials.

`rich`: a live panel (progress bar, counts, one line per running trial) redrawn 4 times a second
from a render function, so it also moves while a serial sweep runs a trial in this process; a line
per finished trial prints above it. `plain` (not a terminal): a line per finished trial and a status
line every 30 s. `none`: silent. Running trials are those whose folder holds a progress.json
(lstmsim.trial); on a cluster without a shared file system none are seen and only the counts of
done and solved trials move.
"""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .progress import _duration, choose_mode
from .trial import read_progress

PLAIN_EVERY = 30.0


class SweepDisplay:
    def __init__(self, mode: str, title: str, total: int, reused: int):
        self.mode = choose_mode(mode)
        self.title = title
        self.total = total
        self.console = Console(stderr=True)
        self._lock = threading.Lock()
        self._pending: dict = {}  # trial -> run_dir, submitted and not finished
        self._running: dict = {}  # trial -> latest progress state
        self.counts = {"done": reused, "reused": reused, "solved": 0, "errors": 0}
        self._started = time.monotonic()
        self._last_plain = time.monotonic()
        self._live: Live | None = None
        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(), console=self.console)
        self._bar_task = self._bar.add_task("trials", total=total, completed=reused)

    def __enter__(self):
        if self.mode == "rich":
            self._live = Live(console=self.console, refresh_per_second=4, transient=False,
                              get_renderable=self._render)
            self._live.__enter__()
        elif self.mode == "plain":
            self._print(f"[{self.title}] {self.total} trials, {self.counts['reused']} already done")
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.refresh()
            self._live.__exit__(*exc)
            self._live = None
        elif self.mode == "plain":
            self._print(self._status_line())

    # ---- events from the sweep loop ---------------------------------------------------------
    def add_solved(self, n: int) -> None:
        with self._lock:
            self.counts["solved"] += n

    def submitted(self, key, label: str, run_dir) -> None:
        with self._lock:
            self._pending[key] = (label, run_dir)

    def finished(self, key, line: str, solved: bool, error: bool = False) -> None:
        with self._lock:
            self._pending.pop(key, None)
            self._running.pop(key, None)
            self.counts["done"] += 1
            self.counts["solved"] += int(solved)
            self.counts["errors"] += int(error)
        self._bar.update(self._bar_task, completed=self.counts["done"])
        n = self.counts["done"]
        self._print(f"[{n}/{self.total}] {line}")

    def tick(self) -> None:
        """Called by the sweep loop about twice a second: plain status lines."""
        if self.mode == "plain" and time.monotonic() - self._last_plain >= PLAIN_EVERY:
            self._last_plain = time.monotonic()
            self._poll()
            self._print(self._status_line())

    # ---- drawing ------------------------------------------------------------------------------
    def _poll(self) -> None:
        with self._lock:
            pending = dict(self._pending)
        for key, (label, run_dir) in pending.items():
            state = read_progress(run_dir)
            if state is not None:
                with self._lock:
                    if key in self._pending:
                        self._running[key] = (label, state)

    def _status_line(self) -> str:
        c = self.counts
        with self._lock:
            running = sorted(self._running.values(), key=lambda x: x[0])
        parts = [f"{c['done']}/{self.total} done", f"{len(running)} running",
                 f"{c['solved']} solved"]
        if c["errors"]:
            parts.append(f"{c['errors']} failed")
        line = f"[{self.title}] " + ", ".join(parts)
        if running:
            line += ": " + "; ".join(
                f"{label} " + ("compiling" if s.get("phase") == "compiling"
                               else f"{s.get('sequences', 0):,} seq"
                               + (" (testing)" if s.get("phase") == "testing" else ""))
                for label, s in running[:8])
        return line

    def _render(self):
        self._poll()
        c = self.counts
        with self._lock:
            running = sorted(self._running.values(), key=lambda x: x[0])
        head = (f"[bold]{escape(self.title)}[/]  done {c['done']}/{self.total}"
                f" ({c['reused']} from earlier runs)  running {len(running)}  solved {c['solved']}"
                + (f"  [red]failed {c['errors']}[/]" if c["errors"] else ""))
        table = Table(box=None, show_header=bool(running), pad_edge=False)
        for col in ("running trial", "sequences", "running error", "wrong/window", "M steps/s",
                    "cap in"):
            table.add_column(col, justify="left" if col == "running trial" else "right")
        for label, s in running[:20]:
            if s.get("phase") == "compiling":
                table.add_row(Text(label), "compiling", "", "", "", "")
                continue
            seqs = f"{s.get('sequences', 0):,}" + (" testing" if s.get("phase") == "testing" else "")
            table.add_row(Text(label), seqs,
                          f"{s.get('avg_error', float('nan')):.4f}",
                          f"{s.get('wrong', 0)}/{s.get('window', 0)}",
                          f"{(s.get('steps_per_second') or 0) / 1e6:.2f}",
                          _duration(s.get("eta_seconds")))
        if len(running) > 20:
            table.add_row(f"... and {len(running) - 20} more", "", "", "", "", "")
        return Group(self._bar, Text.from_markup(head), table)

    def _print(self, text: str) -> None:
        if self.mode == "none":
            return
        if self.mode == "rich":
            self.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)
