"""Run configuration: a typed schema, task presets, key=value overrides and range checks.

A run's config is   schema defaults  <-  preset (tasks/NAME.yaml)  <-  overrides (T=1000 seed=3).
The schema is the common run keys plus the keys of the preset's task kind, so a key that the task
does not know is refused with its name. Every problem becomes a `UserError` with one line.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, List

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import UserError
from .task_kinds import TASK_KINDS


@dataclass
class TraceConfig:
    """What goes into trace.h5 (see lstmsim/trace.py)."""

    enabled: bool = True
    first: int = 3  # per-step traces of the first N training sequences
    every: int = 0  # ... and of every K-th training sequence (0: auto, about 50 over the cap)
    test: int = 3  # per-step traces of the first N test sequences
    weights_every: int = 0  # weight snapshots every K sequences (0: auto, about 100 over the cap)
    inputs: str = "traced"  # traced | all: also record every training sequence's inputs (replay)


@dataclass
class RunConfig:
    task: str = "adding"
    kind: str = "adding"  # the task kind: which generator and keys (presets set it)
    description: str = ""
    seed: int = 0
    out: str = "runs"
    progress: str = "auto"  # auto | rich | plain | none
    max_sequences: int = 1_000_000
    # ---- network (spec §1.4-1.6) ----
    blocks: str = "2x2"
    hidden_units: int = 0
    connectivity: str = "F"
    bias: str = "all"
    output_gates: bool = True
    g: str = "g2"
    h: str = "h1"
    init_range: float = 0.1
    in_gate_bias: List[Any] = field(default_factory=list)
    out_gate_bias: List[Any] = field(default_factory=list)
    bias_init: str = "exact"  # exact | offset (JKU: value + U(-r, r))
    reset: float = 0.0  # previous-step activations at sequence start (JKU: 0.5)
    # ---- learning (spec §3) ----
    lr: float = 0.5
    update: str = "sequence"  # sequence | step | delayed (JKU: applied after the next sequence's first step)
    # diagnostic, not the 1997 algorithm: keep these cell-input weights at their initial values
    # (cell_bias: from the bias; cell_gates: from y_in(t-1), y_out(t-1); cell_cells: from y_c(t-1))
    freeze: List[str] = field(default_factory=list)
    # ---- other models and LSTM variants (issue 8, lstmsim/models): NOT the 1997 LSTM ----
    model: str = "lstm"  # lstm | rnn (conventional recurrent net) | elman (Elman net)
    learner: str = "auto"  # model=rnn: rtrl (auto) | bptt
    recurrent_outputs: bool = False  # model=rnn: outputs inside the recurrent layer (Williams & Zipser)
    gradient: str = "truncated"  # LSTM: truncated (1997) | full (NOT 1997: exact, by BPTT)
    forget_gate: bool = False  # LSTM, NOT 1997: forget gates (Gers et al. 2000)
    forget_gate_bias: List[Any] = field(default_factory=list)  # per block; empty: +1.0 each
    peepholes: bool = False  # LSTM, NOT 1997: peephole connections (Gers et al. 2002)
    # ---- judging and stopping (spec §4, §7 items 16, 20) ----
    correct: str = "abs"  # abs: |t-y| < threshold; squared: (t-y)^2 < threshold
    threshold: float = 0.04
    judge: str = "all"  # all target steps, or only the last one
    stop: str = "st3"  # st3 | nseq | test (the task's periodic check) | none
    test_every: int = 1000  # sequences between periodic checks (stop=test)
    window: int = 2000
    beta: float = 0.01
    avg_error: str = "abs"  # ST3's average training error: abs (mean |t-y|) or mse
    nseq_levels: List[int] = field(default_factory=list)
    test_size: int = 2560
    trace: TraceConfig = field(default_factory=TraceConfig)
    # ---- reliability (lstmsim/checkpoint.py): checkpoint.npz in the run folder ----
    checkpoint_every: int = 100_000  # sequences between checkpoints
    checkpoint_seconds: float = 60.0  # ... and at most this long apart
    init: str = ""  # start from the initial weights of this trace.h5 / run folder (lstmsim/replay.py)
    paper: Any = None  # the paper's reported numbers for this setting (free form, from the preset)


CHOICES = {
    "progress": ("auto", "rich", "plain", "none"),
    "update": ("sequence", "step", "delayed"),
    "correct": ("abs", "squared"),
    "judge": ("all", "last"),
    "stop": ("st3", "nseq", "test", "none"),
    "avg_error": ("abs", "mse"),
    "bias_init": ("exact", "offset"),
    "connectivity": ("F", "B"),
    "bias": ("gates", "hidden", "all", "none"),
    "g": ("g2", "g1"),
    "h": ("h1", "id"),
    "trace.inputs": ("traced", "all"),
}
FREEZE_GROUPS = ("cell_bias", "cell_gates", "cell_cells")
POSITIVE_INTS = ("max_sequences", "window", "test_size", "test_every", "checkpoint_every")
NON_NEGATIVE_INTS = ("hidden_units", "trace.first", "trace.every", "trace.test", "trace.weights_every")


def preset_dirs() -> list[Path]:
    """Where `task=NAME` looks for NAME.yaml: ./tasks, the checkout's tasks/, the installed copy."""
    dirs = [Path.cwd() / "tasks", Path(__file__).resolve().parent.parent / "tasks"]
    try:
        dirs.append(Path(str(resources.files("lstmsim") / "presets")))
    except (ModuleNotFoundError, TypeError):
        pass
    seen, out = set(), []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


