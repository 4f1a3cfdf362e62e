"""Several independent trials in one kernel, one trial per SIMD lane (issue 7, trial-parallel mode).

`run_lanes` advances trials of one topology and rules (own weights, own random
streams, own generators, own stop windows, logs and trace recorders) together: every tick, each
lane does one time step of its own current sequence. A lane starts its next sequence when its own
ends (sequences have different lengths), and stops when its own request (the n sequences that its
trial's `Training.advance` asked for) is done or its own stop rule, divergence or trace buffer ends
it. Each lane therefore computes exactly what `kernel.run_sequence` / `train_loop.run_chunk`
compute for that trial alone, bit for bit (tests/test_fast.py): every sum adds the same terms in
the same order, and every unit uses `logistic.logistic`.

Why it is shaped this way:

* Lane-minor arrays ([row, source, lane]). The per-step arithmetic of the 1997 step (net inputs,
  13 logistic units on the adding net, the constant error carousel, the partials update P += u a^T)
  is the same for every lane, so the innermost loop of each is over lanes: a constant trip count
  (the padded lane count) with no reduction across iterations, which LLVM turns into full-width
  vector code without fast-math.
  The step's dependency chain (net input -> f -> s -> h -> net input) is long and serial within a
  trial; lanes are independent chains, so the vector units are busy instead of waiting.
* Lanes are padded to a multiple of 8 (one AVX-512 register of doubles, two AVX2 registers). Pad
  lanes hold zero weights and stay at zero activity; they are never generated, judged or stored.
  The generated code is compiled for 512-bit vectors also where LLVM's model of the CPU prefers
  256-bit ones (Intel's AVX-512 server cores: vector_width.py; 8 lanes ~1.3 x faster there).
* What is rare stays scalar and per lane: sequence start (generate, reset), target steps (judging
  and per-step updates), sequence end (apply the update, log, stop window). The backward pass of a
  target step runs for all lanes that need one at once, across the lanes like the step
  (lane_backward.py; on nets of many sources, only when several lanes need one). On the adding
  problem a lane has one target step in ~100, so `_run` runs the ticks in between ("quiet" ticks:
  no lane at a step that needs its per-lane part) in a tight loop with no per-lane code at all: the
  inputs' gather, the generated step, one vectorised divergence test. Even so, a lane's
  per-sequence work costs about a third of its time on adding T=100 (~1.4 of ~4.4 microseconds per
  lane and sequence in a cycle-counter profile at 100c2ef, the full ticks included; docs/speed.md):
  its start (generating, resetting state and partials with strided per-lane stores), its end
  (update, log, stop window) and its target step. The functions that do it are inlined here
  (lane_steps.py says why).
* Nothing in the tick loop allocates, so it and the per-lane code compile with `_nrt=False` (no
  reference counting of the per-trial objects a sequence start touches, which cost ~0.6
  microseconds a sequence); the generators draw integers with generators/draws.py for that.
* All state lives in `LaneState` arrays (lane_state.py; each trial's stop window and log are
  copied into its rows for the call), so a call can return in the middle of other lanes'
  sequences (when one lane's request is done) and the next call resumes them exactly.
  The per-lane sequence work is lane_steps.py; this module is the tick loop.
"""

from __future__ import annotations

from numba import njit

from ..logistic import _bits
from ..kernel import RULE_ABS, RULE_RANK, RULE_SQUARED, UPDATE_DELAYED, UPDATE_STEP, _legal_on_top
from ..train_loop import EVENT_DONE
from .lane_backward import (BACKWARD_VECTOR_MIN_LOOPED, BACKWARD_VECTOR_MIN_UNROLLED, NEED_BACKWARD,
                            NEED_LEARN)
from .lane_inputs import gather
from .lane_state import (F_ABS, F_MAX, F_SQ, L_ACTIVE, L_DIV, L_EVENT, L_I, L_INSEQ, L_LAST,
                         L_LEN, L_NJ, L_NJS, L_NMAX, L_OK, L_REC, L_STOP, L_T, load_lanes,
                         store_lanes)
from .lane_steps import (_apply_lane, _backward_lane, _end_sequence, _needs_work, _next_stop,
                         _record_lane, _start_sequence)
from .unrolled import UNROLL_MAX_SOURCES, backward, partials, shift, step, tick


@njit(cache=True, _nrt=False)
def _any_diverged(bad, live):
    """Whether a live lane's outputs or cell states are not finite after this tick: `bad` is +0.0
    (all bits 0) or nan, so OR-ing its bits over the live lanes is one vectorised reduction."""
    acc = 0
    for l in range(live.shape[0]):
        acc |= _bits(bad[0, l]) & live[l]
    return acc != 0



