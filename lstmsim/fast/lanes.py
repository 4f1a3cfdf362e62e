"""Several independent trials in one kernel, one trial per SIMD lane (issue 7, trial-parallel mode).

`run_lanes` advances the trials of one setting (same topology and rules, own weights, own random
streams, own generators, own stop windows, logs and trace recorders) together: every tick, each
lane does one time step of its own current sequence. A lane starts its next sequence when its own
ends (sequences have different lengths), and stops when its own request (the n sequences that its
trial's `Training.advance` asked for) is done or its own stop rule, divergence or trace buffer ends
it. Each lane therefore computes exactly what `kernel.run_sequence` / `train_loop.run_chunk`
compute for that trial alone, bit for bit (tests/test_fast.py): every sum adds the same terms in
the same order, and every unit uses `expfn.logistic`.

Why it is shaped this way:

* Lane-minor arrays ([row, source, lane]). The per-step arithmetic of the 1997 step (net inputs,
  13 logistic units on the adding net, the constant error carousel, the partials update P += u a^T)
  is the same for every lane, so the innermost loop of each is over lanes: a constant trip count
  (over the padded lane count) with no
  reduction across iterations, which LLVM turns into full-width vector code without fast-math.
  The step's dependency chain (net input -> f -> s -> h -> net input) is long and serial within a
  trial; lanes are independent chains, so the vector units are busy instead of waiting.
* Lanes are padded to a multiple of 8 (one AVX-512 register of doubles, two AVX2 registers). Pad
  lanes hold zero weights and stay at zero activity; they are never generated, judged or stored.
* What is rare stays scalar and per lane: sequence start (generate, reset), target steps (judging,
  the backward pass and, per-step updates), sequence end (apply the update, log, stop window).
  On the adding problem that is one target step in ~100.
* All state lives in `LaneState` arrays, so a call can return in the middle of other lanes'
  sequences (when one lane's request is done) and the next call resumes them exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ..generators import generate
from ..kernel import (RULE_ABS, RULE_RANK, RULE_SQUARED, UPDATE_DELAYED, UPDATE_SEQUENCE,
                      UPDATE_STEP, _legal_on_top)
from ..train_loop import EVENT_DIVERGED, EVENT_DONE, EVENT_REC_FULL, I_SEQS, I_STEPS, window_update
from .unrolled import dims_from_spec, layout, make_spec, partials, shift, tick

PAD = 8

# per-lane integer state (LaneState.li columns)
L_T, L_LEN, L_I, L_NMAX, L_REC, L_LAST, L_NJ, L_NJS, L_OK, L_DIV, L_ACTIVE, L_EVENT, L_INSEQ, \
    L_SEQ, L_NEED, L_LOADED = range(16)
# per-lane float accumulators (LaneState.lf columns)
F_ABS, F_SQ, F_MAX = range(3)


class LaneState(NamedTuple):
    """All lane state. The arrays up to `yk` are views into Z (fast/unrolled.py: the generated
    per-tick code works on Z with literal offsets); the others are plain arrays."""

    Z: np.ndarray  # flat: row k of unrolled.layout at Z[k * NL : (k + 1) * NL]
    spec: tuple  # unrolled.make_spec: the topology and NL as tuple lengths (a Numba type)
    W: np.ndarray  # (R, D, NL) weights into the hidden layer
    Wo: np.ndarray  # (K, Do, NL)
    a: np.ndarray  # (D, NL) sources a(t)
    b: np.ndarray  # (Do, NL) output-layer sources b(t)
    s: np.ndarray  # (Nc, NL)
    P: np.ndarray  # (2 Nc, D, NL): ds_c/dW[c, d] (rows < Nc), ds_c/dW[in_gate(c), d] (rows >= Nc)
    yin: np.ndarray  # (C, NL)
    fin: np.ndarray
    yout: np.ndarray
    fout: np.ndarray
    gc: np.ndarray  # (Nc, NL)
    gp: np.ndarray
    hs: np.ndarray
    hp: np.ndarray
    yc: np.ndarray
    yh: np.ndarray  # (H, NL)
    fh: np.ndarray
    yk: np.ndarray  # (K, NL)
    bad: np.ndarray  # (1, NL): 0.0 when the step's outputs and cell states are finite, else nan
    M: np.ndarray  # (R, D, NL) masks
    Mo: np.ndarray
    dW: np.ndarray  # (R, D, NL) summed changes
    dWo: np.ndarray
    ek: np.ndarray  # (K, NL)
    dc: np.ndarray  # (Nc, NL)
    es: np.ndarray  # (Nc, NL)
    li: np.ndarray  # (NL, 16) int64, see L_*
    lf: np.ndarray  # (NL, 3), see F_*
    xs: np.ndarray  # (NL, Lmax, n_in) each lane's current sequence, copied from its buffers at its
    ys: np.ndarray  # (NL, Lmax, K)    start, so that the per-tick loop touches plain arrays only
    js: np.ndarray  # (NL, Lmax, K)    (indexing a tuple of per-trial objects by a variable lane
    ht: np.ndarray  # (NL, Lmax) int8  costs a branch per element and reference counting)


def new_lane_state(net, n_lanes: int, max_length: int, pad: int = PAD) -> LaneState:
    R, D = net.W_h.shape
    K, Do = net.W_o.shape
    Nc, C, H = net.n_cells, net.n_blocks, net.n_hidden
    NL = -(-n_lanes // pad) * pad
    spec = make_spec(net, NL)
    ly = layout(dims_from_spec(spec))
    Z = np.zeros(ly["_total"] * NL)
    rows = Z.reshape(ly["_total"], NL)

    def view(name, *shape):
        n = int(np.prod(shape))
        return rows[ly[name]: ly[name] + n].reshape(*shape, NL)

    z = np.zeros
    return LaneState(
        Z, spec, view("W", R, D), view("Wo", K, Do), view("A", D), view("B", Do), view("S", Nc),
        view("P", 2 * Nc, D), view("yin", C), view("fin", C), view("yout", C), view("fout", C),
        view("gc", Nc), view("gp", Nc), view("hs", Nc), view("hp", Nc), view("yc", Nc),
        view("yh", H), view("fh", H), view("yk", K), view("bad", 1),
        z((R, D, NL)), z((K, Do, NL)), z((R, D, NL)), z((K, Do, NL)), z((K, NL)), z((Nc, NL)),
        z((Nc, NL)), np.zeros((NL, 16), np.int64), z((NL, 3)), z((NL, max_length, net.n_in)),
        z((NL, max_length, K)), z((NL, max_length, K)), np.zeros((NL, max_length), np.int8))


@njit(cache=True)
def _load(nets, scratches, st):
    """Each active trial's weights, masks and summed changes (which carry over between sequences
    in update=delayed) into the lane arrays; the trial's own arrays stay the truth between calls.
    Only lanes active at entry are loaded and stored: an inactive lane's objects may be another
    trial's (a trial that has not asked yet), which must not be written."""
    for l in range(len(nets)):
        st.li[l, L_LOADED] = st.li[l, L_ACTIVE]
        if st.li[l, L_LOADED] == 0:
            continue
        net, fs = nets[l], scratches[l]
        R, D = net.W_h.shape
        for r in range(R):
            for d in range(D):
                st.W[r, d, l] = net.W_h[r, d]
                st.M[r, d, l] = net.M_h[r, d]
                st.dW[r, d, l] = fs.dWT[d, r]
        K, Do = net.W_o.shape
        for k in range(K):
            for d in range(Do):
                st.Wo[k, d, l] = net.W_o[k, d]
                st.Mo[k, d, l] = net.M_o[k, d]
                st.dWo[k, d, l] = fs.dW_o[k, d]


