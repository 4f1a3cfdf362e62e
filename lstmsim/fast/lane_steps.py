"""The per-lane, per-sequence part of the lane kernel (lanes.py): a lane's sequence start (generate,
reset), its target steps (judging is in lanes._run; the backward pass and updates here), its trace
rows and its sequence end (apply, log, stop window), each the single-trial code
(kernel.run_sequence, train_loop.run_chunk) for one lane of the LaneState arrays, same terms in
the same order.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ..generators import generate
from ..kernel import UPDATE_DELAYED, UPDATE_SEQUENCE
from ..train_loop import (EVENT_DIVERGED, EVENT_DONE, EVENT_REC_FULL, I_SEQS, I_STEPS, StopState,
                          window_update)
from .lane_state import (F_ABS, F_MAX, F_SQ, L_DIRTY, L_DIV, L_EVENT, L_I, L_INSEQ, L_LAST, L_LEN,
                         L_LMAX, L_NJ, L_NJS, L_NMAX, L_OK, L_REC, L_SEQ, L_STOP, L_T)

# _nrt=False (Numba's option to compile without its reference counting) on every function here
# and on the tick loop (lanes._run): they allocate nothing (the generators draw integers with
# generators/draws.py, not numba's allocating rng.integers), and they run once per sequence or
# per target step and read many LaneState arrays and per-trial objects; with reference counting
# each such read cost two calls to the atomic incref / decref (_end_sequence took 0.72 instead of
# 0.26 microseconds).
#
# inline="always" on the ones the tick loop calls for every sequence or target step (not on
# _record_lane, which runs for traced sequences only): Numba passes a call's arguments as their
# flattened fields, so each call with the LaneState (dozens of arrays, each several words), the
# rules and a trial's log, stop window and recorder copied hundreds of words. Inlined into
# lanes._run, they read only what they use. Measured (2026-11-27, adding T=100, 8 lanes; a
# cycle-counter profile per lane and sequence): sequence end 0.47 -> 0.23 microseconds, backward
# pass 0.31 -> 0.21, reset 0.24 -> 0.11; 8 lanes 19.98 -> 21.75 M steps/s (best of 5 runs of
# 20,000 sequences a lane, 5 alternating rounds, each faster). The lane kernel's first compile:
# 32 -> 35 s (one run each).
_INLINE = dict(cache=True, _nrt=False, inline="always")


@njit(**_INLINE)
def _apply_lane(st, l, lr):
    """kernel._apply for lane l: the same new weights, and False if one is not finite. (Its sum
    of w * 0.0, nan if a weight is not finite, is tested here weight by weight: as one sum it was
    a chain of additions, each waiting for the last, which took half of the apply's time.)"""
    W, M, dW = st.W, st.M, st.dW
    R, D = W.shape[0], W.shape[1]
    finite = True
    for r in range(R):
        for d in range(D):
            w = W[r, d, l] + lr * dW[r, d, l] * M[r, d, l]
            W[r, d, l] = w
            dW[r, d, l] = 0.0
            finite &= w * 0.0 == 0.0
    Wo, Mo, dWo = st.Wo, st.Mo, st.dWo
    K, Do = Wo.shape[0], Wo.shape[1]
    for k in range(K):
        for d in range(Do):
            w = Wo[k, d, l] + lr * dWo[k, d, l] * Mo[k, d, l]
            Wo[k, d, l] = w
            dWo[k, d, l] = 0.0
            finite &= w * 0.0 == 0.0
    return finite


@njit(**_INLINE)
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


@njit(cache=True, _nrt=False)
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


@njit(**_INLINE)
def _start_sequence(net, st, l, rules, tps, datas, rngs, recorders, n_in):
    """Begin lane l's next sequence: trace buffer check, generate, reset (kernel.run_sequence's
    prologue). Returns False if the lane's request ends here (trace buffer full). The per-trial
    objects come as tuples, each taken by the lane only where it is used (lane_state.py: why)."""
    li = st.li
    seq_index = st.stops.ints[l, I_SEQS]
    rec_row = -1
    if rules.rec_first > seq_index or (rules.rec_every > 0 and seq_index % rules.rec_every == 0):
        recorder = recorders[l]
        cnt = recorder.count
        # the trial's own longest sequence, as alone (train_loop.record_row), not the lane rows'
        # (the longest of the batch's trials): its trace buffer is sized for its own
        if cnt[0] >= recorder.seq.shape[0] or cnt[1] + li[l, L_LMAX] > recorder.rows.shape[0]:
            li[l, L_EVENT] = EVENT_REC_FULL
            return False
        rec_row = cnt[1]
    i = li[l, L_I]
    item = -1 if rules.item_base < 0 else rules.item_base + i
    # generated straight into the lane's own rows (what the trial alone generates into its bufs):
    # no copy, and the lane's rows are warm in the cache for the ticks that read them. At steps
    # without a target, ys and js hold what earlier sequences left there (a different history
    # from the trial's bufs, which its tests also use); nothing reads them there: judging,
    # errors and changes use target steps only, and trace files get NaN (trace._split)
    L = generate(rules.gen_id, rngs[l], tps[l], datas[l], item, st.xs[l], st.ys[l], st.js[l],
                 st.ht[l])
    _begin(net.n_cells, st, l, rules, L, rec_row, seq_index, n_in)
    return True


@njit(**_INLINE)
def _begin(Nc, st, l, rules, L, rec_row, seq_index, n_in):
    """The rest of _start_sequence: the lane's counters and its reset."""
    li = st.li
    ht = st.ht[l]
    li[l, L_LEN] = L
    li[l, L_T] = 0
    li[l, L_REC] = rec_row
    li[l, L_SEQ] = seq_index
    last_t = -1
    if rules.judge_last:
        for t in range(L):
            if ht[t]:
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
    # the summed changes start from zero (kernel.run_sequence), but they are zero already unless
    # the lane was just loaded or its last sequence diverged: every apply (update=sequence, step)
    # leaves zeros behind. Zeroing them one lane at a time, each element in its own cache line,
    # cost a sixth of the Reber net's lane time
    if rules.learn and rules.update_mode != UPDATE_DELAYED and li[l, L_DIRTY] == 1:
        for r in range(st.dW.shape[0]):
            for d in range(D):
                st.dW[r, d, l] = 0.0
        for k in range(st.dWo.shape[0]):
            for d in range(Do):
                st.dWo[k, d, l] = 0.0
        li[l, L_DIRTY] = 0
    li[l, L_STOP] = _next_stop(st.ht[l], rec_row, 0, L,
                               rules.learn and rules.update_mode == UPDATE_DELAYED)


@njit(**_INLINE)
def _needs_work(ht, rec_row, t, delayed):
    """Whether a lane's step t needs the per-lane part of the tick: it has a target (ht[t]:
    judging, errors, changes), its sequence is traced (rec_row >= 0), or it is step 0 under
    update=delayed (the last sequence's summed changes are applied there)."""
    return ht[t] != 0 or rec_row >= 0 or (delayed and t == 0)


@intrinsic
def _word_at(typingctx, a, i):
    """The 8 bytes a[i : i + 8] of a 1-d int8 array as one int64 (one load, any alignment)."""
    if not (isinstance(a, types.Array) and a.ndim == 1 and a.dtype == types.int8
            and isinstance(i, types.Integer)):
        return None
    sig = types.int64(a, i)

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        address = builder.bitcast(builder.gep(array.data, [args[1]]), ir.IntType(64).as_pointer())
        word = builder.load(address)
        word.align = 1
        return word

    return sig, codegen


@njit(**_INLINE)
def _next_stop(ht, rec_row, t, length, delayed):
    """The first step from step t that needs the per-lane part of the tick or is the sequence's
    last; the steps before it are quiet (only divergence can interrupt them)."""
    if rec_row < 0 and not (delayed and t == 0):
        # then only a target stops the lane: skip 8 steps at a time while none has one (adding:
        # ~100 steps to the target at the end; byte by byte the scan took ~0.06 of a lane's ~4.2
        # microseconds a sequence in a cycle-counter profile; 8 lanes +0.9%, 5 alternating rounds)
        while t + 8 <= length - 1 and _word_at(ht, t) == 0:
            t += 8
    while t < length - 1 and not _needs_work(ht, rec_row, t, delayed):
        t += 1
    return t



@njit(**_INLINE)
def _end_sequence(st, l, rules, recorders):
    """kernel.run_sequence's epilogue and run_chunk's bookkeeping for lane l's finished sequence,
    its log and stop window in the lane rows (lane_state.py). Returns True if the lane's request
    is complete."""
    li, lf = st.li, st.lf
    L = li[l, L_LEN]
    div = li[l, L_DIV]
    if rules.learn and rules.update_mode == UPDATE_SEQUENCE and div < 0:
        if not _apply_lane(st, l, rules.lr):
            div = L - 1
    if div >= 0:
        li[l, L_DIRTY] = 1  # no apply: its summed changes stay as they were
    nj, njs = li[l, L_NJ], li[l, L_NJS]
    s_abs = lf[l, F_ABS] / nj if nj > 0 else 0.0
    s_sq = lf[l, F_SQ] / njs if njs > 0 else 0.0
    s_max = lf[l, F_MAX]
    ok = li[l, L_OK] == 1 and div < 0
    i = li[l, L_I]
    log, rows = st.logs, st.stops
    log.length[l, i] = L
    log.abs_err[l, i] = s_abs
    log.sq_err[l, i] = s_sq
    log.max_abs[l, i] = s_max
    log.correct[l, i] = 1 if ok else 0
    stop = StopState(rows.ring_err[l], rows.ring_bad[l], rows.ring_big[l], rows.ints[l],
                     rows.err_sum[l], rows.levels[l])  # lane l's window, as window_update takes it
    ints = stop.ints
    ints[I_SEQS] += 1
    ints[I_STEPS] += L
    rec_row = li[l, L_REC]
    if rec_row >= 0:
        recorder = recorders[l]
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
