"""Experiment 2c: very long lags, many distractors (spec §4.2, Table 3)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import checks
from ..generators import lag2c
from .base import TaskKind, need


@dataclass
class Lag2cKeys:
    q: int = 100  # distractors in the fixed prefix; minimal lag q+1
    p: int = 100  # distinct distractor symbols (p+4 inputs)
    end_at_trigger: bool = False  # true: the sequence ends at the trigger (no final symbol input)
    success_size: int = 10000  # ABS(threshold) must hold on this many successive test sequences
    success_window: int = 1000  # ... tested only when this many recent training sequences were correct


def _validate(cfg) -> None:
    need(cfg, "q", cfg.q >= lag2c.MIN_Q, f"q >= {lag2c.MIN_Q}")
    need(cfg, "p", cfg.p >= lag2c.MIN_P, f"p >= {lag2c.MIN_P}")
    need(cfg, "success_size", cfg.success_size >= 1, "success_size >= 1")
    need(cfg, "success_window", 1 <= cfg.success_window <= cfg.window,
         f"1 <= success_window <= window ({cfg.window})")


LAG2C = TaskKind(
    name="lag2c", generator="lag2c", keys=Lag2cKeys,
    sizes=lambda cfg: (lag2c.n_inputs(cfg.q, cfg.p), lag2c.n_outputs(cfg.q, cfg.p)),
    params=lambda cfg: lag2c.params(cfg.q, cfg.p, int(cfg.end_at_trigger)),
    max_length=lambda cfg: lag2c.max_length(cfg.q, cfg.p),
    validate=_validate, check=checks.abs_success_check,
    summary="classify by the 2nd symbol after q+k distractors from p symbols, at the trigger",
    options=(),
)
