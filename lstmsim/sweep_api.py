"""The user-facing sweep entry points: `python -m lstmsim sweep|reproduce ...`, `lstmsim.sweep()`
and `lstmsim.reproduce()`.

    python -m lstmsim reproduce table=N [trials=...] [seed=0] [workers=...] [executor=...] [out=...]
                                [progress=...] [any run key=value, e.g. max_sequences=20000]

`reproduce` runs the settings of the paper's Table N (lstmsim/paper_tables.py) with the paper's
trial counts unless `trials=` is given. A key that the table's rows set (e.g. `T` of Table 7, or
`task`) selects rows: `reproduce table=7 T=100` runs only the T = 100 row. Any other run key is
applied to every row.
"""

from __future__ import annotations

import json
from typing import Any

from omegaconf import ListConfig, OmegaConf

from . import config as config_mod
from . import paper_tables
from . import report as report_mod
from .errors import UserError
from .sweep_plan import (SWEEP_KEYS, SweepResult, make_plan, make_settings, resolve_setting,
                         split_values, sweep_options)
from .sweep_run import execute


# ---- command line -----------------------------------------------------------------------------
def cmd_sweep(args: list[str]) -> int:
    pairs = config_mod.parse_overrides(args)
    opts = sweep_options({k: pairs.pop(k) for k in SWEEP_KEYS if k in pairs})
    tasks = split_values("task", pairs.pop("task", "adding"))
    axes, fixed = [], {}
    for key, text in pairs.items():
        values = split_values(key, text)
        if len(values) > 1:
            axes.append((key, values))
        else:
            fixed[key] = values[0]
    settings = make_settings(tasks, axes, fixed, opts["trials"])
    plan = make_plan(settings, opts["seed"], opts["out"])
    result = execute(plan, opts["executor"], opts["workers"], opts["progress"], lanes=opts["lanes"])
    return _finish(result, f"Sweep {plan.name}")


def cmd_reproduce(args: list[str]) -> int:
    pairs = config_mod.parse_overrides(args)
    if "table" not in pairs:
        tables = ", ".join(map(str, paper_tables.TABLES))
        raise UserError(f"reproduce needs table=N, N one of {tables}")
    number = pairs.pop("table")
    opts = {k: pairs.pop(k) for k in SWEEP_KEYS if k in pairs}
    result = reproduce(number, **opts, **pairs)
    tab = paper_tables.TABLES[int(number)]
    return _finish(result, f"Table {tab.number}: {tab.title} (ours vs paper)")


def _finish(result: SweepResult, title: str) -> int:
    report_mod.print_side_by_side(title, result.rows)
    if result.errors:
        print(f"{result.errors} trial(s) failed; rerun the same command to retry them")
    print(result.plan.folder)
    return 1 if result.errors else 0


# ---- Python API -------------------------------------------------------------------------------
def sweep(task: Any = "adding", trials: int = 1, seed: int = 0, workers: int | None = None,
          executor: str = "local", out: str = "runs", progress: str = "auto",
          **overrides) -> list[dict]:
    """Run a sweep as `python -m lstmsim sweep` does; returns the per-trial summaries.

    A list value is an axis (`T=[500, 1000]`); for a key whose value is itself a list
    (`in_gate_bias`), a list of lists is an axis and a flat list one value. `task` may be a list.
    Trials are ordered trial-major: trial 0 of every setting, then trial 1, ...; each summary
    holds its task, seed and `run_dir`; the setting's values are in its `run_dir`/config.yaml.
    """
    return run_sweep(task, trials, seed, workers, executor, out, progress, **overrides).summaries


def run_sweep(task: Any = "adding", trials: int = 1, seed: int = 0, workers: int | None = None,
              executor: str = "local", out: str = "runs", progress: str = "auto",
              lanes: int | str = "auto", **overrides) -> SweepResult:
    """Like `sweep` but returns the whole SweepResult (plan, summaries, report rows, counts)."""
    opts = sweep_options({"trials": trials, "seed": seed, "workers": workers,
                          "executor": executor, "out": out, "progress": progress, "lanes": lanes})
    tasks = [str(t) for t in (task if isinstance(task, (list, tuple)) else [task])]
    axes, fixed = split_axes(tasks[0], overrides)
    settings = make_settings(tasks, axes, fixed, opts["trials"])
    plan = make_plan(settings, opts["seed"], opts["out"])
    return execute(plan, opts["executor"], opts["workers"], opts["progress"], lanes=opts["lanes"])


