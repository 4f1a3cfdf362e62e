"""The paper's result tables 1-9 as runnable settings: which task, which keys, how many trials.

This module is the one place that maps a table number to settings (`python -m lstmsim reproduce
table=N`). Each LSTM row of spec §5 is a `PaperRow`: the task preset, the config keys that make the
row's setting (from spec Table 10 where they differ from the preset), the paper's trial count, and
the paper's numbers. The numbers are read from the preset's `paper:` block when that block is for
the same table and has a row matching the setting; the numbers written here (copied from spec §5)
are the fallback. tests/test_sweep.py checks both against the spec's tables.

Canonical names of the paper's numbers (a preset may use the aliases in `ALIASES`):

    success_after   mean training sequences until success (Tables 1-3, 7-9); ST2 in Tables 4-5,
                    "stop" in Table 6
    st1             mean sequences until ST1 (Tables 4-5)
    success_pct     percentage of successful trials
    wrong           wrong test predictions (of 2560)
    misclassified   fraction of the test set misclassified (Tables 4-6)
    mse             test mean squared error (Table 8)
    avg_diff        mean |output - noise-free target| (Table 6)

Table 8's two rows are two evaluation points (n_seq = 140, then 13) of the same trials: they
share one setting and carry `level`, the n_seq level whose evaluation they report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import UserError

NUMBER_KEYS = ("success_after", "st1", "success_pct", "wrong", "misclassified", "mse", "avg_diff")
ALIASES = {
    "success_after": ("success_after", "st2", "stop", "sequences"),
    "st1": ("st1",),
    "success_pct": ("success_pct", "pct_success", "success_rate", "success"),
    "wrong": ("wrong", "wrong_predictions"),
    "misclassified": ("misclassified", "fraction_misclassified"),
    "mse": ("mse",),
    "avg_diff": ("avg_diff", "av_difference", "avg_difference"),
}
LEVEL_KEYS = ("level", "n_seq", "nseq", "nseq_level")
# keys of a preset's paper row that are neither config keys nor numbers we compare
INFO_KEYS = ("min_lag", "range", "weights", "q_over_p", "note", "table", "trials")


@dataclass(frozen=True)
class PaperRow:
    task: str
    setting: dict  # config keys of this row (beyond the preset)
    trials: int  # the paper's number of trials
    numbers: dict  # the paper's numbers, canonical names (see module doc)
    label: str = ""  # how the paper names the row
    level: int | None = None  # Table 8: the n_seq level whose evaluation the row reports
    source: str = "spec"  # where `numbers` came from: "spec" (this module) or "preset"
    method: str = "LSTM"  # Tables 1-2's method column: LSTM, or a NOT-LSTM competitor (RTRL, ...)


@dataclass(frozen=True)
class PaperTable:
    number: int
    title: str
    rows: tuple[PaperRow, ...]
    note: str = ""
    extra: dict = field(default_factory=dict)


def _r(task, setting, trials, label="", level=None, **numbers) -> PaperRow:
    return PaperRow(task, dict(setting), trials, numbers, label, level)


def _competitors(n: int) -> tuple[PaperRow, ...]:
    """Tables 1-2's conventional-net rows (spec §5), run with the presets of lstmsim/models."""
    rows = {
        1: (("RTRL", "reber_rtrl", {"hidden_units": 3, "lr": 0.05}, 10,
             "RTRL, 3 hidden units, lr 0.05", {"success_after": 173000}),
            ("RTRL", "reber_rtrl", {"hidden_units": 12, "lr": 0.1}, 10,
             "RTRL, 12 hidden units, lr 0.1", {"success_after": 25000}),
            ("ELM", "reber_elman", {"hidden_units": 15}, 10, "ELM (Elman net), 15 hidden units",
             {"success_pct": 0})),
        2: tuple(("RTRL", "lag2a_rtrl", {"p": 4, "lr": lr}, 18, f"RTRL, p = 4, lr {lr}",
                  {"success_pct": pct, "success_after": n})
                 for lr, pct, n in ((1.0, 78, 1043000), (4.0, 56, 892000), (10.0, 22, 254000)))
        + (("RTRL", "lag2a_rtrl", {"p": 10, "lr": 1.0}, 18, "RTRL, p = 10, lr 1.0 (paper 1.0-10.0)",
            {"success_pct": 0}),
           ("RTRL", "lag2a_rtrl", {"p": 100, "lr": 1.0}, 18,
            "RTRL, p = 100, lr 1.0 (paper 1.0-10.0)", {"success_pct": 0}),
           ("BPTT", "lag2a_bptt", {"p": 100, "lr": 1.0}, 18,
            "BPTT, p = 100, lr 1.0 (paper 1.0-10.0)", {"success_pct": 0})),
    }[n]
    return tuple(PaperRow(task, dict(setting), trials, numbers, label, method=method)
                 for method, task, setting, trials, label, numbers in rows)


