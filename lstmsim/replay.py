"""Replaying a trace: `init=PATH` and `task=replay source=PATH`.

`init=PATH` (a trace.h5 or a run folder) starts a run from the trace's recorded initial weights
instead of drawing them; the run's topology must be the trace's.

`task=replay source=PATH` re-runs the source run on its recorded sequences: the config is the
source's resolved config (any key may still be overridden), the initial weights are the source's,
and the training sequences are the recorded ones, fed in their recorded order:
  * with `trace.inputs=all` in the source, every training sequence of the source run;
  * otherwise the traced ones from sequence 0 on without a gap (the first `trace.first`).
What is exact: the kernel is deterministic, so the replay computes, bit for bit, the source's
per-sequence results, per-step records and weights for every replayed sequence, hence the same
weight snapshots at the same sequence counts (and, with `trace.inputs=all`, the same final weights
and the same stop point). Not replayed: judging targets other than the training targets (the
replay judges against the recorded targets; Reber's rank rule and noisy-target tasks judge
differently, the weights stay identical), and kinds that change the network during a run.
The final test of a replay uses the source's traced test sequences (all of them when the source had
trace.test >= test_size); without any, the recorded training sequences.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .errors import UserError
from .generators.recorded import pack
from .task_kinds import TaskKind, register
from .trace_reader import Trace, TraceError, load_trace, trace_path

_SOURCES: dict[tuple, "Source"] = {}


# ---- init=PATH ---------------------------------------------------------------------------------
def read_init(cfg) -> tuple[np.ndarray, np.ndarray]:
    """The initial weights of the trace named by cfg.init, checked against cfg's topology."""
    from .training import topology_of

    trace = _load(cfg.init, "init")
    check_topology(trace, topology_of(cfg), f"init={cfg.init}")
    return trace.initial_weights()


def check_topology(trace: Trace, top, what: str) -> None:
    """Every field of this run's Topology (a key the trace lacks counts as its default)."""
    theirs = trace.topology
    for f in dataclasses.fields(top):
        ours = list(top.block_sizes) if f.name == "block_sizes" else getattr(top, f.name)
        if theirs.get(f.name, f.default) != ours:
            raise UserError(f"{what}: the trace's network differs from this run's ({f.name}: "
                            f"{theirs.get(f.name, f.default)!r} in the trace, {ours!r} here)")


def apply_init(training, weights: tuple[np.ndarray, np.ndarray]) -> None:
    W_h, W_o = weights
    if W_h.shape != training.net.W_h.shape or W_o.shape != training.net.W_o.shape:
        raise UserError(f"init={training.cfg.init}: the trace's weights {W_h.shape}, {W_o.shape} "
                        f"do not fit this network's {training.net.W_h.shape}, {training.net.W_o.shape}")
    training.net.W_h[:] = W_h
    training.net.W_o[:] = W_o
    training.initial_weights = (W_h.copy(), W_o.copy())


# ---- task=replay -------------------------------------------------------------------------------
@dataclass
class ReplayKeys:
    source: str = ""  # the trace (or run folder) whose recorded sequences are re-fed


@dataclass
class Source:
    trace: Trace
    train: list  # [(x, y, has_t)] in training order, from sequence 0
    test: list

    @property
    def max_length(self) -> int:
        return max([len(s[2]) for s in self.train + self.test] + [1])


def source_of(path) -> Source:
    p = trace_path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_mtime_ns, st.st_size)
    if key not in _SOURCES:
        trace = _load(p, "source")
        _SOURCES.clear()
        _SOURCES[key] = Source(trace, _train_sequences(trace), _test_sequences(trace))
    return _SOURCES[key]


def _train_sequences(trace: Trace) -> list:
    if trace.inputs is not None and len(trace.inputs["has_target"]):
        lengths = trace.train["length"].astype(np.int64)
        ends = np.cumsum(lengths)
        n = int(np.searchsorted(ends, len(trace.inputs["has_target"]), side="right"))
        starts = ends - lengths
        d = trace.inputs
        return [(d["x"][a:b], d["target"][a:b], d["has_target"][a:b])
                for a, b in zip(starts[:n], ends[:n])]
    seqs = trace.train_trace.sequences
    gaps = np.flatnonzero(seqs != np.arange(len(seqs)))
    n = int(gaps[0]) if gaps.size else len(seqs)  # sequences 0, 1, ..., n-1 are all traced
    return [_steps_of(trace.train_trace.get(i)) for i in range(n)]


def _test_sequences(trace: Trace) -> list:
    return [_steps_of(trace.test_trace.get(int(i))) for i in trace.test_trace.sequences]


def _steps_of(d: dict) -> tuple:
    return d["x"], d["target"], d["has_target"]


def replay_preset(overrides: dict) -> dict:
    """The preset of `task=replay`: the source run's resolved config, set up to replay it."""
    from .config import RunConfig

    path = overrides.get("source")
    if not path:
        raise UserError("task=replay needs source=PATH (a trace.h5 or a run folder)")
    src = source_of(path)
    a = src.trace.attrs
    if not src.train:
        raise UserError(f"source={path}: the trace holds no inputs of sequence 0 on (it was run "
                        "with trace.first=0 and trace.inputs=traced); nothing to replay")
    known = {f.name for f in dataclasses.fields(RunConfig)}
    drop = {"task", "kind", "description", "out", "progress", "paper", "init"}
    preset = {k: v for k, v in src.trace.config.items() if k in known and k not in drop}
    n_test = len(src.test) or len(src.train)
    preset.update(
        task="replay", kind="replay", source=str(trace_path(path)), init=str(trace_path(path)),
        description=f"replay of {trace_path(path)}", max_sequences=len(src.train),
        test_size=min(int(preset.get("test_size", n_test)), n_test),
        stop="none" if preset.get("stop") == "test" else preset.get("stop", "st3"))
    trace_cfg = dict(preset.get("trace") or {})
    trace_cfg.update(every=int(a.get("trace_every", 0)), weights_every=int(a.get("trace_weights_every", 0)))
    preset["trace"] = trace_cfg
    return preset


def _validate(cfg) -> None:
    if not cfg.source:
        raise UserError("task=replay needs source=PATH (a trace.h5 or a run folder)")
    src = source_of(cfg.source)
    if cfg.max_sequences > len(src.train):
        raise UserError(f"max_sequences={cfg.max_sequences}: the source holds {len(src.train)} "
                        "replayable training sequences")


def _make_data(cfg, rng) -> dict:
    src = source_of(cfg.source)
    n_in, n_out = _sizes(cfg)
    return {"train": pack(src.train, n_in, n_out), "test": pack(src.test or src.train, n_in, n_out)}


def _sizes(cfg) -> tuple[int, int]:
    top = source_of(cfg.source).trace.topology
    return int(top["n_in"]), int(top["n_out"])


def _load(path, key: str) -> Trace:
    try:
        return load_trace(path)
    except TraceError as exc:
        raise UserError(f"{key}={path}: {exc.reason}") from None


REPLAY = TaskKind(
    name="replay", generator="recorded", keys=ReplayKeys, sizes=_sizes,
    params=lambda cfg: np.zeros(1), max_length=lambda cfg: source_of(cfg.source).max_length,
    validate=_validate, make_data=_make_data)
register(REPLAY)
