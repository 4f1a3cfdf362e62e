"""Periodic checks for `stop=test`: the paper's success and stopping tests, run between chunks.

The runner calls a kind's check every `test_every` training sequences (the chunks end exactly
there) as `check(training) -> (finished, record)`; `record["criteria"]` maps criterion names to
whether they hold now, and the runner keeps the sequence count at which each first held. Nothing
here runs per sequence: a check reads the runner's sliding window or tests the frozen network
with `Training.evaluate` (on the test stream, or on a fixed set in order), never touching the
training stream. The decision rules are separate small functions so that tests can feed them
hand-made numbers.

* Exp. 1 (Reber, spec §4.1): success when every string of the training set AND of the test set is
  predicted correctly under the rank rule (the legal next symbols are exactly the most active
  outputs, at every step but the last).
* Exps. 2a/2b/2c (spec §4.2): success = ABS(beta) over `success_size` (10,000) successive random
  sequences, judged like training (2a: every output at every step; 2b/2c: at the sequence end,
  judge=last). That test costs as much as training ~1/3 of that many sequences, so it runs only
  when the last `success_window` training sequences were all correct under the same rule (a
  network that cannot pass that cannot pass the test), and it stops at the first failure.
* Exps. 2a/2b sequential construction (spec §4.2, §7 item 10): see `Plateau` and `lag2_check`.
* Exp. 3 (spec §4.3): ST1 / ST2 on `check_size` (256) fresh random test sequences per check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .train_loop import I_FILLED, I_POS, I_SEQS

ABS_TEST_CHUNK = 500  # the ABS test runs in pieces of this many sequences and stops at a failure


def ring_tail(stop, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The last k entries (oldest first) of the runner's sliding window: (errors, wrong flags).

    k is capped at the number of sequences the window holds so far.
    """
    window = stop.ring_err.shape[0]
    k = int(min(k, stop.ints[I_FILLED], window))
    pos = int(stop.ints[I_POS])
    idx = (pos - k + np.arange(k)) % window
    return stop.ring_err[idx], stop.ring_bad[idx]


# ---- Exp. 1: embedded Reber grammar ----------------------------------------------------------
def reber_verdict(train_wrong: int, test_wrong: int) -> bool:
    """Success: no string of either set has a step whose legal next symbols are not on top."""
    return train_wrong == 0 and test_wrong == 0


def reber_check(training) -> tuple[bool, dict]:
    """Both fixed sets, each string once; the test set only once the training set passes."""
    train_set, test_set = training.data["train"], training.data["test"]
    train_wrong = training.evaluate(train_set.shape[0], data=train_set, item_base=0)["test_wrong"]
    record = {"train_wrong": train_wrong}
    if train_wrong > 0:
        return False, record
    test_wrong = training.evaluate(test_set.shape[0], data=test_set, item_base=0)["test_wrong"]
    record["test_wrong"] = test_wrong
    return reber_verdict(train_wrong, test_wrong), record


# ---- Exp. 3: ST1 and ST2 ---------------------------------------------------------------------
def st_criteria(wrong: int, mean_abs_error: float, st1_wrong: int, st2_error: float) -> dict:
    """ST1: at most st1_wrong test sequences misclassified; ST2: ST1 and mean |error| < st2_error.

    3a: st1_wrong 0, st2_error 0.01; 3b: 5 ("fewer than 6"), 0.04; 3c: 0, 0.015 (misclassified:
    |y - noise-free target| >= 0.1, i.e. threshold 0.1).
    """
    st1 = wrong <= st1_wrong
    return {"ST1": bool(st1), "ST2": bool(st1 and mean_abs_error < st2_error)}


FIXED_SET_STREAM = 5  # spawn key of the fixed ST1/ST2 test set's stream (Training uses 0-4)


def twoseq_check(training) -> tuple[bool, dict]:
    cfg = training.cfg
    rng = None  # the run's test stream: fresh sequences at every check
    if cfg.fixed_check_set:  # the same sequences at every check: a stream restarted each time
        seed_seq = np.random.SeedSequence(int(cfg.seed), spawn_key=(FIXED_SET_STREAM,))
        rng = np.random.Generator(np.random.PCG64(seed_seq))
    stats = training.evaluate(int(cfg.check_size), rng=rng)
    criteria = st_criteria(stats["test_wrong"], stats["test_mean_abs_error"], int(cfg.st1_wrong),
                           float(cfg.st2_error))
    record = {"wrong": stats["test_wrong"],
              "mean_abs_error": round(stats["test_mean_abs_error"], 6), "criteria": criteria}
    return criteria["ST2"], record