TABLES: dict[int, PaperTable] = {t.number: t for t in (
    PaperTable(1, "Exp. 1, embedded Reber grammar (LSTM rows)", (
        _r("reber", {"blocks": "4x1", "lr": 0.1}, 30, "4 blocks, size 1, lr 0.1",
           success_pct=100, success_after=39740),
        _r("reber", {"blocks": "3x2", "lr": 0.1}, 30, "3 blocks, size 2, lr 0.1",
           success_pct=100, success_after=21730),
        _r("reber", {"blocks": "3x2", "lr": 0.2}, 30, "3 blocks, size 2, lr 0.2",
           success_pct=97, success_after=14060),
        _r("reber", {"blocks": "4x1", "lr": 0.5}, 30, "4 blocks, size 1, lr 0.5",
           success_pct=97, success_after=9500),
        _r("reber", {"blocks": "3x2", "lr": 0.5}, 30, "3 blocks, size 2, lr 0.5",
           success_pct=100, success_after=8440),
        # NOT LSTM (issue 8, lstmsim/models): the literature's rows we can run. The paper's RTRL
        # rows list only Smith & Zipser's successful runs ("some fraction"; trial count not given)
        *_competitors(1),
    ), note="Means of 30 trials; whether the 97 % rows' means include the failed trial is not stated. "
            "Not run (no such model in lstmsim): RCC, 7-9 hidden units, ~119-198 weights, 50 % "
            "success after 182,000 (Fahlman 1991)."),
    PaperTable(2, "Exp. 2a noise-free long lag (and 2b, reported in the text)", (
        _r("lag2a", {"p": 100}, 18, "2a, p = 100", success_pct=100, success_after=5040),
        _r("lag2b", {"p": 100}, 18, "2b, p = 100 (text)", success_pct=100, success_after=5680),
        *_competitors(2),  # NOT LSTM (issue 8): RTRL and BPTT
    ), note="Not run (no such model in lstmsim): CH, the neural sequence chunker, p = 100, lr 1.0, "
            "10,506 weights, 33 % success after 32,400."),
    PaperTable(3, "Exp. 2c, very long lags", tuple(
        _r("lag2c", {"q": q, "p": p}, 20, f"q = {q}, p = {p}", success_after=n)
        for q, p, n in ((50, 50, 30000), (100, 100, 31000), (200, 200, 33000), (500, 500, 38000),
                        (1000, 1000, 49000), (1000, 500, 49000), (1000, 200, 75000),
                        (1000, 100, 135000), (1000, 50, 203000))
    )),
    PaperTable(4, "Exp. 3a, 2-sequence problem (ST2 in the sequences column)", (
        _r("twoseq", {"variant": "a", "T": 100, "N": 3}, 10, "T = 100, N = 3",
           st1=27380, success_after=39850, misclassified=0.000195),
        _r("twoseq", {"variant": "a", "T": 100, "N": 1}, 10, "T = 100, N = 1",
           st1=58370, success_after=64330, misclassified=0.000117),
        _r("twoseq", {"variant": "a", "T": 1000, "N": 3}, 10, "T = 1000, N = 3",
           st1=446850, success_after=452460, misclassified=0.000078),
    )),
    PaperTable(5, "Exp. 3b, informative elements also noisy (ST2 in the sequences column)", (
        _r("twoseq", {"variant": "b", "T": 100, "N": 3}, 10, "T = 100, N = 3",
           st1=41740, success_after=43250, misclassified=0.00828),
        _r("twoseq", {"variant": "b", "T": 100, "N": 1}, 10, "T = 100, N = 1",
           st1=74950, success_after=78430, misclassified=0.01500),
        _r("twoseq", {"variant": "b", "T": 1000, "N": 1}, 10, "T = 1000, N = 1",
           st1=481060, success_after=485080, misclassified=0.01207),
    )),
    PaperTable(6, "Exp. 3c, noisy real-valued targets (stop in the sequences column)", (
        _r("twoseq", {"variant": "c", "T": 100, "N": 3}, 10, "T = 100, N = 3",
           success_after=269650, misclassified=0.00558, avg_diff=0.014),
        _r("twoseq", {"variant": "c", "T": 100, "N": 1}, 10, "T = 100, N = 1",
           success_after=565640, misclassified=0.00441, avg_diff=0.012),
    )),
    PaperTable(7, "Exp. 4, adding problem", (
        _r("adding", {"T": 100}, 10, "T = 100", wrong=1, success_after=74000),
        _r("adding", {"T": 500}, 10, "T = 500", wrong=0, success_after=209000),
        _r("adding", {"T": 1000}, 10, "T = 1000", wrong=1, success_after=853000),
    ), note="Wrong predictions: error > 0.04 of 2560 (spec §7 item 20: abs or squared)."),
    PaperTable(8, "Exp. 5, multiplication problem (two evaluation points of the same trials)", (
        _r("multiplication", {"T": 100}, 10, "n_seq = 140", level=140,
           wrong=139, mse=0.0223, success_after=482000),
        _r("multiplication", {"T": 100}, 10, "n_seq = 13", level=13,
           wrong=14, mse=0.0139, success_after=1273000),
    )),
    PaperTable(9, "Exp. 6, temporal order", (
        _r("order6a", {}, 20, "Task 6a", wrong=1, success_after=31390),
        _r("order6b", {}, 10, "Task 6b", wrong=2, success_after=571100),
    )),
)}


