"""The state of the lane kernel (lanes.py): every trial's arrays, lane-minor, and its per-lane
counters, and the copies of the trials' weights into and out of it.

All lane state lives in `LaneState` arrays, so that a call of the kernel can return in the middle
of other lanes' sequences (when one lane's request is done) and the next call resumes them
exactly. The arithmetic arrays are views of one flat buffer Z (unrolled.layout), which the
generated per-tick code indexes with literal offsets.

Each trial's stop window and log are copied into lane-indexed rows (`stops`, `logs`) for the
call and back after it, like its weights: the kernel takes a lane's objects from tuples of the
trials' objects, and taking one from a tuple by a variable lane is a switch on the lane whose every
case copies all the object's fields the code after it uses (~35 words for the log, stop window
and recorder at each sequence end). Rows indexed by the lane cost one address computation.
Measured (2026-11-27, adding T=100, 8 lanes, best of 5 runs of 40,000 sequences a lane, 8
alternating rounds in separate processes): 26.96-29.65 (mean 28.77) -> 29.51-30.00 M steps/s
(mean 29.76), faster in every round. The generators' objects (rng, task parameters, data) and the
recorder are still taken from tuples, each only where it is used (lane_steps.py).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..train_loop import new_log, new_stop_state
from .aligned import aligned_zeros
from .unrolled import dims_from_spec, layout, make_spec

PAD = 8

# per-lane integer state (LaneState.li columns)
L_T, L_LEN, L_I, L_NMAX, L_REC, L_LAST, L_NJ, L_NJS, L_OK, L_DIV, L_ACTIVE, L_EVENT, L_INSEQ, \
    L_SEQ, L_STOP, L_LOADED, L_DIRTY, L_FROM, L_LMAX = range(19)
N_LI = 19
# per-lane float accumulators (LaneState.lf columns)
F_ABS, F_SQ, F_MAX = range(3)


class LaneState(NamedTuple):
    """All lane state. The arrays up to `yk` are views into Z (fast/unrolled.py: the generated
    per-tick code works on Z with literal offsets); the others are plain arrays."""

    Z: np.ndarray  # flat: row k of unrolled.layout at Z[k * NL : (k + 1) * NL]
    spec: tuple  # unrolled.make_spec: the topology and NL, held by its Numba type
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
    dW: np.ndarray  # (R, D, NL) summed changes (in Z: the generated backward pass writes them)
    dWo: np.ndarray
    ek: np.ndarray  # (K, NL) a target step's targets, then its errors (in Z)
    on: np.ndarray  # (1, NL) 1.0 for the lanes whose backward pass runs at this tick (in Z)
    dc: np.ndarray  # (Nc, NL)
    es: np.ndarray  # (Nc, NL)
    li: np.ndarray  # (NL, N_LI) int64, see L_*
    lf: np.ndarray  # (NL, 3), see F_*
    xs: np.ndarray  # (NL, Lmax, n_in) each lane's current sequence, generated into these rows at
    ys: np.ndarray  # (NL, Lmax, K)    its start (the trial's own generator and random stream), so
    js: np.ndarray  # (NL, Lmax, K)    that the per-tick loop touches plain arrays only (indexing
    ht: np.ndarray  # (NL, Lmax) int8  a tuple of per-trial objects by a variable lane costs a
    #                                  branch per element and reference counting)
    tl: np.ndarray  # (NL,) int64: each lane's step at the start of the quiet ticks (0 if idle)
    live: np.ndarray  # (NL,) int64: -1 for the lanes active in this call, else 0 (a bit mask)
    need: np.ndarray  # (NL,) int64: this tick's per-lane work (lanes._run: NEED_*)
    acc: np.ndarray  # (NL,) a sum per lane (lane_backward.py)
    stops: tuple  # a train_loop.StopState whose arrays have a row per lane: lane l's window
    logs: tuple  # a train_loop.Log whose arrays have a row per lane: lane l's sequence i at [l, i]


def new_lane_state(net, n_lanes: int, max_length: int, pad: int = PAD, stop=None,
                   log=None) -> LaneState:
    """The lane state for n_lanes trials of `net`'s topology, sequences of up to max_length steps;
    its stop windows and logs shaped like `stop` and `log` (the trials' own; by default a window
    of 1 and no log rows)."""
    R, D = net.W_h.shape
    K, Do = net.W_o.shape
    Nc, C, H = net.n_cells, net.n_blocks, net.n_hidden
    NL = -(-n_lanes // pad) * pad
    spec = make_spec(net, NL)
    ly = layout(dims_from_spec(spec))
    Z = aligned_zeros(ly["_total"] * NL)  # each row of lanes in one cache line (aligned.py)
    rows = Z.reshape(ly["_total"], NL)

    def view(name, *shape):
        n = int(np.prod(shape))
        return rows[ly[name]: ly[name] + n].reshape(*shape, NL)

    z = np.zeros
    st = LaneState(
        Z, spec, view("W", R, D), view("Wo", K, Do), view("A", D), view("B", Do), view("S", Nc),
        view("P", 2 * Nc, D), view("yin", C), view("fin", C), view("yout", C), view("fout", C),
        view("gc", Nc), view("gp", Nc), view("hs", Nc), view("hp", Nc), view("yc", Nc),
        view("yh", H), view("fh", H), view("yk", K), view("bad", 1),
        z((R, D, NL)), z((K, Do, NL)), view("dW", R, D), view("dWo", K, Do), view("ek", K),
        view("on", 1), z((Nc, NL)), z((Nc, NL)), np.zeros((NL, N_LI), np.int64), z((NL, 3)),
        z((NL, max_length, net.n_in)), z((NL, max_length, K)), z((NL, max_length, K)),
        np.zeros((NL, max_length), np.int8),
        np.zeros(NL, np.int64), np.zeros(NL, np.int64), np.zeros(NL, np.int64), z(NL),
        _rows(NL, new_stop_state(1) if stop is None else stop),
        _rows(NL, new_log(0) if log is None else log))
    st.li[:, L_LMAX] = max_length  # each lane's trial's own longest sequence (batch.LaneEngine)
    return st


def _rows(NL, obj):
    """A StopState or Log like `obj` whose every array has NL zero rows shaped and typed like it."""
    return type(obj)(*(np.zeros((NL,) + a.shape, a.dtype) for a in obj))


def fits(st, stop, log) -> bool:
    """Whether a trial's stop window and log have the lane rows' shapes and types (the trials of
    one batch of sweep_batches.py do)."""
    pairs = list(zip(stop, st.stops)) + list(zip(log, st.logs))
    return all(a.shape == rows.shape[1:] and a.dtype == rows.dtype for a, rows in pairs)


def load_lanes(nets, scratches, stops, st):
    """Each active trial's weights, masks, summed changes (which carry over between sequences in
    update=delayed) and stop window into the lane arrays; the trial's own arrays stay the truth
    between calls. Only lanes active at entry are loaded and stored: an inactive lane's objects may
    be another trial's (a trial that has not asked yet), which must not be written.

    Plain NumPy, not a kernel: it runs once per call of lanes.run_lanes, and compiled it took ~7 s
    for every topology and lane count (its types hold the lane state's and the tuple's)."""
    li = st.li
    for l, (net, fs, stop) in enumerate(zip(nets, scratches, stops)):
        li[l, L_LOADED] = li[l, L_ACTIVE]
        if li[l, L_LOADED] == 0:
            continue
        li[l, L_DIRTY] = 1  # its summed changes may be anything (lane_steps._begin)
        li[l, L_FROM] = li[l, L_I]  # its log rows from here on are this call's
        st.W[:, :, l] = net.W_h
        st.M[:, :, l] = net.M_h
        st.dW[:, :, l] = fs.dWT.T
        st.Wo[:, :, l] = net.W_o
        st.Mo[:, :, l] = net.M_o
        st.dWo[:, :, l] = fs.dW_o
        for rows, a in zip(st.stops, stop):
            rows[l] = a


def store_lanes(nets, scratches, stops, logs, st):
    """The loaded lanes' weights, summed changes, stop windows and this call's log rows back into
    their trials' arrays."""
    li = st.li
    for l, (net, fs, stop, log) in enumerate(zip(nets, scratches, stops, logs)):
        if li[l, L_LOADED] == 0:
            continue
        net.W_h[:] = st.W[:, :, l]
        fs.dWT[:] = st.dW[:, :, l].T
        net.W_o[:] = st.Wo[:, :, l]
        fs.dW_o[:] = st.dWo[:, :, l]
        for rows, a in zip(st.stops, stop):
            a[:] = rows[l]
        done = slice(li[l, L_FROM], li[l, L_I])
        for rows, a in zip(st.logs, log):
            a[done] = rows[l, done]