# ---- Exps. 2a/2b/2c: ABS(beta) over 10,000 successive sequences ------------------------------
def window_clean(stop, k: int) -> bool:
    """The last k training sequences (all k of them seen) were all correct."""
    errors, bad = ring_tail(stop, k)
    return errors.size == k and not bad.any()


def abs_test(training, size: int, chunk: int = ABS_TEST_CHUNK) -> dict:
    """Test `size` fresh random sequences (no learning) under the run's rule; stop at a failure."""
    tested, max_abs = 0, 0.0
    while tested < size:
        stats = training.evaluate(min(chunk, size - tested))
        tested += stats["test_size"]
        max_abs = max(max_abs, stats["test_max_abs_error"])
        if stats["test_wrong"] > 0 or stats["test_size"] == 0:
            return {"tested": tested, "passed": False, "max_abs_error": round(max_abs, 6)}
    return {"tested": tested, "passed": True, "max_abs_error": round(max_abs, 6)}


def abs_success_check(training) -> tuple[bool, dict]:
    cfg = training.cfg
    if not window_clean(training.stop, int(cfg.success_window)):
        return False, {}
    result = abs_test(training, int(cfg.success_size))
    return result["passed"], {"success_test": result}


# ---- Exps. 2a/2b: sequential construction ----------------------------------------------------
@dataclass
class Plateau:
    """'The error has stopped decreasing': the monitored value has not fallen below
    best * (1 - tol) for `patience` observations in a row (the first observation sets best)."""

    patience: int
    tol: float
    best: float = math.inf
    stale: int = 0

    def observe(self, value: float) -> bool:
        if value < self.best * (1.0 - self.tol):
            self.best, self.stale = value, 0
        else:
            self.stale += 1
        return self.stale >= self.patience


def lag2_setup(training) -> dict:
    """grow=true: keep the full network's masks and start from the inputs->outputs net."""
    cfg = training.cfg
    state = {"grown_at": None}
    if not cfg.grow:
        return state
    net, top = training.net, training.topology
    state["masks"] = (net.M_h.copy(), net.M_o.copy())
    state["plateau"] = Plateau(int(cfg.grow_patience), float(cfg.grow_tol))
    net.M_h[:] = 0.0  # no cell, no gate: every hidden-layer unit is absent
    net.W_h[:] = 0.0
    hidden_cols = slice(top.n_in, top.n_out_sources - 1)  # cell (and hidden-unit) outputs
    net.M_o[:, hidden_cols] = 0.0
    net.W_o[:, hidden_cols] = 0.0
    state["start_weights"] = int(net.M_h.sum() + net.M_o.sum())
    return state


def add_cells(training) -> int:
    """Add every unit the start net lacks (2a/2b: the memory cell and its input gate).

    The new weights are uniform in [-init_range, init_range], drawn from training.kind_rng (W_h
    entries in row-major order, then W_o); listed gate biases apply as at initialisation.
    Returns the number of weights added.
    """
    from .network import _set_gate_biases

    cfg, net, top = training.cfg, training.net, training.topology
    full_h, full_o = training.kind_state["masks"]
    r = float(cfg.init_range)
    added = 0
    for W, M, full in ((net.W_h, net.M_h, full_h), (net.W_o, net.M_o, full_o)):
        new = (full > 0) & (M == 0)
        W[new] = training.kind_rng.uniform(-r, r, int(new.sum()))
        M[:] = full
        added += int(new.sum())
    for name, listed, first_row in (("in_gate_bias", cfg.in_gate_bias, top.row_in_gates),
                                    ("out_gate_bias", cfg.out_gate_bias, top.row_out_gates)):
        _set_gate_biases(net.W_h, net.M_h, top, name, list(listed), first_row, cfg.bias_init)
    return added


def lag2_check(training) -> tuple[bool, dict]:
    """2a/2b: grow the net when the training error stops decreasing, then test for success.

    Criterion (grow=true): at each check once the window holds grow_window sequences, the mean
    training error of the last grow_window sequences (the runner's sliding window, avg_error) is
    fed to `Plateau(grow_patience, grow_tol)`; when it reports a plateau the cell is added.
    """
    state = training.kind_state
    if training.cfg.grow and state["grown_at"] is None:
        k = int(training.cfg.grow_window)
        if int(training.stop.ints[I_FILLED]) < k:
            return False, {}
        errors, _ = ring_tail(training.stop, k)
        value = float(errors.mean())
        if not state["plateau"].observe(value):
            return False, {}
        added = add_cells(training)
        state["grown_at"] = int(training.stop.ints[I_SEQS])
        return False, {"cell_added": {"weights_added": added, "error": round(value, 6)},
                       "criteria": {"cell_added": True}}
    return abs_success_check(training)


def n_weights_now(net) -> int:
    return int(np.sum(net.M_h) + np.sum(net.M_o))
