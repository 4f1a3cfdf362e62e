"""A sweep's results: results.csv (one row per trial), report.md and the side-by-side table.

A report row is one task setting (or, for Table 8, one evaluation level of a setting) with its
trials' summaries and, where the paper has the row, the paper's numbers (lstmsim.paper_tables).
Sequences until success are averaged over the successful trials only (the paper's convention as
far as it can be read, spec §5 Table 1); unsuccessful trials count in the success rate.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table
from rich.text import Text

PAPER_TEST_SIZE = 2560  # the paper's wrong-prediction counts are out of 2560 (Tables 7-9)
TIMING_COLUMNS = ("steps_per_second", "train_seconds", "wall_seconds")
TEST_KEYS = ("test_size", "test_wrong", "test_wrong_abs", "test_wrong_squared",
             "test_mean_abs_error", "test_mse", "test_max_abs_error")


@dataclass
class ReportRow:
    label: str  # how the row is named in tables (a setting label or the paper's row name)
    summaries: list  # the trials' summaries (dicts; status "error" for a failed trial)
    paper: dict | None = None  # the paper's numbers (paper_tables canonical names)
    paper_trials: int | None = None
    level: int | None = None  # report the evaluation at this n_seq level (Table 8)
    source: str = ""  # where the paper's numbers came from
    rule: str = "abs"  # the runs' correctness rule
    threshold: float | None = None
    stats: dict = field(default_factory=dict)

    def __post_init__(self):
        self.stats = row_stats(self.summaries, self.level)
        rules = {s.get("correct_rule") for s in self.summaries if s.get("correct_rule")}
        if len(rules) == 1:  # what the runs used (e.g. Reber's rank rule), over the config's key
            self.rule = rules.pop()


def rows_from_summaries(summaries: list[dict]) -> list[ReportRow]:
    """Report rows of the summaries a sweep returned (`lstmsim.sweep`), one per setting in order
    of appearance, with the paper's numbers where a row of lstmsim.paper_tables matches."""
    from .paper_tables import TABLES, _same, canonical_numbers, table

    groups: dict[str, list] = {}
    for s in summaries:
        setting = s.get("setting") or {"task": s.get("task")}
        groups.setdefault(_text(sorted(setting.items())), []).append(s)
    settings = [m[0].get("setting") or {"task": m[0].get("task")} for m in groups.values()]
    keys = list(dict.fromkeys(k for st in settings for k in st if k != "task"))
    if len(settings) > 1:  # name the settings by what differs between them
        keys = [k for k in keys if len({_text(st.get(k)) for st in settings}) > 1]
    rows = []
    for members, setting in zip(groups.values(), settings):
        matches = [r for n in TABLES for r in table(n).rows
                   if r.task == setting["task"] and r.level is None
                   and all(k in setting and _same(setting[k], v) for k, v in r.setting.items())]
        paper = matches[0] if len(matches) == 1 else None
        label = " ".join([str(setting["task"])]
                         + [f"{k}={_text(setting[k])}" for k in keys if k in setting])
        if paper is not None:
            rows.append(ReportRow(label, members, paper=paper.numbers, paper_trials=paper.trials,
                                  source=paper.source))
        else:  # the preset's own matching row, as the runner recorded it
            recorded = members[0].get("paper") or {}
            rows.append(ReportRow(label, members, paper=canonical_numbers(recorded) or None,
                                  paper_trials=recorded.get("trials"), source="preset"))
    return rows