@njit(cache=True)
def _store(nets, scratches, st):
    for l in range(len(nets)):
        if st.li[l, L_LOADED] == 0:
            continue
        net, fs = nets[l], scratches[l]
        R, D = net.W_h.shape
        for r in range(R):
            for d in range(D):
                net.W_h[r, d] = st.W[r, d, l]
                fs.dWT[d, r] = st.dW[r, d, l]
        K, Do = net.W_o.shape
        for k in range(K):
            for d in range(Do):
                net.W_o[k, d] = st.Wo[k, d, l]
                fs.dW_o[k, d] = st.dWo[k, d, l]


@njit(cache=True)
def _apply_lane(st, l, lr):
    """kernel._apply for lane l."""
    W, M, dW = st.W, st.M, st.dW
    R, D = W.shape[0], W.shape[1]
    total = 0.0
    for r in range(R):
        for d in range(D):
            W[r, d, l] += lr * dW[r, d, l] * M[r, d, l]
            dW[r, d, l] = 0.0
            total += W[r, d, l] * 0.0
    Wo, Mo, dWo = st.Wo, st.Mo, st.dWo
    K, Do = Wo.shape[0], Wo.shape[1]
    for k in range(K):
        for d in range(Do):
            Wo[k, d, l] += lr * dWo[k, d, l] * Mo[k, d, l]
            dWo[k, d, l] = 0.0
            total += Wo[k, d, l] * 0.0
    return total == 0.0


