"""`python -m lstmsim list`: every task preset with its description and the paper's headline."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from . import config


def headline(preset: dict) -> str:
    paper = preset.get("paper") or {}
    rows = paper.get("rows") or []
    if not rows:
        return ""
    row = rows[0]
    parts = [f"Table {paper.get('table')}" if paper.get("table") else ""]
    for key in ("success_after", "st2", "stop"):
        if key in row:
            parts.append(f"{key.replace('_', ' ')} {row[key]:,}")
            break
    if "wrong" in row:
        parts.append(f"{row['wrong']} wrong")
    return ", ".join(p for p in parts if p)


def print_task_list() -> None:
    table = Table(title="lstmsim tasks", show_lines=False)
    for col in ("task", "description", "key options", "paper"):
        table.add_column(col)
    for name, path in sorted(config.available_tasks().items()):
        preset = config.read_preset(str(path))
        kind = preset.get("kind", "adding")
        keys = ""
        if kind in config.TASK_KINDS:
            import dataclasses

            keys = " ".join(f"{f.name}={preset.get(f.name, f.default)}"
                            for f in dataclasses.fields(config.TASK_KINDS[kind].keys))
        table.add_row(name, str(preset.get("description", "")), keys, headline(preset))
    Console().print(table)
