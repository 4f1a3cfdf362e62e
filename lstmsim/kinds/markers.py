"""Experiments 4 and 5: the adding and multiplication problems (spec §4.4, §4.5)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..generators import markers
from .base import TaskKind


@dataclass
class MarkerKeys:
    T: int = 100
    second_mark: str = "literal"  # literal: first T/2-1 unmarked pairs; alt: positions 1..T/2-1
    end_markers: bool = True  # first and last unmarked pairs carry marker -1


def _params(product: bool):
    def params(cfg) -> np.ndarray:
        tp = np.zeros(markers.N_PARAMS)
        tp[markers.P_T] = cfg.T
        tp[markers.P_VALUE_LOW] = 0.0 if product else -1.0
        tp[markers.P_FIRST_PAIR_VALUE] = 1.0 if product else 0.0
        tp[markers.P_PRODUCT] = 1.0 if product else 0.0
        tp[markers.P_SECOND_MARK] = 0.0 if cfg.second_mark == "literal" else 1.0
        tp[markers.P_END_MARKERS] = 1.0 if cfg.end_markers else 0.0
        return tp
    return params


def _validate(cfg) -> None:
    if cfg.T < markers.MIN_T:
        raise UserError(f"T={cfg.T}: the {cfg.kind} problem needs T >= {markers.MIN_T}")
    if cfg.second_mark not in ("literal", "alt"):
        raise UserError(f"second_mark={cfg.second_mark!r}: choose one of literal, alt")


def _kind(name: str, product: bool, summary: str) -> TaskKind:
    return TaskKind(
        name=name, generator="markers", keys=MarkerKeys,
        sizes=lambda cfg: (2, 1),
        params=_params(product),
        max_length=lambda cfg: markers.max_length(cfg.T),
        validate=_validate,
        summary=summary, options=("T",),
    )


ADDING = _kind("adding", False, "pairs (value, marker); output 0.5 + (X1+X2)/4 at the end")
MULTIPLICATION = _kind("multiplication", True, "pairs (value in [0,1], marker); output X1*X2")