@njit(cache=True)
def _backward_lane(net, st, l, Y, t):
    """kernel._backward for lane l (same terms, same order)."""
    blk = net.blk
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    D = st.W.shape[1]
    Do = st.Wo.shape[1]
    Wo, a, b, yk, ek, dc, es = st.Wo, st.a, st.b, st.yk, st.ek, st.dc, st.es
    dW, dWo, P = st.dW, st.dWo, st.P
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C
    for k in range(K):
        ek[k, l] = yk[k, l] * (1.0 - yk[k, l]) * (Y[t, k] - yk[k, l])
        for d in range(Do):
            dWo[k, d, l] += ek[k, l] * b[d, l]
    for c in range(Nc):
        acc = 0.0
        for k in range(K):
            acc += Wo[k, n_in + c, l] * ek[k, l]
        dc[c, l] = acc
        es[c, l] = st.yout[blk[c], l] * st.hp[c, l] * acc
    if net.out_gates == 1:
        for j in range(C):
            acc = 0.0
            for c in range(Nc):
                if blk[c] == j:
                    acc += st.hs[c, l] * dc[c, l]
            e_out = st.fout[j, l] * acc
            for d in range(D):
                dW[r_out + j, d, l] += e_out * a[d, l]
    for i in range(H):
        acc = 0.0
        for k in range(K):
            acc += Wo[k, n_in + Nc + i, l] * ek[k, l]
        e_h = st.fh[i, l] * acc
        for d in range(D):
            dW[r_h + i, d, l] += e_h * a[d, l]
    for c in range(Nc):
        j = blk[c]
        for d in range(D):
            dW[c, d, l] += es[c, l] * P[c, d, l]
            dW[r_in + j, d, l] += es[c, l] * P[Nc + c, d, l]


@njit(cache=True)
def _record_lane(st, l, rec, row, X, Y, has_t, t):
    """kernel._record for lane l: x | target | has_target | s | y_c | y_in | y_out | y_k."""
    col = 0
    for m in range(X.shape[1]):
        rec[row, col] = X[t, m]
        col += 1
    for k in range(Y.shape[1]):
        rec[row, col] = Y[t, k]
        col += 1
    rec[row, col] = has_t[t]
    col += 1
    for arr in (st.s, st.yc, st.yin, st.yout, st.yk):
        for i in range(arr.shape[0]):
            rec[row, col] = arr[i, l]
            col += 1


