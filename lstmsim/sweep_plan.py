"""Sweeps: the Cartesian product of settings times trials, run by any executor, restartable.

    python -m lstmsim sweep task=adding T=100,500,1000 trials=10 [seed=0] [workers=2]
                            [executor=local|serial|dask|dask://HOST:PORT] [out=runs]
                            [progress=auto|rich|plain|none] [any run key=value or =v1,v2,...]

A comma at the top level of a value separates the values of an axis; commas inside brackets do not
(`in_gate_bias=[-3,-6],[-2,-4]` is two values). A text key whose value itself contains a comma is
written in brackets (`blocks=[1,2]` is the one value `1,2`).

The sweep folder is `<out>/sweeps/<tasks>-<hash>`: the hash is of the settings (task and resolved
override values, in any order) and the root seed, not of the trial count, the executor or the
display, so rerunning the same command finds the same folder, and more trials extend it. Trial k
of a setting lives in `<setting>/trial-<k>` and runs with seed `trial.trial_seed(root, k)`. A trial
whose summary.json is valid and whose config.yaml equals the config it would run now is reused;
any other trial folder is removed and the trial run again.

This module is what a sweep runs (settings, trials, seeds, folders, which trials are done);
lstmsim/sweep_run.py runs it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf

from . import config as config_mod
from . import report as report_mod
from .errors import UserError
from .executors import check as check_executor
from .trial import trial_seed

SWEEP_KEYS = ("trials", "seed", "workers", "executor", "out", "progress", "lanes")
MAX_LANES = 8  # lanes of a batch (lstmsim/fast/lanes.py, sweep_batches.py) with lanes=auto
# With lanes=auto, nets with more output weights than this run their trials alone: on Exp. 2a's net
# (10,403 output weights, targets at every step) the output layer's work (forward and backward)
# is as much in lanes as alone, and 8 lanes ran at 0.84-0.89 x one trial alone (0.49 x while each
# lane's backward pass ran on its own, before lane_backward.py; 2026-11-26). Exp. 2c at p = 1000,
# 2,014 output weights, targets at one step: 1.63 x; the Reber net, 84, targets at every step: 1.4 x
LANES_MAX_OUTPUT_WEIGHTS = 5000
IGNORED_IN_CHECK = ("out", "progress", "paper", "description")


@dataclass
class Setting:
    task: str
    overrides: dict  # as given (strings from the command line, Python values from the API)
    resolved: dict  # the resolved value of each override key (for hashing, labels, matching)
    base_config: dict  # the full resolved config (seed 0), for matching paper rows
    config_text: dict  # config.yaml as a trial writes it (seed 0, interpolations kept)
    trials: int
    axes: dict = field(default_factory=dict)  # the keys that vary across the sweep: key -> value
    label: str = ""
    dirname: str = ""

    def config(self):
        """The setting's validated run config, at seed 0 (what a trial's differs in)."""
        return config_mod.load(self.task, {**self.overrides, "seed": 0})


@dataclass(frozen=True)
class Trial:
    setting: int  # index into Plan.settings
    index: int
    seed: int
    run_dir: Path


@dataclass
class Plan:
    name: str
    folder: Path
    root_seed: int
    settings: list
    trials: list


@dataclass
class SweepResult:
    plan: Plan
    summaries: list  # one per trial, in plan order (status "error" for a trial that failed)
    ran: int
    reused: int
    errors: int
    rows: list = field(default_factory=list)  # report rows (report.ReportRow)


# ---- options and values -----------------------------------------------------------------------
def split_values(key: str, text: str) -> list[str]:
    """'100,500' -> ['100', '500']; '[-3,-6],[-2,-4]' -> ['[-3,-6]', '[-2,-4]']."""
    parts, depth, cur = [], 0, ""
    for ch in str(text):
        if ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
            if depth < 0:
                break
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise UserError(f"{key}={text!r}: unbalanced brackets")
    parts.append(cur)
    if any(not p.strip() for p in parts):
        raise UserError(f"{key}={text!r}: empty value in a comma-separated list")
    return [p.strip() for p in parts]


def sweep_options(opts: dict) -> dict:
    """Validated sweep keys (trials, seed, workers, executor, out, progress) with defaults."""
    out = {"trials": 1, "seed": 0, "workers": default_workers(), "executor": "local", "out": "runs",
           "progress": "auto", "lanes": "auto"}
    for key, value in opts.items():
        if key == "lanes" and value is not None and str(value).strip() != "auto":
            try:
                out[key] = int(str(value).strip())
            except ValueError:
                out[key] = 0
            if out[key] < 1 or isinstance(value, float):
                raise UserError(f"lanes={value!r}: expected auto or one integer >= 1")
        elif key in ("trials", "seed", "workers") and value is not None:
            low = 0 if key == "seed" else 1
            try:
                number = int(str(value).strip())
            except ValueError:
                number = None
            if number is None or number < low or isinstance(value, float):
                raise UserError(f"{key}={value!r}: expected one integer >= {low}")
            out[key] = number
        elif value is not None:
            out[key] = str(value)
    if out["progress"] not in config_mod.CHOICES["progress"]:
        raise UserError(f"progress={out['progress']!r}: choose one of "
                        f"{', '.join(config_mod.CHOICES['progress'])}")
    check_executor(out["executor"], out["workers"])
    return out


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


# ---- the plan ---------------------------------------------------------------------------------
def make_settings(tasks: list[str], axes: list[tuple[str, list]], fixed: dict, trials: int,
                  ) -> list[Setting]:
    """The Cartesian product tasks x axes, each with the fixed overrides; validated."""
    settings = []
    keys = [k for k, _ in axes]
    for task in tasks:
        for combo in itertools.product(*(values for _, values in axes)):
            overrides = {**fixed, **dict(zip(keys, combo))}
            settings.append(resolve_setting(task, overrides, trials))
    return settings


def resolve_setting(task: str, overrides: dict, trials: int) -> Setting:
    overrides = dict(overrides)
    base = config_mod.load(task, {})
    for key, value in overrides.items():  # `blocks=[1,2]`: brackets around a text value
        if (isinstance(value, str) and value.startswith("[") and value.endswith("]")
                and isinstance(OmegaConf.select(base, key, default=None), str)):
            overrides[key] = value[1:-1]
    cfg = config_mod.load(task, {**overrides, "seed": 0})
    full = OmegaConf.to_container(cfg, resolve=True)
    resolved = {k: _plain(OmegaConf.select(cfg, k)) for k in overrides}
    text = yaml.safe_load(config_mod.to_yaml(cfg))
    return Setting(task=str(cfg.task), overrides=overrides, resolved=resolved, base_config=full,
                   config_text=text, trials=trials)


def make_plan(settings: list[Setting], root_seed: int, out: str, prefix: str | None = None,
              labels: list[str] | None = None) -> Plan:
    if not settings:
        raise UserError("the sweep has no settings")
    varying = _varying_keys(settings)
    tasks = list(dict.fromkeys(s.task for s in settings))
    for i, s in enumerate(settings):
        s.axes = {k: s.resolved.get(k, s.base_config.get(k)) for k in varying}
        text = " ".join(f"{k}={report_mod._text(v)}" for k, v in s.axes.items())
        s.label = labels[i] if labels else " ".join(x for x in (s.task if len(tasks) > 1 else "",
                                                                  text) if x) or s.task
        values = "_".join(f"{k}={report_mod._text(v)}" for k, v in s.axes.items())
        s.dirname = _dirname(f"{s.task}_{values}" if values else s.task)
    if len({s.dirname for s in settings}) != len(settings):
        raise UserError("two settings of the sweep are the same; give each axis distinct values")
    definition = {"seed": int(root_seed), "settings": sorted(
        json.dumps({"task": s.task, "overrides": s.resolved}, sort_keys=True) for s in settings)}
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:10]
    name = f"{prefix or '+'.join(tasks)}-{digest}"
    folder = Path(out) / "sweeps" / name
    trials = [Trial(si, k, trial_seed(root_seed, k), folder / s.dirname / f"trial-{k:03d}")
              for k in range(max(s.trials for s in settings))
              for si, s in enumerate(settings) if k < s.trials]
    return Plan(name=name, folder=folder, root_seed=int(root_seed), settings=settings,
                trials=trials)


def _varying_keys(settings: list[Setting]) -> list[str]:
    keys = list(dict.fromkeys(k for s in settings for k in s.resolved))
    return [k for k in keys
            if len({json.dumps(s.resolved.get(k, s.base_config.get(k)), sort_keys=True)
                    for s in settings}) > 1]


def _dirname(text: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._=,+-]+", "_", text.replace("[", "").replace("]", ""))
    if len(safe) > 80:
        safe = safe[:69] + "-" + hashlib.sha256(text.encode()).hexdigest()[:10]
    return safe


def _plain(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def trial_overrides(plan: Plan, t: Trial) -> dict:
    s = plan.settings[t.setting]
    return {**s.overrides, "seed": t.seed, "progress": "none", "out": str(plan.folder)}


def completed_summary(plan: Plan, t: Trial) -> dict | None:
    """The trial's summary if its folder holds a finished run of exactly this config, else None."""
    try:
        summary = json.loads((t.run_dir / "summary.json").read_text())
        have = yaml.safe_load((t.run_dir / "config.yaml").read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if not isinstance(summary, dict) or summary.get("seed") != t.seed or "status" not in summary:
        return None
    want = dict(plan.settings[t.setting].config_text, seed=t.seed)
    if not isinstance(have, dict) or _strip(have) != _strip(want):
        return None
    return summary


def resumable(plan: Plan, t: Trial) -> bool:
    """The trial's folder holds an unfinished run of exactly this config with a checkpoint."""
    from .checkpoint import FILE_NAME

    if (t.run_dir / "summary.json").exists() or not (t.run_dir / FILE_NAME).is_file():
        return False
    try:
        have = yaml.safe_load((t.run_dir / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return False
    want = dict(plan.settings[t.setting].config_text, seed=t.seed)
    return isinstance(have, dict) and _strip(have) == _strip(want)


def _strip(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in IGNORED_IN_CHECK}
