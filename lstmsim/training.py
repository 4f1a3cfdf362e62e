"""A training session: the arrays of one run and the two things done with them, train and test.

`Training` turns a validated config into the network, the random generators, the generator
parameters and the stop-rule state, and advances them with the compiled loop. It does no I/O.
Random streams: one root SeedSequence(seed) spawns five independent children, for the initial
weights, the training sequences, the test sequences, fixed data sets (Reber) and the task kind's
own draws (2a/2b: the added cell), so that testing more or less often never changes what training
sees.
"""

from __future__ import annotations

import numpy as np

from .kernel import (RULE_ABS, RULE_RANK, RULE_SQUARED, UPDATE_DELAYED, UPDATE_SEQUENCE, UPDATE_STEP,
                     rec_width)
from .network import InitSpec, build, weight_count
from .fast.single import make_fast_scratch, run_chunk_fast
from .generators.pcg64 import require_pcg64
from .task_kinds import TASK_KINDS
from .topology import Topology, parse_blocks
from .train_loop import (EVENT_DONE, STOP_NONE, STOP_NSEQ, STOP_ST3, Rules, new_log, new_recorder,
                         new_stop_state)

UPDATE_MODES = {"sequence": UPDATE_SEQUENCE, "step": UPDATE_STEP, "delayed": UPDATE_DELAYED}
STOP_KINDS = {"none": STOP_NONE, "test": STOP_NONE, "st3": STOP_ST3, "nseq": STOP_NSEQ}
LOG_CAPACITY = 1 << 16  # most sequences one chunk may process
COMPILE_NOTE_SECONDS = 0.8  # Training.compile says it is compiling when loading takes longer


def topology_of(cfg) -> Topology:
    n_in, n_out = TASK_KINDS[cfg.kind].sizes(cfg)
    return Topology(n_in=n_in, block_sizes=parse_blocks(cfg.blocks), n_out=n_out,
                    n_hidden=cfg.hidden_units, connectivity=cfg.connectivity, bias=cfg.bias,
                    output_gates=cfg.output_gates, g=cfg.g, h=cfg.h)


def init_spec_of(cfg) -> InitSpec:
    return InitSpec(init_range=cfg.init_range, in_gate_bias=list(cfg.in_gate_bias),
                    out_gate_bias=list(cfg.out_gate_bias), bias_init=cfg.bias_init)


def rule_of(cfg) -> int:
    if getattr(cfg, "rank_rule", False):
        return RULE_RANK
    return RULE_SQUARED if cfg.correct == "squared" else RULE_ABS


def rules_of(cfg) -> Rules:
    """The learning and judging rules of a run's training (the compiled loops' `rules`)."""
    return Rules(
        gen_id=TASK_KINDS[cfg.kind].gen_id, lr=float(cfg.lr), learn=True,
        update_mode=UPDATE_MODES[cfg["update"]],
        reset=float(cfg.reset), rule=rule_of(cfg), threshold=float(cfg.threshold),
        judge_last=int(cfg.judge == "last"), stop_kind=STOP_KINDS[cfg.stop],
        beta=float(cfg.beta), avg_sq=int(cfg.avg_error == "mse"),
        big_threshold=float(cfg.threshold), item_base=-1, rec_first=0, rec_every=0)