@njit(cache=True)
def _start_sequence(net, st, l, rules, tp, data, rng, bufs, recorder, stop, n_in):
    """Begin lane l's next sequence: trace buffer check, generate, reset (kernel.run_sequence's
    prologue). Returns False if the lane's request ends here (trace buffer full)."""
    li = st.li
    X, Y, J, has_t = bufs
    seq_index = stop.ints[I_SEQS]
    rec_row = -1
    if rules.rec_first > seq_index or (rules.rec_every > 0 and seq_index % rules.rec_every == 0):
        cnt = recorder.count
        if cnt[0] >= recorder.seq.shape[0] or cnt[1] + X.shape[0] > recorder.rows.shape[0]:
            li[l, L_EVENT] = EVENT_REC_FULL
            return False
        rec_row = cnt[1]
    i = li[l, L_I]
    item = -1 if rules.item_base < 0 else rules.item_base + i
    L = generate(rules.gen_id, rng, tp, data, item, X, Y, J, has_t)
    for t in range(L):
        for m in range(X.shape[1]):
            st.xs[l, t, m] = X[t, m]
        for k in range(Y.shape[1]):
            st.ys[l, t, k] = Y[t, k]
            st.js[l, t, k] = J[t, k]
        st.ht[l, t] = has_t[t]
    li[l, L_LEN] = L
    li[l, L_T] = 0
    li[l, L_REC] = rec_row
    li[l, L_SEQ] = seq_index
    last_t = -1
    if rules.judge_last:
        for t in range(L):
            if has_t[t]:
                last_t = t
    li[l, L_LAST] = last_t
    li[l, L_NJ] = 0
    li[l, L_NJS] = 0
    li[l, L_OK] = 1
    li[l, L_DIV] = -1
    li[l, L_INSEQ] = 1
    st.lf[l, F_ABS] = 0.0
    st.lf[l, F_SQ] = 0.0
    st.lf[l, F_MAX] = 0.0
    Nc = net.n_cells
    D = st.W.shape[1]
    Do = st.Wo.shape[1]
    for c in range(Nc):
        st.s[c, l] = 0.0
    for c in range(2 * Nc):
        for d in range(D):
            st.P[c, d, l] = 0.0
    for d in range(n_in, D - 1):
        st.a[d, l] = rules.reset
    st.a[D - 1, l] = 1.0
    st.b[Do - 1, l] = 1.0
    if rules.learn and rules.update_mode != UPDATE_DELAYED:
        st.dW[:, :, l] = 0.0
        st.dWo[:, :, l] = 0.0
    return True


@njit(cache=True)
def _set_inputs(st, l):
    """Lane l's input at its current step, and whether the step needs the per-lane work: a target
    step, a traced sequence, or the first step (update=delayed applies the last sum there)."""
    t = st.li[l, L_T]
    for m in range(st.xs.shape[2]):
        st.a[m, l] = st.xs[l, t, m]
    st.li[l, L_NEED] = 1 if (st.ht[l, t] or st.li[l, L_REC] >= 0 or t == 0) else 0


@njit(cache=True)
def _end_sequence(st, l, rules, log, stop, recorder):
    """kernel.run_sequence's epilogue and run_chunk's bookkeeping for lane l's finished sequence.
    Returns True if the lane's request is complete."""
    li, lf = st.li, st.lf
    L = li[l, L_LEN]
    div = li[l, L_DIV]
    if rules.learn and rules.update_mode == UPDATE_SEQUENCE and div < 0:
        if not _apply_lane(st, l, rules.lr):
            div = L - 1
    nj, njs = li[l, L_NJ], li[l, L_NJS]
    s_abs = lf[l, F_ABS] / nj if nj > 0 else 0.0
    s_sq = lf[l, F_SQ] / njs if njs > 0 else 0.0
    s_max = lf[l, F_MAX]
    ok = li[l, L_OK] == 1 and div < 0
    i = li[l, L_I]
    log.length[i] = L
    log.abs_err[i] = s_abs
    log.sq_err[i] = s_sq
    log.max_abs[i] = s_max
    log.correct[i] = 1 if ok else 0
    ints = stop.ints
    ints[I_SEQS] += 1
    ints[I_STEPS] += L
    rec_row = li[l, L_REC]
    if rec_row >= 0:
        cnt = recorder.count
        recorder.seq[cnt[0]] = li[l, L_SEQ]
        recorder.start[cnt[0]] = rec_row
        cnt[0] += 1
        cnt[1] += L
    li[l, L_I] = i + 1
    li[l, L_INSEQ] = 0
    if div >= 0:
        li[l, L_EVENT] = EVENT_DIVERGED
        li[l, L_DIV] = div
        return True
    err = s_sq if rules.avg_sq == 1 else s_abs
    big = 1 if s_max > rules.big_threshold else 0
    ev = window_update(rules, stop, err, 0 if ok else 1, big)
    if ev >= 0:
        li[l, L_EVENT] = ev
        return True
    if i + 1 >= li[l, L_NMAX]:
        li[l, L_EVENT] = EVENT_DONE
        return True
    return False