def available_tasks() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for d in preset_dirs():
        for p in sorted(d.glob("*.yaml")):
            found.setdefault(p.stem, p)
    return found


def read_preset(task: str) -> dict:
    path = Path(task)
    if not (task.endswith((".yaml", ".yml")) and path.is_file()):
        tasks = available_tasks()
        if task not in tasks:
            raise UserError(f"unknown task {task!r}; choose one of {', '.join(sorted(tasks))}")
        path = tasks[task]
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"cannot read preset {path}: {_first_line(exc)}") from None
    if not isinstance(data, dict):
        raise UserError(f"preset {path} is not a mapping of keys to values")
    data.setdefault("task", path.stem)
    return data


def schema_for(kind: str) -> type:
    """RunConfig plus the task kind's own keys, as one dataclass OmegaConf can check against."""
    if kind not in TASK_KINDS:
        raise UserError(f"kind={kind!r}: unknown task kind; choose one of {', '.join(TASK_KINDS)}")
    extra = [(f.name, f.type, f) for f in dataclasses.fields(TASK_KINDS[kind].keys)]
    return dataclasses.make_dataclass(f"{kind.title()}Config", extra, bases=(RunConfig,))


def parse_overrides(args: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for arg in args:
        if "=" not in arg or not re.match(r"^[A-Za-z_][\w.]*=", arg):
            raise UserError(f"bad argument {arg!r}: expected key=value (e.g. T=1000)")
        key, value = arg.split("=", 1)
        out[key] = value
    return out


def load(task: str = "adding", overrides: dict[str, Any] | None = None) -> DictConfig:
    """The validated config of a run: preset `task` with `overrides` (strings or Python values)."""
    overrides = dict(overrides or {})
    task = str(overrides.pop("task", task))
    if task == "replay":  # the preset is the source trace's own config (lstmsim/replay.py)
        from .replay import replay_preset

        preset = replay_preset(overrides)
    else:
        preset = read_preset(task)
    kind = str(overrides.get("kind", preset.get("kind", "adding")))
    schema = OmegaConf.structured(schema_for(kind))
    for key, value in overrides.items():
        if isinstance(OmegaConf.select(schema, key, default=None), DictConfig) \
                and not isinstance(value, dict):
            raise UserError(f"{key}={_as_text(value)!r}: {key} is a group of keys; set them as "
                            f"{key}.KEY=VALUE")
    try:
        cfg = OmegaConf.merge(schema, OmegaConf.create(preset))
        dotlist = [f"{k}={_as_text(v)}" for k, v in overrides.items()]
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(dotlist))
        for key, value in overrides.items():  # a text key keeps the text as typed (YAML reads
            if _text_as_typed(cfg, key, value):  # blocks=0x2 as the number 2, out=1e3 as 1000.0)
                OmegaConf.update(cfg, key, value, merge=False)
    except OmegaConfBaseException as exc:
        raise UserError(_omegaconf_message(exc)) from None
    from .models import resolve as resolve_model

    resolve_model(cfg, overrides)
    validate(cfg)
    return cfg


