"""Experiment 6: temporal order (spec §4.6, Table 9)."""

from __future__ import annotations

from dataclasses import dataclass

from ..generators import order
from .base import TaskKind, choose


@dataclass
class OrderKeys:
    variant: str = "a"  # a: 6a (2 relevant symbols, 4 classes); b: 6b (3 symbols, 8 classes)


ORDER = TaskKind(
    name="order", generator="order", keys=OrderKeys,
    sizes=lambda cfg: (order.n_inputs(cfg.variant), order.n_outputs(cfg.variant)),
    params=lambda cfg: order.params(cfg.variant),
    max_length=lambda cfg: order.max_length(cfg.variant),
    validate=lambda cfg: choose(cfg, "variant", ("a", "b")),
    summary="classify by the order of X/Y symbols at distant random positions among distractors",
    options=(),
)