@njit(cache=True)
def run_lanes(nets, scratches, st, rules, tps, datas, rngs, bufs, stops, logs, recorders):
    """Advance every active lane (st.li[l, L_ACTIVE] == 1) until some lane's request is complete.

    A lane's request: st.li[l, L_NMAX] sequences, counted from st.li[l, L_I] (0 for a new request).
    On return, a completed lane has L_ACTIVE 0, its result in L_I (sequences done), L_EVENT and
    L_DIV (divergence step); other lanes may be in the middle of a sequence and resume on the
    next call. `scratches` are the trials' FastScratch (single.py): their dWT / dW_o hold the summed
    changes between calls. Returns the number of lanes completed by this call.
    """
    _load(nets, scratches, st)
    n_done = _run(nets[0], nets, st, rules, tps, datas, rngs, bufs, stops, logs, recorders)
    _store(nets, scratches, st)
    return n_done


# error_model="numpy": IEEE division without Python's zero-divisor check, whose branch and
# exception path keep the inlined logistic from vectorising (1 + e^-x is never 0; same results)
@njit(cache=True, error_model="numpy")
def _run(net, nets, st, rules, tps, datas, rngs, bufs, stops, logs, recorders):
    n_lanes = len(rngs)
    n_in, K = net.n_in, net.n_out
    Z, spec, yk = st.Z, st.spec, st.yk
    li, lf = st.li, st.lf
    learn = rules.learn
    rule, threshold, judge_last = rules.rule, rules.threshold, rules.judge_last
    mode = rules.update_mode

    # lanes that are active but between sequences start one now
    n_done = 0
    for l in range(n_lanes):
        if li[l, L_ACTIVE] == 1 and li[l, L_INSEQ] == 0:
            if li[l, L_I] >= li[l, L_NMAX]:
                li[l, L_EVENT] = EVENT_DONE
                li[l, L_ACTIVE] = 0
                n_done += 1
            elif not _start_sequence(net, st, l, rules, tps[l], datas[l], rngs[l], bufs[l],
                                     recorders[l], stops[l], n_in):
                li[l, L_ACTIVE] = 0
                n_done += 1
    ykl = np.empty(K)  # one lane's outputs, for the rank rule
    n_active = 0
    for l in range(n_lanes):
        n_active += li[l, L_ACTIVE]

    # each active lane's input at its current step (mid-sequence lanes: the same again)
    for l in range(n_lanes):
        if li[l, L_ACTIVE] == 1:
            _set_inputs(st, l)
    bad = st.bad
    while n_done == 0 and n_active > 0:
        # ---- the step of every lane: generated straight-line code (fast/unrolled.py) -----------
        tick(spec, Z)
        if learn:
            partials(spec, Z)  # (25), (27): every step, before the target step's errors use them
        # ---- per lane, only where needed: divergence, trace, judging, errors and updates --------
        for l in range(n_lanes):
            if li[l, L_ACTIVE] == 0 or (li[l, L_NEED] == 0 and bad[0, l] == 0.0):
                continue
            t = li[l, L_T]
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
                    for k in range(K):
                        ykl[k] = yk[k, l]
                    if not _legal_on_top(J, t, ykl):
                        li[l, L_OK] = 0
            if learn:
                if st.ht[l, t]:
                    _backward_lane(net, st, l, st.ys[l], t)
                    if mode == UPDATE_STEP:
                        if not _apply_lane(st, l, rules.lr):
                            li[l, L_DIV] = t
                            continue
                if mode == UPDATE_DELAYED and t == 0:
                    if not _apply_lane(st, l, rules.lr):
                        li[l, L_DIV] = t
        # ---- this step's activations become next step's sources --------------------------------
        shift(spec, Z)
        # ---- per lane: next step, or the end of its sequence -----------------------------------
        for l in range(n_lanes):
            if li[l, L_ACTIVE] == 0:
                continue
            li[l, L_T] += 1
            if li[l, L_DIV] >= 0 or li[l, L_T] == li[l, L_LEN]:
                if _end_sequence(st, l, rules, logs[l], stops[l], recorders[l]):
                    li[l, L_ACTIVE] = 0
                    n_done += 1
                    continue
                if not _start_sequence(net, st, l, rules, tps[l], datas[l], rngs[l], bufs[l],
                                       recorders[l], stops[l], n_in):
                    li[l, L_ACTIVE] = 0
                    n_done += 1
                    continue
            _set_inputs(st, l)
    return n_done
