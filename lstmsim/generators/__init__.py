"""Streaming sequence generators, compiled, selected by an integer id inside the training loop.

Every generator has the signature generate(rng, tp, data, item, X, Y, J, has_t) -> L: it draws one
sequence from `rng` (or takes item `item` of a fixed set held in `data` when item >= 0), writes the
inputs X[:L], training targets Y[:L], judging targets J[:L] (noise-free, or the legal-symbol set)
and the target flags has_t[:L], and returns its length L. `tp` holds the task's numeric parameters.
Dispatch is by an if-chain on the id so that one cached compiled loop serves every task.
A return value of -1 means no sequence: unknown id, missing item, or buffers too small.
Generators that need no fixed set ignore `data` and `item` (pass any 2-D float64 array).
"""

from numba import njit

from . import lag2, lag2c, markers, order, reber, recorded, twoseq

GENERATOR_IDS = {"markers": 0, "reber": 1, "lag2": 2, "lag2c": 3, "twoseq": 4, "order": 5,
                 "recorded": 90}  # recorded: task=replay (lstmsim/replay.py)


@njit(cache=True)
def generate(gen_id, rng, tp, data, item, X, Y, J, has_t):
    if gen_id == 0:
        return markers.generate(rng, tp, X, Y, J, has_t)
    if gen_id == 1:
        return reber.generate(rng, tp, data, item, X, Y, J, has_t)
    if gen_id == 2:
        return lag2.generate(rng, tp, X, Y, J, has_t)
    if gen_id == 3:
        return lag2c.generate(rng, tp, X, Y, J, has_t)
    if gen_id == 4:
        return twoseq.generate(rng, tp, X, Y, J, has_t)
    if gen_id == 5:
        return order.generate(rng, tp, X, Y, J, has_t)
    if gen_id == 90:
        return recorded.generate(data, item, X, Y, J, has_t)
    return -1
