"""`python -m lstmsim list`: every task preset with its description, key options and the paper's
headline number (the reported row for the preset's own defaults)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from . import config
from .errors import UserError


def key_options(preset: dict, cfg=None) -> str:
    """'key=a|b' for the keys that select the paper's rows, then the kind's main keys=default."""
    rows = (preset.get("paper") or {}).get("rows") or []
    kind = config.TASK_KINDS.get(preset.get("kind", "adding"))
    shown: dict[str, list] = {}
    for row in rows:
        for key, value in row.items():
            if cfg is not None and key in cfg and key != "paper":
                values = shown.setdefault(key, [])
                if value not in values:
                    values.append(value)
    for key in (kind.options if kind else ()):
        if key not in shown:
            shown[key] = [preset.get(key, cfg[key] if cfg is not None and key in cfg else "?")]
    text = lambda v: str(v).lower() if isinstance(v, bool) else str(v)  # noqa: E731
    return " ".join(f"{k}={'|'.join(map(text, v))}" for k, v in shown.items())


def headline(cfg) -> str:
    from .runner import paper_row, paper_text

    row = paper_row(cfg) if cfg is not None else None
    return paper_text(row) if row else ""


def print_task_list() -> None:
    table = Table(title="lstmsim tasks", show_lines=False)
    for col in ("task", "description", "key options", "paper (preset defaults)"):
        table.add_column(col)
    for name, path in sorted(config.available_tasks().items()):
        preset = config.read_preset(str(path))
        try:
            cfg = config.load(str(path))
        except UserError:
            cfg = None
        table.add_row(name, str(preset.get("description", "")), key_options(preset, cfg),
                      headline(cfg))
    # off a terminal rich assumes 80 columns; give the table room when piped
    Console(width=None if sys.stdout.isatty() else 200).print(table)
