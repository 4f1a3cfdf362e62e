"""Experiment 1: the embedded Reber grammar (spec §4.1, Table 1)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import checks
from ..generators import reber
from .base import TaskKind, choose, need

# Buffer length. Embedded strings have mean length 12 and a geometric tail (P(L >= 40) ~ 1e-4,
# about 25x rarer per 10 more symbols); a set of 512 strings exceeds 100 with probability ~1e-10.
MAX_LENGTH = 100


@dataclass
class ReberKeys:
    target: str = "next"  # next: one-hot of the actual next symbol (spec §4.1 [U]); legal: all legal
    rank_rule: bool = True  # judge with the rank rule (legal next symbols on top); false: correct/threshold
    n_train: int = 256
    n_test: int = 256
    distinct_train: bool = False  # true: training strings pairwise distinct (paper: not stated)


def _validate(cfg) -> None:
    choose(cfg, "target", tuple(reber.TARGET_MODES))
    need(cfg, "n_train", cfg.n_train >= 1, "n_train >= 1")
    need(cfg, "n_test", cfg.n_test >= 0, "n_test >= 0")


def _make_data(cfg, rng) -> dict:
    train, test = reber.make_sets(rng, int(cfg.n_train), int(cfg.n_test),
                                  distinct_train=bool(cfg.distinct_train))
    width = (train.shape[1] - 1) // 2
    if width > MAX_LENGTH:  # never seen; see MAX_LENGTH
        raise RuntimeError(f"a Reber string of length {width} exceeds the buffers ({MAX_LENGTH})")
    return {"train": train, "test": test}


REBER = TaskKind(
    name="reber", generator="reber", keys=ReberKeys,
    sizes=lambda cfg: (reber.n_inputs(), reber.n_outputs()),
    params=lambda cfg: reber.params(cfg.target),
    max_length=lambda cfg: MAX_LENGTH,
    validate=_validate, make_data=_make_data, check=checks.reber_check,
    summary="predict the next symbol of embedded Reber strings (256 training, 256 test strings)",
    options=("target",),
)
