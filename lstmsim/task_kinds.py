"""Task kinds: how a config's task keys become a generator, its parameters and the net's size.

A preset (tasks/NAME.yaml) names its kind; the kind contributes its own keys to the config schema
(e.g. `T` for adding) and knows how to turn them into the generator's parameter vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import UserError
from .generators import GENERATOR_IDS
from .generators import markers


@dataclass(frozen=True)
class TaskKind:
    name: str
    generator: str
    keys: type  # dataclass of the kind's own config keys
    sizes: Callable  # cfg -> (n_in, n_out)
    params: Callable  # cfg -> float64 parameter vector for the generator
    max_length: Callable  # cfg -> longest possible sequence
    validate: Callable  # cfg -> None, raises UserError
    make_data: Callable | None = None  # (cfg, rng) -> {"train": array, "test": array}
    # periodic check for stop=test: training -> (finished, record); record may hold
    # "criteria": {name: met} (e.g. ST1, ST2), whose first-met sequence counts the runner keeps
    check: Callable | None = None

    @property
    def gen_id(self) -> int:
        return GENERATOR_IDS[self.generator]


# ---- Experiments 4 and 5: adding and multiplication ------------------------------------------
@dataclass
class MarkerKeys:
    T: int = 100
    second_mark: str = "literal"  # literal: first T/2-1 unmarked pairs; alt: positions 1..T/2-1
    end_markers: bool = True  # first and last unmarked pairs carry marker -1


def _marker_params(product: bool):
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


def _marker_validate(cfg) -> None:
    if cfg.T < markers.MIN_T:
        raise UserError(f"T={cfg.T}: the {cfg.kind} problem needs T >= {markers.MIN_T}")
    if cfg.second_mark not in ("literal", "alt"):
        raise UserError(f"second_mark={cfg.second_mark!r}: choose one of literal, alt")


TASK_KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> None:
    TASK_KINDS[kind.name] = kind


for _name, _product in (("adding", False), ("multiplication", True)):
    register(TaskKind(
        name=_name, generator="markers", keys=MarkerKeys,
        sizes=lambda cfg: (2, 1),
        params=_marker_params(_product),
        max_length=lambda cfg: markers.max_length(cfg.T),
        validate=_marker_validate,
    ))