def validate(cfg: DictConfig) -> None:
    for key, choices in CHOICES.items():
        value = OmegaConf.select(cfg, key)
        if value not in choices:
            raise UserError(f"{key}={value!r}: choose one of {', '.join(choices)}")
    for key in POSITIVE_INTS:
        if OmegaConf.select(cfg, key) < 1:
            raise UserError(f"{key}={OmegaConf.select(cfg, key)}: must be >= 1")
    for key in NON_NEGATIVE_INTS:
        if OmegaConf.select(cfg, key) < 0:
            raise UserError(f"{key}={OmegaConf.select(cfg, key)}: must be >= 0")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise UserError(f"lr={cfg.lr}: must be a finite number > 0")
    for key in ("threshold", "beta", "checkpoint_seconds"):
        if not (math.isfinite(cfg[key]) and cfg[key] > 0):
            raise UserError(f"{key}={cfg[key]}: must be a finite number > 0")
    if not (math.isfinite(cfg.init_range) and cfg.init_range >= 0):
        raise UserError(f"init_range={cfg.init_range}: must be a finite number >= 0")
    if not math.isfinite(cfg.reset):
        raise UserError(f"reset={cfg.reset}: must be a finite number")
    if cfg.seed < 0:
        raise UserError(f"seed={cfg.seed}: must be >= 0")
    bad = [f for f in cfg.freeze if f not in FREEZE_GROUPS]
    if bad:
        raise UserError(f"freeze={list(cfg.freeze)}: unknown group {bad[0]!r}; choose from "
                        f"{', '.join(FREEZE_GROUPS)}")
    if cfg.stop == "nseq" and not cfg.nseq_levels:
        raise UserError("stop=nseq needs nseq_levels, e.g. nseq_levels=[140,13]")
    if any(int(v) < 1 for v in cfg.nseq_levels):
        raise UserError(f"nseq_levels={list(cfg.nseq_levels)}: levels must be >= 1")
    if cfg.stop == "test" and TASK_KINDS[cfg.kind].check is None:
        raise UserError(f"stop=test: task kind {cfg.kind!r} has no periodic check; use st3, nseq or none")
    TASK_KINDS[cfg.kind].validate(cfg)
    from .models import validate as validate_model  # the LSTM's network, or another model's

    validate_model(cfg, _validate_network)


def _validate_network(cfg: DictConfig) -> None:
    """Build the network once on a throwaway generator so that topology errors surface now."""
    import numpy as np

    from .network import build
    from .training import init_spec_of, topology_of

    build(topology_of(cfg), init_spec_of(cfg), np.random.default_rng(0))


def to_yaml(cfg: DictConfig) -> str:
    """The config as YAML with every interpolation resolved (presets use ${by:...}, ${per_block:...})."""
    return OmegaConf.to_yaml(cfg, resolve=True)


def _text_as_typed(cfg: DictConfig, key: str, value: Any) -> bool:
    """True when `key` is a text key and YAML would have read `value` as a number or boolean."""
    if not isinstance(value, str) or not isinstance(OmegaConf.select(cfg, key, default=None), str):
        return False
    try:
        return not isinstance(yaml.safe_load(value), (str, list, dict))
    except yaml.YAMLError:
        return False


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_as_text(v) for v in value) + "]"
    return str(value)


def _omegaconf_message(exc: OmegaConfBaseException) -> str:
    key = getattr(exc, "full_key", None)
    text = _first_line(exc)
    m = re.match(r"Key '([^']+)' not in '", text)
    if m:
        return f"unknown key {m.group(1)!r} for this task (see `python -m lstmsim list`)"
    m = re.search(r"Value '([^']*)' (?:of type '[^']*' )?could not be converted to (\w+)", text)
    if m and key:
        return f"{key}={m.group(1)!r}: expected {m.group(2).lower()}"
    return f"{key}: {text}" if key else text


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