def table(number: Any) -> PaperTable:
    """Table `number` with the paper's numbers taken from the presets where they have them."""
    try:
        n = int(str(number))
    except ValueError:
        n = None
    if n not in TABLES:
        raise UserError(f"table={number!r}: choose one of {', '.join(map(str, TABLES))}")
    base = TABLES[n]
    rows = tuple(_with_preset_numbers(n, row) for row in base.rows)
    return PaperTable(n, base.title, rows, base.note)


def require_presets(tab: PaperTable) -> None:
    """One line naming the first task of the table that has no preset yet."""
    from .config import available_tasks

    tasks = available_tasks()
    for row in tab.rows:
        if row.task not in tasks:
            raise UserError(f"table {tab.number} needs task {row.task!r}, which has no preset yet "
                            f"(tasks: {', '.join(sorted(tasks))})")


def canonical_numbers(row: dict) -> dict:
    """A preset's paper row with the numbers under their canonical names (see module doc)."""
    out = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias in row and row[alias] is not None:
                out[name] = row[alias]
                break
    return out


def _with_preset_numbers(n: int, row: PaperRow) -> PaperRow:
    from .config import available_tasks, read_preset

    if row.task not in available_tasks():
        return row
    paper = read_preset(row.task).get("paper") or {}
    candidates = []
    for prow in paper.get("rows") or []:
        if not isinstance(prow, dict) or _table_of(prow, paper) not in (n, None):
            continue
        if row.level is not None and _level_of(prow) != row.level:
            continue
        common = [k for k in prow if k in row.setting]
        if all(_same(prow[k], row.setting[k]) for k in common):
            candidates.append(prow)
    if len(candidates) != 1:
        return row
    numbers = {**row.numbers, **canonical_numbers(candidates[0])}
    return PaperRow(row.task, row.setting, row.trials, numbers, row.label, row.level, "preset",
                    row.method)


def _table_of(prow: dict, paper: dict) -> int | None:
    """The table a preset's paper row belongs to; None when the preset names no numbered table
    (e.g. Exp. 2b, reported in the text)."""
    try:
        return int(str(prow.get("table", paper.get("table"))))
    except ValueError:
        return None


def _level_of(prow: dict):
    for k in LEVEL_KEYS:
        if k in prow:
            return int(prow[k])
    return None


def _same(a, b) -> bool:
    """Equal as config values: numbers by value (-3 == -3.0 == '-3'), text ignoring case."""
    return _norm(a) == _norm(b)


def _norm(v):
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if isinstance(v, bool):
        return v
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v).strip().lower()
