"""What a task kind is, and the small helpers the kinds share.

A kind ties a preset's own keys (e.g. `T` for adding, `variant` for twoseq) to a sequence
generator: it sizes the network, builds the generator's parameter vector, checks the keys, draws
fixed data sets (Reber) and, for `stop=test`, runs the periodic check (lstmsim/checks.py).

Presets may make a default depend on another key with two config resolvers registered here:

    ${by:${variant},{a: 1.0, c: 0.1}}    the entry for the key's current value (an unknown value
                                         gives the first entry; the kind's validate reports it)
    ${per_block:${blocks},-1,-1}         one value per block: start, start+step, ... (Exp. 1's
                                         output-gate biases -1,-2,-3(,-4) for 3 or 4 blocks)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from omegaconf import OmegaConf

from ..errors import UserError
from ..generators import GENERATOR_IDS


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
    # training -> dict: the kind's own state, set up once the network is built and before
    # training starts (Exps. 2a/2b: the network starts without its memory cell)
    setup: Callable | None = None
    summary: str = ""  # what the kind is, in one line
    options: tuple = ()  # its main keys, shown by `python -m lstmsim list` with their defaults

    @property
    def gen_id(self) -> int:
        return GENERATOR_IDS[self.generator]


def task_name(cfg) -> str:
    """The task's name for messages (a preset given as a path shows its stem)."""
    return Path(str(cfg.task)).stem


def need(cfg, key: str, ok: bool, requirement: str) -> None:
    """Raise the one-line UserError 'KEY=VALUE: the TASK task needs REQUIREMENT' unless ok."""
    if not ok:
        raise UserError(f"{key}={cfg[key]!r}: the {task_name(cfg)} task needs {requirement}")


def choose(cfg, key: str, choices) -> None:
    if cfg[key] not in choices:
        raise UserError(f"{key}={cfg[key]!r}: the {task_name(cfg)} task takes one of "
                        f"{', '.join(map(str, choices))}")


# ---- config resolvers ------------------------------------------------------------------------
def _by(value, table):
    table = dict(table)
    for key, entry in table.items():
        if str(key) == str(value):
            return entry
    return next(iter(table.values()))


def _per_block(blocks, start, step):
    from ..topology import parse_blocks

    try:
        n = len(parse_blocks(str(blocks)))
    except UserError:
        n = 1  # the bad `blocks` value is reported by the network check
    return [float(start) + j * float(step) for j in range(n)]


def _register(name: str, fn) -> None:
    register = getattr(OmegaConf, "register_resolver", None)
    if register is not None:
        register(name, fn, replace=True, annotation_validation="off")
    else:  # omegaconf < 2.4
        OmegaConf.register_new_resolver(name, fn, replace=True)


_register("by", _by)
_register("per_block", _per_block)