def run_lanes(nets, scratches, st, rules, tps, datas, rngs, stops, logs, recorders):
    """Advance every active lane (st.li[l, L_ACTIVE] == 1) until some lane's request is complete.

    A lane's request: st.li[l, L_NMAX] sequences, counted from st.li[l, L_I] (0 for a new request).
    On return, a completed lane has L_ACTIVE 0, its result in L_I (sequences done), L_EVENT and
    L_DIV (divergence step); other lanes may be in the middle of a sequence and resume on the
    next call. `scratches` are the trials' FastScratch (single.py): their dWT / dW_o hold the summed
    changes between calls. Returns the number of lanes completed by this call.

    Python, not a kernel around the kernel: Numba links a compiled caller's callees into the
    caller's own module and optimises and generates machine code for all of it again, so a
    compiled wrapper compiled the whole lane kernel a second time (adding, 8 lanes, first compile:
    80-95 s with it, 31-36 s without; docs/speed.md). It runs once per kernel call, which lasts until
    some lane's request is done, so its Python costs nothing measurable.
    """
    load_lanes(nets, scratches, stops, st)
    n_done = _run(nets[0], st, rules, tps, datas, rngs, recorders)
    store_lanes(nets, scratches, stops, logs, st)
    return n_done


# error_model="numpy": IEEE division without Python's zero-divisor check, whose branch and
# exception path keep the inlined logistic from vectorising (1 + e^-x is never 0; same results)
@njit(cache=True, error_model="numpy", _nrt=False)
def _run(net, st, rules, tps, datas, rngs, recorders):
    """The tick loop. Most ticks need no per-lane work at all (on adding, a lane needs it on one
    step in ~100: its target step), so the loop has two speeds: `quiet` ticks, run back to back
    while no lane is at a step that needs its per-lane part (the generated step, the inputs as one
    gather per input line, one vectorised divergence test), and a full tick, which does the per-lane
    part (for the lanes that need it) and the per-lane advance (sequence ends and starts) for all.
    The per-lane loops of a full tick cost about a third of the generated step on adding."""
    n_lanes = len(rngs)
    n_in, K = net.n_in, net.n_out
    Z, spec, yk = st.Z, st.spec, st.yk
    li, lf = st.li, st.lf
    learn = rules.learn
    rule, threshold, judge_last = rules.rule, rules.threshold, rules.judge_last
    mode = rules.update_mode
    delayed = learn and mode == UPDATE_DELAYED
    vector_min = (BACKWARD_VECTOR_MIN_UNROLLED if st.W.shape[1] <= UNROLL_MAX_SOURCES
                  else BACKWARD_VECTOR_MIN_LOOPED)  # (lane_backward.py)

    # lanes that are active but between sequences start one now
    n_done = 0
    for l in range(n_lanes):
        if li[l, L_ACTIVE] == 1 and li[l, L_INSEQ] == 0:
            if li[l, L_I] >= li[l, L_NMAX]:
                li[l, L_EVENT] = EVENT_DONE
                li[l, L_ACTIVE] = 0
                n_done += 1
            elif not _start_sequence(net, st, l, rules, tps, datas, rngs, recorders, n_in):
                li[l, L_ACTIVE] = 0
                n_done += 1
    n_active = 0
    for l in range(st.live.shape[0]):
        live = l < n_lanes and li[l, L_ACTIVE] == 1
        st.live[l] = -1 if live else 0
        n_active += 1 if live else 0
    bad, live, xs, tl = st.bad, st.live, st.xs, st.tl
    while n_done == 0 and n_active > 0:
        # ---- quiet ticks: every active lane is before its next stop (see _next_stop) ------------
        quiet = li[0, L_STOP] - li[0, L_T] if li[0, L_ACTIVE] == 1 else 1 << 62
        for l in range(1, n_lanes):
            if li[l, L_ACTIVE] == 1:
                quiet = min(quiet, li[l, L_STOP] - li[l, L_T])
        # each lane's step at the first of them; the gather adds k, the quiet ticks done, for the
        # live lanes (lane_inputs.py), so that nothing is stored per tick for the next one to load
        for l in range(n_lanes):
            tl[l] = li[l, L_T] * li[l, L_ACTIVE]
        k = 0
        diverged = False
        while k < quiet:
            gather(spec, xs, tl, live, k, Z)  # the inputs (lane_inputs.py)
            if learn:
                step(spec, Z)  # tick, partials and shift in one body
            else:
                tick(spec, Z)
                shift(spec, Z)
            # a lane's outputs or cell states not finite: handled below as a full tick, without
            # running it again, nor its shift (the quiet step keeps its activations in registers:
            # Z's rows of them are stale, see unrolled._source_step)
            if _any_diverged(bad, live):
                diverged = True
                break
            k += 1
        if k > 0:
            for l in range(n_lanes):
                li[l, L_T] += k * li[l, L_ACTIVE]
        # ---- a full tick: the step of every lane, generated straight-line code (unrolled.py) ---
        if not diverged:
            gather(spec, xs, tl, live, k, Z)  # the inputs (lane_inputs.py)
            tick(spec, Z)
            if learn:
                partials(spec, Z)  # (25), (27): every step, before a target step's errors use them
        # ---- per lane, only where needed: divergence, trace, judging, errors and updates --------
        need = st.need
        n_back = 0
        for l in range(n_lanes):
            need[l] = 0
            if li[l, L_ACTIVE] == 0:
                continue
            t = li[l, L_T]
            if not _needs_work(st.ht[l], li[l, L_REC], t, delayed) and bad[0, l] == 0.0:
                continue
            if li[l, L_REC] >= 0:
                _record_lane(st, l, recorders[l].rows, li[l, L_REC] + t, st.xs[l], st.ys[l],
                             st.ht[l], t)
            if not bad[0, l] == 0.0:  # a non-finite output or cell state: stop the sequence
                li[l, L_DIV] = t
                continue
            if st.ht[l, t] and (not judge_last or t == li[l, L_LAST]):
                J = st.js[l]
                li[l, L_NJS] += 1
                step_sq = 0.0
                for k in range(K):
                    err = abs(J[t, k] - yk[k, l])
                    lf[l, F_ABS] += err
                    step_sq += err * err
                    li[l, L_NJ] += 1
                    if err > lf[l, F_MAX]:
                        lf[l, F_MAX] = err
                    if rule == RULE_ABS and not err < threshold:
                        li[l, L_OK] = 0
                    elif rule == RULE_SQUARED and not err * err < threshold:
                        li[l, L_OK] = 0
                lf[l, F_SQ] += step_sq
                if rule == RULE_RANK:
                    if not _legal_on_top(J, t, yk[:, l]):
                        li[l, L_OK] = 0
            if learn:
                need[l] = NEED_LEARN
                if st.ht[l, t]:
                    need[l] = NEED_BACKWARD
                    n_back += 1
        # ---- the backward passes: all lanes at once if several need one (lane_backward.py) -----
        if n_back >= vector_min:
            for l in range(st.on.shape[1]):
                on = l < n_lanes and need[l] == NEED_BACKWARD
                st.on[0, l] = 1.0 if on else 0.0
                if on:
                    for k in range(K):  # its targets, where the backward pass expects them
                        st.ek[k, l] = st.ys[l, li[l, L_T], k]
            backward(spec, Z, net, st)
        elif n_back > 0:
            for l in range(n_lanes):
                if need[l] == NEED_BACKWARD:
                    _backward_lane(net, st, l, st.ys[l], li[l, L_T])
        # ---- the updates that follow a lane's backward pass (update=step, update=delayed) ------
        for l in range(n_lanes):
            if need[l] == 0:
                continue
            t = li[l, L_T]
            if need[l] == NEED_BACKWARD and mode == UPDATE_STEP:
                if not _apply_lane(st, l, rules.lr):
                    li[l, L_DIV] = t
                    continue
            if delayed and t == 0:
                if not _apply_lane(st, l, rules.lr):
                    li[l, L_DIV] = t
        # ---- this step's activations become next step's sources --------------------------------
        if not diverged:
            shift(spec, Z)
        # ---- per lane: next step, or the end of its sequence -----------------------------------
        for l in range(n_lanes):
            if li[l, L_ACTIVE] == 0:
                continue
            li[l, L_T] += 1
            if li[l, L_DIV] >= 0 or li[l, L_T] == li[l, L_LEN]:
                if _end_sequence(st, l, rules, recorders):
                    li[l, L_ACTIVE] = 0
                    n_done += 1
                    continue
                if not _start_sequence(net, st, l, rules, tps, datas, rngs, recorders, n_in):
                    li[l, L_ACTIVE] = 0
                    n_done += 1
                    continue
            elif li[l, L_T] > li[l, L_STOP]:
                li[l, L_STOP] = _next_stop(st.ht[l], li[l, L_REC], li[l, L_T], li[l, L_LEN],
                                           delayed)
    return n_done