def row_stats(summaries: list, level: int | None = None) -> dict:
    ran = [s for s in summaries if s.get("status") != "error"]
    if level is None:
        tests = ran
        seqs = [s["sequences_to_solve"] for s in ran if s.get("solved")]
    else:  # an evaluation point: "success" = the level was reached
        tests = [e for s in ran for e in s.get("evaluations", []) if e.get("level") == level]
        seqs = [e["sequences"] for e in tests]
    st1 = [s.get("criteria_first_met", {}).get("ST1") for s in ran]
    st1 = [v for v in st1 if v is not None]
    out = {"trials": len(summaries), "ran": len(ran), "errors": len(summaries) - len(ran),
           "solved": len(seqs), "success_pct": 100.0 * len(seqs) / len(ran) if ran else math.nan,
           "seqs": _spread(seqs), "st1": _spread(st1), "tested": len(tests)}
    for key in ("test_wrong", "test_wrong_abs", "test_wrong_squared"):
        out[key] = _spread([t[key] for t in tests])
    for key in ("test_mse", "test_mean_abs_error"):
        out[key] = _spread([t[key] for t in tests])
    sizes = {t["test_size"] for t in tests}
    out["test_size"] = sizes.pop() if len(sizes) == 1 else None
    fractions = [t["test_wrong"] / t["test_size"] for t in tests if t["test_size"]]
    out["misclassified"] = _spread(fractions)
    return out


def _spread(values: list) -> dict:
    if not values:
        return {"n": 0, "mean": math.nan, "median": math.nan, "min": math.nan, "max": math.nan}
    return {"n": len(values), "mean": statistics.fmean(values), "median": statistics.median(values),
            "min": min(values), "max": max(values)}


# ---- results.csv ------------------------------------------------------------------------------
def write_csv(path: Path, records: list[dict]) -> None:
    """records: dicts with the setting's keys, trial, seed and the summary (see `csv_record`)."""
    columns: list[str] = []
    for rec in records:
        for key in rec:
            if key not in columns:
                columns.append(key)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for rec in records:
            writer.writerow({k: _csv_value(rec.get(k)) for k in columns})
    os.replace(tmp, path)


def csv_record(task: str, axes: dict, trial: int, seed: int, summary: dict, folder: Path) -> dict:
    s = summary
    rec = {"task": task, **{k: _text(v) for k, v in axes.items()}, "trial": trial, "seed": seed,
           "status": s.get("status"), "solved": s.get("solved"),
           "sequences_to_solve": s.get("sequences_to_solve"),
           "sequences_trained": s.get("sequences_trained"), "correct_rule": s.get("correct_rule")}
    rec.update({k: s.get(k) for k in TEST_KEYS})
    for name, seq in sorted((s.get("criteria_first_met") or {}).items()):
        rec[f"{name}_at"] = seq
    for ev in s.get("evaluations") or []:
        if "level" in ev:
            for k in ("sequences", "test_wrong", "test_wrong_abs", "test_wrong_squared",
                      "test_mse"):
                rec[f"nseq{ev['level']}_{k}"] = ev.get(k)
    rec.update({"n_weights": s.get("n_weights"), **{k: s.get(k) for k in TIMING_COLUMNS}})
    run_dir = s.get("run_dir")
    if run_dir:
        try:
            run_dir = os.path.relpath(run_dir, folder)
        except ValueError:
            pass
    rec["run_dir"] = run_dir
    rec["error"] = s.get("error", "")
    return rec


def _csv_value(v):
    if isinstance(v, float):
        return repr(v)
    return "" if v is None else v


def _text(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_text(x) for x in v) + "]"
    return str(v)