def split_axes(task: str, overrides: dict) -> tuple[list, dict]:
    """Python values -> (axes, fixed): a list is an axis, except a flat list for a list-valued key
    (`in_gate_bias=[-3, -6]` is one value, `in_gate_bias=[[-3, -6], [-2, -4]]` an axis)."""
    base = config_mod.load(task, {})
    axes, fixed = [], {}
    for key, value in overrides.items():
        list_key = isinstance(OmegaConf.select(base, key, default=None), ListConfig)
        is_axis = isinstance(value, (list, tuple)) and (
            not list_key or (bool(value) and all(isinstance(v, (list, tuple)) for v in value)))
        if is_axis:
            if not value:
                raise UserError(f"{key}=[]: an axis needs at least one value")
            axes.append((key, list(value)))
        else:
            fixed[key] = value
    return axes, fixed


def reproduce(table: Any, trials: int | None = None, seed: int = 0, workers: int | None = None,
              executor: str = "local", out: str = "runs", progress: str = "auto",
              lanes: int | str = "auto", **overrides) -> SweepResult:
    """Run the settings of the paper's Table `table`; returns the SweepResult (`.rows` holds the
    side-by-side rows, `report.side_by_side` draws them)."""
    opts = sweep_options({"trials": trials if trials is not None else 1, "seed": seed,
                          "workers": workers, "executor": executor, "out": out,
                          "progress": progress, "lanes": lanes})
    plan, rows = plan_reproduction(table, trials, seed, out, **overrides)
    tab = paper_tables.TABLES[int(str(table))]
    return execute(plan, opts["executor"], opts["workers"], opts["progress"],
                   title=f"Table {tab.number}: {tab.title}", table_rows=rows, lanes=opts["lanes"])


def plan_reproduction(table: Any, trials: int | None = None, seed: int = 0, out: str = "runs",
                      **overrides) -> tuple:
    """(plan, paper rows) of Table `table`: its rows, selected by the overrides that name a row
    key (or `task`), the other overrides applied to every row. Writes nothing."""
    tab = paper_tables.table(table)
    opts = sweep_options({"trials": trials if trials is not None else 1, "seed": seed})
    rows = list(tab.rows)
    fixed = {}
    for key, value in overrides.items():
        values = _values(key, value)
        if key == "task" or any(key in r.setting for r in rows):
            rows = [r for r in rows
                    if any(paper_tables._same(r.task if key == "task" else r.setting.get(key), v)
                           for v in values)]
            if not rows:
                have = dict.fromkeys(str(r.task if key == "task" else r.setting.get(key))
                                     for r in tab.rows)
                raise UserError(f"table {tab.number} has no row with {key}={value} "
                                f"(its rows have {key} = {', '.join(have)})")
        elif len(values) > 1:
            raise UserError(f"{key}={value}: reproduce runs the table's settings; give one value "
                            "(use `sweep` for a list)")
        else:
            fixed[key] = values[0]
    paper_tables.require_presets(paper_tables.PaperTable(tab.number, tab.title, tuple(rows)))
    groups: dict[str, list] = {}
    for r in rows:
        key = json.dumps([r.task, r.setting], sort_keys=True, default=str)
        groups.setdefault(key, []).append(r)
    settings, labels = [], []
    for members in groups.values():
        r = members[0]
        n = opts["trials"] if trials is not None else max(m.trials for m in members)
        settings.append(resolve_setting(r.task, {**r.setting, **fixed}, n))
        labels.append(r.label if len(members) == 1 else r.task)
    plan = make_plan(settings, opts["seed"], out, prefix=f"table{tab.number}", labels=labels)
    return plan, rows


def _values(key: str, value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return split_values(key, str(value))
