"""Streaming sequence generators, compiled, selected by an integer id inside the training loop.

Every generator has the signature generate(rng, tp, data, item, X, Y, J, has_t) -> L: it draws one
sequence from `rng` (or takes item `item` of a fixed set held in `data` when item >= 0), writes the
inputs X[:L], training targets Y[:L], judging targets J[:L] (noise-free, or the legal-symbol set)
and the target flags has_t[:L], and returns its length L. `tp` holds the task's numeric parameters.
Dispatch is by an if-chain on the id so that one cached compiled loop serves every task.
"""

from numba import njit

from . import markers

GENERATOR_IDS = {"markers": 0}


@njit(cache=True)
def generate(gen_id, rng, tp, data, item, X, Y, J, has_t):
    if gen_id == 0:
        return markers.generate(rng, tp, X, Y, J, has_t)
    return -1