# ---- report.md --------------------------------------------------------------------------------
def markdown(title: str, header_lines: list[str], rows: list[ReportRow]) -> str:
    rules = sorted({r.rule for r in rows})
    out = [f"# {title}", ""] + [f"* {line}" for line in header_lines]
    out += [f"* Correctness rule of the runs: `correct={'/'.join(rules)}` "
            f"({_rule_text(rows)}). Test wrong counts are given under both readings of spec §7 "
            "item 20: `abs` (|t−y| < threshold at every judged step, the paper's text) and "
            "`squared` ((t−y)² < threshold).",
            "* Sequences until success: over the successful trials only; ratio = our mean / the "
            "paper's mean.", ""]
    out += ["## Learning speed", "",
            "| setting | trials | solved | success % | mean | median | min | max | paper "
            "| ours/paper | paper success % |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, p = r.stats, r.paper or {}
        q = s["seqs"]
        out.append(f"| {r.label} | {s['ran']}{_err(s)} | {s['solved']} | {_pct(s['success_pct'])} "
                   f"| {_int(q['mean'])} | {_int(q['median'])} | {_int(q['min'])} | {_int(q['max'])} "
                   f"| {_int(p.get('success_after'))} | {_ratio(q['mean'], p.get('success_after'))} "
                   f"| {_pct(p.get('success_pct'))} |")
    out += ["", "## Test", "",
            "| setting | test size | rule | wrong mean | wrong max | wrong abs mean / max "
            "| wrong squared mean / max | test MSE | mean abs error | paper wrong |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        s, p = r.stats, r.paper or {}
        out.append(f"| {r.label} | {s['test_size'] or '-'} | {r.rule} "
                   f"| {_num(s['test_wrong']['mean'])} | {_int(s['test_wrong']['max'])} "
                   f"| {_num(s['test_wrong_abs']['mean'])} / {_int(s['test_wrong_abs']['max'])} "
                   f"| {_num(s['test_wrong_squared']['mean'])} / "
                   f"{_int(s['test_wrong_squared']['max'])} "
                   f"| {_num(s['test_mse']['mean'])} | {_num(s['test_mean_abs_error']['mean'])} "
                   f"| {_paper_wrong(p)} |")
    extra = [(r, name, ours, p) for r in rows for name, ours, p in _extra_metrics(r)]
    if extra:
        out += ["", "## Other columns of the paper", "",
                "| setting | column | ours (mean) | paper | ours/paper |", "|---|---|---|---|---|"]
        for r, name, ours, p in extra:
            out.append(f"| {r.label} | {name} | {_num(ours)} | {_num(p)} | {_ratio(ours, p)} |")
    sources = sorted({r.source for r in rows if r.paper})
    if sources:
        out += ["", "Paper numbers from: " + ", ".join(
            {"spec": "spec §5 (lstmsim/paper_tables.py)", "preset": "the task presets' `paper:` "
             "blocks"}.get(x, x) for x in sources) + "."]
    return "\n".join(out) + "\n"


def _extra_metrics(r: ReportRow):
    p = r.paper or {}
    s = r.stats
    for key, name, ours in (("st1", "ST1 (sequences)", s["st1"]["mean"]),
                            ("misclassified", "fraction misclassified", s["misclassified"]["mean"]),
                            ("mse", "test MSE", s["test_mse"]["mean"]),
                            ("avg_diff", "mean abs difference", s["test_mean_abs_error"]["mean"])):
        if p.get(key) is not None:
            yield name, ours, p[key]


def _rule_text(rows: list[ReportRow]) -> str:
    parts = sorted({f"{r.rule}, threshold {r.threshold:g}" for r in rows
                    if r.threshold is not None})
    return "; ".join(parts) or "see the runs' config.yaml"


# ---- a sweep folder's results ---------------------------------------------------------------
def write_results(plan, summaries: list[dict], table_rows: list | None = None,
                  title: str | None = None) -> list:
    """results.csv and report.md of a sweep (lstmsim.sweep_plan.Plan); returns the report rows."""
    records = [csv_record(plan.settings[t.setting].task, plan.settings[t.setting].axes,
                          t.index, t.seed, s, plan.folder)
               for t, s in zip(plan.trials, summaries)]
    write_csv(plan.folder / "results.csv", records)
    rows = report_rows(plan, summaries, table_rows)
    header = [f"Sweep folder: `{plan.folder}`", f"Root seed: {plan.root_seed} (trial k: "
              "`SeedSequence(root).spawn(k+1)[k]`, see lstmsim/trial.py)",
              "Settings: " + "; ".join(_setting_text(s) for s in plan.settings)]
    text = markdown(title or f"Sweep {plan.name}", header, rows)
    (plan.folder / "report.md").write_text(text)
    return rows


def _setting_text(s) -> str:
    values = " ".join(f"{k}={_text(v)}" for k, v in s.resolved.items())
    head = f"`{s.task}`" if s.label == s.task else f"{s.label}: `{s.task}`"
    return f"{head} {values} ({s.trials} trials)".replace("  ", " ")


def report_rows(plan, summaries: list[dict], table_rows: list | None = None) -> list:
    """One report row per setting and matching paper row (Table 8: one per level)."""
    from .paper_tables import TABLES, _same

    by_setting: dict[int, list] = {}
    for t, s in zip(plan.trials, summaries):
        by_setting.setdefault(t.setting, []).append(s)
    rows = []
    for si, s in enumerate(plan.settings):
        cfg = s.base_config
        if table_rows is not None:
            matches = [r for r in table_rows if r.task == s.task
                       and all(_same(cfg.get(k), v) for k, v in r.setting.items())]
        else:
            from .paper_tables import table as resolve_table

            matches = [r for n in TABLES for r in resolve_table(n).rows if r.task == s.task
                       and all(_same(cfg.get(k), v) for k, v in r.setting.items())]
        for r in matches or [None]:
            label = s.label if r is None or table_rows is None else r.label
            if r is not None and r.level is not None and table_rows is None:
                label = f"{s.label} (n_seq {r.level})"
            rows.append(ReportRow(
                label=label, summaries=by_setting.get(si, []),
                paper=r.numbers if r else None, paper_trials=r.trials if r else None,
                level=r.level if r else None, source=r.source if r else "",
                rule=str(cfg.get("correct")), threshold=cfg.get("threshold")))
    return rows


# ---- the side-by-side table on the terminal -------------------------------------------------
def side_by_side(title: str, rows: list[ReportRow]) -> Table:
    t = Table(title=Text(title), title_justify="left")
    for col, just in (("setting", "left"), ("trials", "right"), ("solved", "right"),
                      ("sequences to success, ours: mean (min-max)", "right"),
                      ("paper (trials)", "right"), ("ours/paper", "right"),
                      ("test wrong, ours: mean/max (rule)", "right"),
                      ("mean wrong abs | squared", "right"), ("paper wrong", "right")):
        t.add_column(col, justify=just, overflow="fold")
    extra = any(True for r in rows for _ in _extra_metrics(r))
    if extra:
        t.add_column("other columns: ours vs paper", overflow="fold")
    for r in rows:
        s, p = r.stats, r.paper or {}
        q, w = s["seqs"], s["test_wrong"]
        span = f" ({_int(q['min'])}-{_int(q['max'])})" if q["n"] > 1 else ""
        size = f" of {s['test_size']}" if s["test_size"] else ""
        paper_n = f" ({r.paper_trials})" if r.paper_trials else ""
        t.add_row(Text(r.label), f"{s['ran']}{_err(s)}", f"{s['solved']}{_pct_paren(p)}",
                  f"{_int(q['mean'])}{span}", _int(p.get("success_after")) + paper_n,
                  _ratio(q["mean"], p.get("success_after")),
                  f"{_num(w['mean'])} / {_int(w['max'])}{size} ({r.rule})",
                  f"{_num(s['test_wrong_abs']['mean'])} | {_num(s['test_wrong_squared']['mean'])}",
                  _paper_wrong(p), *([_extra_text(r)] if extra else []))
    return t


def print_side_by_side(title: str, rows: list[ReportRow]) -> None:
    """The side-by-side table on stdout (200 columns wide when stdout is not a terminal)."""
    import sys

    from rich.console import Console

    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(side_by_side(title, rows))


def _paper_wrong(p: dict) -> str:
    return "-" if p.get("wrong") is None else f"{_num(p['wrong'])} of {PAPER_TEST_SIZE}"


def _extra_text(r: ReportRow) -> str:
    return "; ".join(f"{name} {_num(ours)} vs {_num(p)}" for name, ours, p in _extra_metrics(r))


def _pct_paren(p: dict) -> str:
    return f" (paper {p['success_pct']:g} %)" if p.get("success_pct") is not None else ""


def _err(s: dict) -> str:
    return f" ({s['errors']} failed)" if s["errors"] else ""


def _int(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{round(v):,}"


def _num(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, int) or float(v).is_integer() or abs(v) >= 1000:
        return f"{round(v):,}"
    return f"{v:.{digits}g}"


def _pct(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.0f}"


def _ratio(ours, paper) -> str:
    if paper in (None, 0) or ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return "-"
    return f"{ours / paper:.2f}"
