"""Which of a sweep's trials run together in one lane kernel (lstmsim/fast/lanes.py), and how
many lanes each group gets.

A batch is a list of trials that one worker process runs with `lanes_of(batch)` lanes: each lane
runs the batch's trials one after another, taking the next when its own ends (fast/batch.py), so
the batch's order is its queue, longest trials first. Trials share a batch when their settings
fit one compiled lane kernel and one call of it (`lane_key`): the same task kind, topology,
learning rules, stop window and trace selection. They may differ in what only the generator reads,
such as the sequence length: Table 7's rows (adding at T = 100, 500, 1000) share batches, so that
when a short trial ends a longer one takes its lane instead of the lane idling.

Why: with one batch per setting, Table 7's 10 trials a row on 2 workers ran as 6 batches of 5
lanes, and a batch of 5 lanes costs what one of 8 does (one AVX-512 vector of lanes per row), so
the lane kernel ran at 5/8 of its rate; docs/speed.md has the times.
"""

from __future__ import annotations

import json

from . import config as config_mod
from .sweep_plan import LANES_MAX_OUTPUT_WEIGHTS, MAX_LANES, Plan

# a batch holds at most this many lane-fulls of trials (more batches than workers when a group is
# large), so that results come back and the workers balance as the sweep goes
LANE_FULLS_PER_BATCH = 2


def make_batches(plan: Plan, todo: list[int], workers: int, lanes: int | str) -> list[list[int]]:
    """The unfinished trials (indices into plan.trials) in batches, each in its queue order
    (longest first); batches of one run as single trials. Trials that may share a lane kernel are
    split over max(workers, trials / LANE_FULLS_PER_BATCH lane-fulls) batches, each trial (longest
    first) to the batch with the least work so far."""
    keys: dict[int, object] = {}
    groups: dict[object, list[int]] = {}
    for i in todo:
        si = plan.trials[i].setting
        if si not in keys:
            keys[si] = lane_key(plan, si, lanes)
        key = keys[si] if keys[si] is not None else ("alone", i)
        groups.setdefault(key, []).append(i)
    cap = lane_cap(lanes)
    batches = []
    for members in groups.values():
        members.sort(key=lambda i: (-_length_of(plan, i), i))
        n = max(min(int(workers), len(members)), -(-len(members) // (LANE_FULLS_PER_BATCH * cap)))
        n = max(1, n)
        split: list[list[int]] = [[] for _ in range(n)]
        work = [0.0] * n
        for i in members:
            b = min(range(n), key=lambda b: (work[b], len(split[b]), b))
            split[b].append(i)
            work[b] += _length_of(plan, i)
        batches.extend(split)
    # the batches with the most work first, so that no worker is left with one at the end
    batches.sort(key=lambda b: (-sum(_length_of(plan, i) for i in b), b[0]))
    return batches


def lane_cap(lanes: int | str) -> int:
    return MAX_LANES if lanes == "auto" else max(1, int(lanes))


def lanes_of(batch: list[int], lanes: int | str) -> int:
    """The lanes a batch runs with: one per trial, at most the cap (1: the trial alone)."""
    return min(len(batch), lane_cap(lanes))


def lane_key(plan: Plan, si: int, lanes: int | str):
    """What a setting's trials must share with others to run in one lane kernel with them, or
    None if they run alone: not the 1997 LSTM (issue 8's models have their own loops), lanes=1, or
    with lanes=auto a net with more than LANES_MAX_OUTPUT_WEIGHTS output weights (Exps. 2a/2b at
    large p, where lanes ran slower than trials alone)."""
    import numba

    from .task_kinds import TASK_KINDS
    from .trace import resolved_every
    from .training import rules_of, topology_of

    setting = plan.settings[si]
    cfg = setting.base_config
    lstm_1997 = (cfg.get("model", "lstm") == "lstm" and not cfg.get("forget_gate")
                 and not cfg.get("peepholes") and cfg.get("gradient", "truncated") == "truncated")
    if not lstm_1997 or lane_cap(lanes) == 1:
        return None
    if lanes == "auto" and _output_weights(setting) > LANES_MAX_OUTPUT_WEIGHTS:
        return None
    full = config_mod.load(setting.task, {**setting.overrides, "seed": 0})
    trace = json.dumps(config_mod.OmegaConf.to_container(full.trace, resolve=True),
                       sort_keys=True, default=str)
    # the kernel takes one rules tuple per call and is compiled for the types of the task
    # parameters; the stop window's and log's shapes are the lane rows' (lane_state.fits)
    return (full.kind, topology_of(full), rules_of(full), int(full.window),
            tuple(int(v) for v in full.nseq_levels), trace, resolved_every(full),
            numba.typeof(TASK_KINDS[full.kind].params(full)))


def _output_weights(setting) -> int:
    """Weights into the output units of the setting's net (its topology at a trial's start)."""
    from .training import topology_of

    topo = topology_of(config_mod.load(setting.task, {**setting.overrides, "seed": 0}))
    return topo.n_out * topo.n_out_sources


def _length_of(plan: Plan, i: int) -> float:
    """A trial's work at most, for ordering: sequence length times the sequence cap."""
    cfg = plan.settings[plan.trials[i].setting].base_config
    try:
        return float(cfg.get("T") or 0) * float(cfg.get("max_sequences") or 0)
    except (TypeError, ValueError):
        return 0.0
