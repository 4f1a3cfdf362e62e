"""Experiment 3: noise and signal on the same channel, the 2-sequence problem (spec §4.3)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import checks
from ..generators import twoseq
from .base import TaskKind, choose, need


@dataclass
class TwoseqKeys:
    variant: str = "a"  # a: 3a; b: 3b (noisy informative inputs); c: 3c (noisy targets 0.2/0.8)
    T: int = 100  # minimal length; lengths uniform in [T, T + T/10]
    N: int = 3  # informative leading elements
    input_noise: bool = False  # 3c only: noisy informative inputs as in 3b (spec §7 item 13)
    check_size: int = 256  # test sequences per ST1/ST2 check
    fixed_check_set: bool = False  # false: fresh sequences at every check; true: the same ones (§4.3 [U])
    st1_wrong: int = 0  # ST1: at most this many of them misclassified (3b: 5, "fewer than 6")
    st2_error: float = 0.01  # ST2: ST1 and mean |error| below this (3b: 0.04, 3c: 0.015)


def _validate(cfg) -> None:
    choose(cfg, "variant", ("a", "b", "c"))
    need(cfg, "N", cfg.N >= twoseq.MIN_N, f"N >= {twoseq.MIN_N}")
    need(cfg, "T", cfg.T >= cfg.N + 1, f"T >= N + 1 = {cfg.N + 1}")
    need(cfg, "input_noise", not cfg.input_noise or cfg.variant == "c",
         "variant=c (3b always has noisy inputs)")
    need(cfg, "check_size", cfg.check_size >= 1, "check_size >= 1")
    need(cfg, "st1_wrong", cfg.st1_wrong >= 0, "st1_wrong >= 0")
    need(cfg, "st2_error", cfg.st2_error > 0, "st2_error > 0")


TWOSEQ = TaskKind(
    name="twoseq", generator="twoseq", keys=TwoseqKeys,
    sizes=lambda cfg: (1, 1),
    params=lambda cfg: twoseq.params(cfg.T, cfg.N, cfg.variant, int(cfg.input_noise)),
    max_length=lambda cfg: twoseq.max_length(cfg.T),
    validate=_validate, check=checks.twoseq_check,
    summary="classify by the sign of the first N of >= T noisy real inputs",
    options=("variant", "T", "N"),
)
