"""Which of a sweep's trials run together in one lane kernel (lstmsim/fast/lanes.py), and how
many lanes each group gets.

A batch is a list of trials that one worker process runs with `lanes_of(batch)` lanes: each lane
runs the batch's trials one after another, taking the next when its own ends (fast/batch.py), so
the batch's order is its queue, longest trials first. Trials share a batch when their settings
fit one compiled lane kernel and one call of it (`lane_key`): the same task kind, topology,
learning rules, stop window and recorded sequences. They may differ in what only the generator
reads, such as the sequence length: Table 7's rows (adding at T = 100, 500, 1000) share batches, so that
when a short trial ends a longer one takes its lane instead of the lane idling.

Why: with one batch per setting, Table 7's 10 trials a row on 2 workers ran as 6 batches of 5
lanes, and a batch of 5 lanes costs what one of 8 does (one AVX-512 vector of lanes per row), so
the lane kernel ran at 5/8 of its rate; docs/speed.md has the times.
"""

from __future__ import annotations

from .sweep_plan import LANES_MAX_OUTPUT_WEIGHTS, MAX_LANES, Plan

# a batch holds at most this many lane-fulls of trials (more batches than workers when a group is
# large), so that results come back and the workers balance as the sweep goes
LANE_FULLS_PER_BATCH = 2


def make_batches(plan: Plan, todo: list[int], workers: int, lanes: int | str) -> list[list[int]]:
    """The unfinished trials (indices into plan.trials) in batches, each in its queue order
    (longest first); batches of one run as single trials. The trials that may share a lane kernel
    are split over as many batches as keep the workers busy (with lanes=N: as long as each batch
    still fills N lanes) and at least one per LANE_FULLS_PER_BATCH lane-fulls; each trial, longest
    first, goes to the batch with the least work so far."""
    keys: dict[int, object] = {}
    work: dict[int, float] = {}
    groups: dict[object, list[int]] = {}
    for i in todo:
        si = plan.trials[i].setting
        if si not in keys:
            keys[si], work[si] = lane_key(plan, si, lanes), setting_work(plan.settings[si])
        key = keys[si] if keys[si] is not None else ("alone", i)
        groups.setdefault(key, []).append(i)
    cap = lane_cap(lanes)
    trial_work = {i: work[plan.trials[i].setting] for i in todo}
    batches = []
    for members in groups.values():
        members.sort(key=lambda i: (-trial_work[i], i))
        spread = len(members) if lanes == "auto" else -(-len(members) // cap)
        n = max(1, min(int(workers), spread), -(-len(members) // (LANE_FULLS_PER_BATCH * cap)))
        split: list[list[int]] = [[] for _ in range(n)]
        load = [0.0] * n
        for i in members:
            b = min(range(n), key=lambda b: (load[b], len(split[b]), b))
            split[b].append(i)
            load[b] += trial_work[i]
        batches.extend(split)
    # the batches with the most work first, so that no worker is left with one at the end
    batches.sort(key=lambda b: (-sum(trial_work[i] for i in b), b[0]))
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
    from .trace import recorded_sequences, resolved_every
    from .training import rules_of, topology_of

    setting = plan.settings[si]
    cfg = setting.base_config
    lstm_1997 = (cfg.get("model", "lstm") == "lstm" and not cfg.get("forget_gate")
                 and not cfg.get("peepholes") and cfg.get("gradient", "truncated") == "truncated")
    if not lstm_1997 or lane_cap(lanes) == 1:
        return None
    if lanes == "auto" and _output_weights(setting) > LANES_MAX_OUTPUT_WEIGHTS:
        return None
    full = setting.config()
    rules = rules_of(full)
    if full.trace.enabled:  # the trace's selection of recorded sequences is in the rules
        first, every = recorded_sequences(full.trace.inputs == "all", int(full.trace.first),
                                          resolved_every(full)[0])
        rules = rules._replace(rec_first=first, rec_every=every)
    # the kernel takes one rules tuple per call and is compiled for the types of the task
    # parameters; the stop window's and log's shapes are the lane rows' (lane_state.fits)
    return (full.kind, topology_of(full), rules, int(full.window),
            tuple(int(v) for v in full.nseq_levels),
            numba.typeof(TASK_KINDS[full.kind].params(full)))


def _output_weights(setting) -> int:
    """Weights into the output units of the setting's net (its topology at a trial's start)."""
    from .training import topology_of

    topo = topology_of(setting.config())
    return topo.n_out * topo.n_out_sources


def setting_work(setting) -> float:
    """A trial's work at most, for ordering and balancing: its longest sequence times its cap."""
    from .task_kinds import TASK_KINDS

    cfg = setting.config()
    return float(TASK_KINDS[cfg.kind].max_length(cfg)) * float(cfg.max_sequences)
