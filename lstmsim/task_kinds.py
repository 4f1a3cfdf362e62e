"""The registry of task kinds: how a config's task keys become a generator, its parameters and
the network's size (one module per kind in lstmsim/kinds/, the periodic checks in checks.py).

A preset (tasks/NAME.yaml) names its kind; the kind contributes its own keys to the config schema
(e.g. `T` for adding, `variant` for twoseq).

| kind           | presets                  | experiment (spec)            | stop rule                |
|----------------|--------------------------|------------------------------|--------------------------|
| adding         | adding                   | 4 (§4.4)                     | ST3(0.01)                |
| multiplication | multiplication           | 5 (§4.5)                     | n_seq levels 140, 13     |
| reber          | reber                    | 1 (§4.1)                     | test: train+test sets    |
| lag2           | lag2a, lag2b             | 2a, 2b (§4.2)                | test: ABS(0.25) x 10,000 |
| lag2c          | lag2c                    | 2c (§4.2)                    | test: ABS(0.2) x 10,000  |
| twoseq         | twoseq (variant=a|b|c)   | 3a, 3b, 3c (§4.3)            | test: ST1, ST2           |
| order          | order6a, order6b         | 6a, 6b (§4.6)                | ST3(0.1)                 |
"""

from __future__ import annotations

from .kinds.base import TaskKind
from .kinds.lag2 import LAG2
from .kinds.lag2c import LAG2C
from .kinds.markers import ADDING, MULTIPLICATION
from .kinds.order import ORDER
from .kinds.reber import REBER
from .kinds.twoseq import TWOSEQ

__all__ = ["TASK_KINDS", "TaskKind", "register"]

TASK_KINDS: dict[str, TaskKind] = {}


def register(kind: TaskKind) -> None:
    TASK_KINDS[kind.name] = kind


for _kind in (ADDING, MULTIPLICATION, REBER, LAG2, LAG2C, TWOSEQ, ORDER):
    register(_kind)
