"""Experiments 2a and 2b: noise-free long-lag sequences, with sequential construction (spec §4.2)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import checks
from ..generators import lag2
from .base import TaskKind, choose, need


@dataclass
class Lag2Keys:
    variant: str = "a"  # a: the two fixed sequences (2a); b: random middle (2b)
    p: int = 100  # p+1 symbols; sequences of length p+1
    success_size: int = 10000  # ABS(threshold) must hold on this many successive test sequences
    success_window: int = 100  # ... tested only when this many recent training sequences were correct
    # sequential construction (spec §4.2, §7 item 10): start with inputs->outputs only, add the
    # memory cell and its input gate once the error stops decreasing (see checks.lag2_check)
    grow: bool = True
    grow_window: int = 500  # moving average of the training error over this many sequences
    grow_patience: int = 5  # checks (test_every sequences apart) without improvement
    grow_tol: float = 0.1  # an improvement must lower the best average by this fraction


def _validate(cfg) -> None:
    choose(cfg, "variant", ("a", "b"))
    need(cfg, "p", cfg.p >= lag2.MIN_P, f"p >= {lag2.MIN_P}")
    need(cfg, "success_size", cfg.success_size >= 1, "success_size >= 1")
    need(cfg, "success_window", 1 <= cfg.success_window <= cfg.window,
         f"1 <= success_window <= window ({cfg.window})")
    need(cfg, "grow_window", 1 <= cfg.grow_window <= cfg.window,
         f"1 <= grow_window <= window ({cfg.window})")
    need(cfg, "grow_patience", cfg.grow_patience >= 1, "grow_patience >= 1")
    need(cfg, "grow_tol", 0.0 <= cfg.grow_tol < 1.0, "0 <= grow_tol < 1")
    need(cfg, "grow", not cfg.grow or cfg.get("model", "lstm") == "lstm",
         "the 1997 LSTM (model=lstm); use grow=false with other models")


LAG2 = TaskKind(
    name="lag2", generator="lag2", keys=Lag2Keys,
    sizes=lambda cfg: (lag2.n_inputs(cfg.p), lag2.n_outputs(cfg.p)),
    params=lambda cfg: lag2.params(cfg.p, cfg.variant),
    max_length=lambda cfg: lag2.max_length(cfg.p),
    validate=_validate, check=checks.lag2_check, setup=checks.lag2_setup,
    summary="predict the next of p+1 symbols; the last needs the first, p steps back",
    options=("p", "grow"),
)