class Training:
    # the compiled loop over sequences: train_loop.run_chunk with the fast step, bit-identical
    # (lstmsim/fast/single.py, tests/test_fast.py); models override both
    chunk_loop = staticmethod(run_chunk_fast)

    def __new__(cls, cfg, *args, **kwargs):
        if cls is Training:  # other models and LSTM variants (issue 8): lstmsim/models
            from .models import training_class

            cls = training_class(cfg) or cls
        return super().__new__(cls)

    def __init__(self, cfg, rec_capacity: int = 0, rec_max_seqs: int = 0):
        self.cfg = cfg
        self.kind = TASK_KINDS[cfg.kind]
        init_ss, train_ss, test_ss, data_ss, kind_ss = np.random.SeedSequence(cfg.seed).spawn(5)
        self.topology, self.n_weights, self.net = self.make_net(_rng(init_ss))
        freeze_cell_inputs(self.net, self.topology, list(cfg.freeze))
        self.kind_rng = _rng(kind_ss)  # the kind's own draws (2a/2b: weights of the added cell)
        self.kind_state = self.kind.setup(self) if self.kind.setup else {}
        self.initial_weights = (self.net.W_h.copy(), self.net.W_o.copy())
        self.train_rng, self.test_rng = _rng(train_ss), _rng(test_ss)
        self.data = self.kind.make_data(cfg, _rng(data_ss)) if self.kind.make_data else {}
        self.tp = self.kind.params(cfg)
        self.max_length = int(self.kind.max_length(cfg))
        n_in, n_out = self.topology.n_in, self.topology.n_out
        L = self.max_length
        self.bufs = (np.zeros((L, n_in)), np.zeros((L, n_out)), np.zeros((L, n_out)),
                     np.zeros(L, np.int8))
        self.scratch = self.new_scratch()
        self.rules = rules_of(cfg)
        self.stop = new_stop_state(int(cfg.window), [int(v) for v in cfg.nseq_levels])
        self.log = new_log(LOG_CAPACITY)
        self.recorder = new_recorder(rec_width(self.net), rec_capacity, rec_max_seqs)

    def make_net(self, rng):
        """(topology, weight count, network) of the run; other models override this."""
        top = topology_of(self.cfg)
        return top, weight_count(top), build(top, init_spec_of(self.cfg), rng)

    def new_scratch(self):
        return make_fast_scratch(self.net)

    # ---- training ---------------------------------------------------------------------------
    def advance(self, n: int, rules: Rules | None = None) -> tuple[int, int, int]:
        """Train on up to n (<= LOG_CAPACITY) fresh sequences; returns (done, event, diverged_step).

        The results of the processed sequences are in self.log[:done].
        """
        n = min(int(n), LOG_CAPACITY)
        return self.chunk_loop(self.net, self.scratch, rules or self.rules, self.tp,
                               self.data.get("train", _NO_DATA), self.train_rng, self.bufs, n,
                               self.stop, self.log, self.recorder)

    def compile(self) -> None:
        """Compile (or load from cache) the loop without processing anything. Loading takes well
        under a second; when it takes longer (a first run: nothing cached yet), say so on stderr
        while it compiles (unless progress=none)."""
        import sys
        import threading

        done = threading.Event()

        def note():
            if not done.wait(COMPILE_NOTE_SECONDS) and self.cfg.get("progress", "auto") != "none":
                print("lstmsim: compiling the kernels for this setting (first run; they are "
                      "cached for the next runs) ...", file=sys.stderr, flush=True)
        watcher = threading.Thread(target=note, daemon=True)
        watcher.start()
        try:
            self.advance(0)
        finally:
            done.set()

    # ---- testing ----------------------------------------------------------------------------
    def evaluate(self, n: int, rng=None, data=None, item_base: int = -1, recorder=None) -> dict:
        """Test on n sequences without learning; returns counts under both correctness rules."""
        if rng is None:
            rng = self.test_rng
        require_pcg64(rng)
        if data is None and "test" in self.data and item_base < 0:
            data, item_base = self.data["test"], 0  # a fixed test set (Reber): each item once
            n = min(n, data.shape[0])
        data = self.data.get("test", _NO_DATA) if data is None else data
        rules = self.rules._replace(learn=False, stop_kind=STOP_NONE, item_base=item_base,
                                    rec_first=0 if recorder is None else self.cfg.trace.test,
                                    rec_every=0)
        recorder = recorder or new_recorder(rec_width(self.net))
        logs = {k: [] for k in ("length", "abs_err", "sq_err", "max_abs", "correct")}
        done_total = 0
        stop = new_stop_state(1)
        while done_total < n:
            todo = min(n - done_total, LOG_CAPACITY)
            if item_base >= 0:  # a fixed set: the next chunk continues with the next item
                rules = rules._replace(item_base=item_base + done_total)
            done, event, _ = self.chunk_loop(self.net, self.scratch, rules, self.tp, data, rng,
                                             self.bufs, todo, stop, self.log, recorder)
            for k in logs:
                logs[k].append(getattr(self.log, k)[:done].copy())
            done_total += done
            if event != EVENT_DONE and done == 0:
                break
        arrays = {k: np.concatenate(v) if v else np.zeros(0) for k, v in logs.items()}
        return test_stats(arrays, float(self.cfg.threshold), self.rules.rule)

    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        return self.net.W_h, self.net.W_o


def freeze_cell_inputs(net, top: Topology, groups: list[str]) -> None:
    """Diagnostic (issue 9), not the 1997 rule: stop learning on some cell-input weights.

    Their mask entries become 0, so the kernels never change them; they keep their initial values
    and still act in the forward pass. The reported weight count stays the topology's.
    """
    cols = {"cell_bias": [top.a_bias],
            "cell_gates": list(range(top.a_in_gates, top.a_hidden)),
            "cell_cells": list(range(top.a_cells, top.a_in_gates))}
    for group in groups:
        net.M_h[: top.n_cells, cols[group]] = 0.0


def test_stats(arrays: dict, threshold: float, rule: int) -> dict:
    """Summary numbers of a test: wrong under the run's rule and under both readings of §7.20."""
    max_abs = arrays["max_abs"]
    n = int(max_abs.size)
    return {
        "test_size": n,
        "test_wrong": int(n - arrays["correct"].astype(np.int64).sum()),
        "test_wrong_abs": int(np.sum(~(max_abs < threshold))),
        "test_wrong_squared": int(np.sum(~(max_abs * max_abs < threshold))),
        "test_mean_abs_error": float(arrays["abs_err"].mean()) if n else float("nan"),
        "test_mse": float(arrays["sq_err"].mean()) if n else float("nan"),
        "test_max_abs_error": float(max_abs.max()) if n else float("nan"),
        "rule": {RULE_ABS: "abs", RULE_SQUARED: "squared", RULE_RANK: "rank"}[rule],
        "arrays": arrays,
    }


_NO_DATA = np.zeros((1, 1))


def _rng(seed_seq: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed_seq))
