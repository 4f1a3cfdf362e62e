"""Conventional recurrent nets of logistic units, the paper's competitors (NOT the 1997 LSTM).

Spec §4.0-4.2 and §5 (Tables 1, 2): the paper compares LSTM with RTRL- and BPTT-trained recurrent
nets and with Elman nets. This module builds those nets and trains them with exact learning rules,
on the same task generators and in the same compiled loop contract as the LSTM
(`run_chunk_rnn` has train_loop.run_chunk's arguments and return value).

Layout (the LSTM's source layout with no memory-cell blocks, spec §3.6):

    recurrent layer of N units     a(t) = [x(t) (n_in) | y(t-1) (N) | 1]       net = W_h a,  y = f(net)
    output layer of K units        b(t) = [x(t) (n_in) | y(t)   (N) | 1]       y_k = f(W_o b)

Topologies (`RNNTopology`):
* connectivity F: a fully recurrent layer of `hidden_units` units (each sees the inputs, every unit
  of the layer at t-1 and, by `bias`, the bias); the outputs see the layer's current activations.
* connectivity B: "each layer fed by all layers below" (the Exp. 2 baseline, spec §4.2): each
  hidden unit sees the inputs and only its own previous activation (self-recurrent); the outputs
  see the inputs and the hidden units; no recurrence among outputs. With one hidden unit, p+1
  inputs and outputs and no biases this is the paper's (p+2)^2 = 36 / 144 / 10404 weights for
  p = 4 / 10 / 100 (spec §1.6): hidden unit p+1 inputs + 1 self-weight, outputs (p+1)(p+2). Any
  bias would add weights, so the paper's count implies a net without biases (bias=none).
* recurrent_outputs (F only): the output units are members of the fully recurrent layer
  (Williams & Zipser 1989; the nets Smith & Zipser trained with RTRL on the Reber grammar): a layer
  of N = hidden_units + K units, the last K of which are read as the outputs at the same step.
  Without biases it has N (n_in + N) weights: 170 and 494 for 3 and 12 hidden units on the Reber
  task, exactly Table 1's estimates ("≈ 170", "≈ 494"). Table 1's Elman row (15 hidden units,
  "≈ 435") is likewise exactly an F net without biases: 15 (7 + 15) + 7·15 = 435.
Time convention (spec §2.2): every unit at step t sees the input x(t); outputs respond at the same
step.

Learners (`learner` of the net), all on E = sum over target steps of 1/2 sum_k (t_k - y_k)^2 with
the spec's error e_k = f'(net_k)(t_k - y_k) (spec §3.2), so learning rates compare with LSTM's:
* LEARN_RTRL: real-time recurrent learning (Williams & Zipser 1989). Sensitivities
  P[n, r, d] = dy_n(t)/dW_h[r, d] for every unit n of the recurrent layer and every existing
  weight into the layer are carried every step,
      P(t)[n, r, d] = f'(net_n(t)) * ( sum_m W_h[n, n_in + m] P(t-1)[m, r, d] + [n == r] a_d(t) ),
  P(0-) = 0; at a target step, dW_h[r, d] = sum_n delta_n(t) P(t)[n, r, d] with delta_n the error
  at y_n (sum_k W_o[k, n] e_k, or t_k - y_k for a recurrent output unit). Cost O(N^3 D) per step
  (O(N^4) for a fully recurrent layer). update=step: weights change at every target step (the
  real-time algorithm), sensitivities carried on; update=sequence: changes summed and applied at
  the sequence end, which is then exactly BPTT's gradient.
* LEARN_BPTT: back-propagation through time over each sequence: activations stored, errors
  propagated back from the last step to the first, the full gradient of the sequence's loss
  applied at the sequence end (the weights are fixed during the sequence).
* LEARN_ELMAN: an Elman net (simple recurrent network): the previous activations (the "context
  units") are treated as extra inputs, errors are back-propagated one step only:
  dW_h[r, d] = f'(net_r) delta_r a_d(t). This is the 1997 kernel's rule for conventional hidden
  units (spec §3.1, A.9): on a net without memory cells the two are identical (tested).
Output weights always get the exact dW_o[k, d] = e_k b_d(t).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from ..errors import UserError
from ..generators import generate
from ..kernel import UPDATE_STEP, _apply, _logistic, _record
from ..train_loop import EVENT_DONE, EVENT_REC_FULL, NO_EVENT, REC_FULL, end_sequence, record_row
from .loop import all_finite, judge_finish, judge_start, judge_step, new_judge, new_stats

LEARN_RTRL = 0
LEARN_BPTT = 1
LEARN_ELMAN = 2
LEARNERS = {"rtrl": LEARN_RTRL, "bptt": LEARN_BPTT, "elman": LEARN_ELMAN}

RNN_BIAS = ("none", "hidden", "all")  # hidden: the recurrent layer's units; all: also the outputs


@dataclass(frozen=True)
class RNNTopology:
    """A conventional recurrent net (see the module doc)."""

    n_in: int
    n_hidden: int
    n_out: int
    connectivity: str = "F"
    bias: str = "none"
    recurrent_outputs: bool = False

    def __post_init__(self):
        for name, v in (("inputs", self.n_in), ("hidden_units", self.n_hidden),
                        ("outputs", self.n_out)):
            if v < 1:
                raise UserError(f"{name}={v}: a recurrent net needs at least 1")
        if self.connectivity not in ("F", "B"):
            raise UserError(f"connectivity={self.connectivity!r}: choose one of F, B")
        if self.bias not in RNN_BIAS:
            raise UserError(f"bias={self.bias!r}: a conventional recurrent net takes one of "
                            f"{', '.join(RNN_BIAS)} (there are no gates)")
        if self.recurrent_outputs and self.connectivity != "F":
            raise UserError("recurrent_outputs=true needs connectivity=F (a fully recurrent layer)")

    # ---- sizes (names shared with the LSTM's Topology where they mean the same) ---------------
    n_cells = 0
    n_blocks = 0
    block_sizes = ()

    @property
    def n_units(self) -> int:
        """N, the units of the recurrent layer (hidden units, plus the outputs if recurrent)."""
        return self.n_hidden + (self.n_out if self.recurrent_outputs else 0)

    @property
    def n_rows(self) -> int:
        return self.n_units

    @property
    def n_sources(self) -> int:
        return self.n_in + self.n_units + 1

    @property
    def n_out_sources(self) -> int:
        return self.n_in + self.n_units + 1

    @property
    def a_hidden(self) -> int:
        return self.n_in

    # no memory cells or gates: their (empty) source ranges start where the hidden units do
    a_cells = a_in_gates = a_out_gates = a_hidden
    output_gates = False
    g = h = ""

    @property
    def a_bias(self) -> int:
        return self.n_sources - 1

    @property
    def row_hidden(self) -> int:
        return 0

    def unit_names(self) -> dict[str, list[str]]:
        hid = [f"h{i}" for i in range(self.n_hidden)]
        if self.recurrent_outputs:
            hid += [f"k{k}" for k in range(self.n_out)]
        x = [f"x{m}" for m in range(self.n_in)]
        return {"sources": x + [f"{u}(t-1)" for u in hid] + ["bias"], "rows": hid,
                "out_sources": x + hid + ["bias"], "outputs": [f"k{k}" for k in range(self.n_out)]}


class RNN(NamedTuple):
    """Everything the RNN kernel needs (field names as lstmsim.network.Net where shared)."""

    W_h: np.ndarray  # (N, D) weights into the recurrent layer
    M_h: np.ndarray
    W_o: np.ndarray  # (K, D_o) weights into the output layer (all 0 with recurrent outputs)
    M_o: np.ndarray
    n_in: int
    n_hidden: int  # N, units of the recurrent layer
    n_out: int
    n_cells: int  # 0 (for kernel.rec_width: records hold x | target | has_target | y_k)
    n_blocks: int  # 0
    out_in_layer: int  # 1: output k is unit N - K + k of the recurrent layer
    learner: int  # LEARN_*


def rnn_masks(top: RNNTopology) -> tuple[np.ndarray, np.ndarray]:
    N, D, Do, n_in = top.n_units, top.n_sources, top.n_out_sources, top.n_in
    M_h = np.zeros((N, D))
    M_o = np.zeros((top.n_out, Do))
    M_h[:, :n_in] = 1.0
    if top.connectivity == "F":
        M_h[:, n_in:n_in + N] = 1.0
        if not top.recurrent_outputs:
            M_o[:, n_in:n_in + N] = 1.0
    else:
        for n in range(N):
            M_h[n, n_in + n] = 1.0
        M_o[:, : n_in + N] = 1.0
    if top.recurrent_outputs:
        if top.bias == "hidden":
            M_h[: top.n_hidden, D - 1] = 1.0
        elif top.bias == "all":
            M_h[:, D - 1] = 1.0
    else:
        if top.bias in ("hidden", "all"):
            M_h[:, D - 1] = 1.0
        if top.bias == "all":
            M_o[:, Do - 1] = 1.0
    return M_h, M_o


def rnn_weight_count(top: RNNTopology) -> int:
    M_h, M_o = rnn_masks(top)
    return int(M_h.sum() + M_o.sum())


def build_rnn(top: RNNTopology, init_range: float, rng: np.random.Generator,
              learner: str = "rtrl") -> RNN:
    """Weights uniform in [-init_range, init_range] on every connection (W_h, then W_o)."""
    M_h, M_o = rnn_masks(top)
    r = float(init_range)
    W_h = rng.uniform(-r, r, size=M_h.shape) * M_h
    W_o = rng.uniform(-r, r, size=M_o.shape) * M_o
    return RNN(W_h=W_h, M_h=M_h, W_o=W_o, M_o=M_o, n_in=top.n_in, n_hidden=top.n_units,
               n_out=top.n_out, n_cells=0, n_blocks=0, out_in_layer=int(top.recurrent_outputs),
               learner=LEARNERS[learner])


class RNNScratch(NamedTuple):
    a: np.ndarray  # (D,)
    b: np.ndarray  # (Do,)
    y: np.ndarray  # (N,) activations of the recurrent layer
    fp: np.ndarray  # (N,) f'(net)
    yk: np.ndarray  # (K,)
    ek: np.ndarray  # (K,)
    delta: np.ndarray  # (N,) error at the layer's activations at this step
    e: np.ndarray  # (N,) error at the layer's net inputs
    nt: np.ndarray  # (N,) net inputs
    dnext: np.ndarray  # (N,) BPTT: error reaching y(t) from step t+1
    P: np.ndarray  # (N, N, D) RTRL sensitivities dy_n / dW_h[r, d]
    P2: np.ndarray  # (N, N, D)
    A_hist: np.ndarray  # (Lmax, D) BPTT: a(t)
    FP_hist: np.ndarray  # (Lmax, N) BPTT: f'(net(t))
    G_hist: np.ndarray  # (Lmax, N) BPTT: direct error at y(t)
    dW_h: np.ndarray
    dW_o: np.ndarray
    jacc: np.ndarray
    stats: np.ndarray


def make_rnn_scratch(net: RNN, max_length: int) -> RNNScratch:
    N, D = net.W_h.shape
    K, Do = net.W_o.shape
    z = np.zeros
    rtrl = net.learner == LEARN_RTRL
    bptt = net.learner == LEARN_BPTT
    Lb = max_length if bptt else 0
    PN = N if rtrl else 0
    return RNNScratch(z(D), z(Do), z(N), z(N), z(K), z(K), z(N), z(N), z(N), z(N),
                      z((PN, PN, D)), z((PN, PN, D)), z((Lb, D)), z((Lb, N)), z((Lb, N)),
                      z((N, D)), z((K, Do)), new_judge(), new_stats())


@njit(cache=True)
def run_sequence_rnn(net, sc, X, Y, J, has_t, L, lr, learn, update_mode, reset, rule, threshold,
                     judge_last, rec, rec_row):
    """Process one sequence of length L with a conventional recurrent net; learn if `learn`.

    Same arguments and results as kernel.run_sequence (stats in sc.stats). BPTT always applies
    its change at the sequence end; RTRL and Elman honour update_mode (step / sequence).
    """
    W_h, M_h, W_o, M_o = net.W_h, net.M_h, net.W_o, net.M_o
    n_in, N, K = net.n_in, net.n_hidden, net.n_out
    D = W_h.shape[1]
    Do = W_o.shape[1]
    a, b, y, fp, yk, ek = sc.a, sc.b, sc.y, sc.fp, sc.yk, sc.ek
    delta, nt, P, P2 = sc.delta, sc.nt, sc.P, sc.P2
    dW_h, dW_o = sc.dW_h, sc.dW_o
    learner = net.learner
    out_layer = net.out_in_layer == 1
    k0 = N - K  # first output unit of the layer when the outputs are recurrent
    step_updates = update_mode == UPDATE_STEP and learner != 1

    for d in range(n_in, D - 1):
        a[d] = reset
    a[D - 1] = 1.0
    b[Do - 1] = 1.0
    if learn:
        dW_h[:, :] = 0.0
        dW_o[:, :] = 0.0
        if learner == 0:
            P[:, :, :] = 0.0
    judge_start(sc.jacc, has_t, L, judge_last)
    diverged_at = -1

    for t in range(L):
        # ---- forward: the recurrent layer from a(t), then the outputs from b(t) ---------------
        for m in range(n_in):
            a[m] = X[t, m]
            b[m] = X[t, m]
        for n in range(N):
            acc = 0.0
            for d in range(D):
                acc += W_h[n, d] * a[d]
            nt[n] = acc
        for n in range(N):
            y[n] = _logistic(nt[n])
            fp[n] = y[n] * (1.0 - y[n])
            b[n_in + n] = y[n]
        for k in range(K):
            if out_layer:
                yk[k] = y[k0 + k]
            else:
                acc = 0.0
                for d in range(Do):
                    acc += W_o[k, d] * b[d]
                yk[k] = _logistic(acc)
            if not np.isfinite(yk[k]):
                diverged_at = t
        if not all_finite(y):
            diverged_at = t
        if rec_row >= 0:
            _record(rec, rec_row + t, X, Y, has_t, t, y[:0], y[:0], y[:0], y[:0], yk)
        if diverged_at >= 0:
            break
        judge_step(sc.jacc, J, has_t, t, yk, rule, threshold, judge_last)

        # ---- learning -------------------------------------------------------------------------
        if learn:
            if learner == 0:  # RTRL: sensitivities every step (entries of absent weights stay 0)
                for n in range(N):
                    Pn = P2[n]
                    Pn[:, :] = 0.0
                    for m in range(N):
                        w = W_h[n, n_in + m]
                        if w != 0.0:
                            Pm = P[m]
                            for r in range(N):
                                for d in range(D):
                                    Pn[r, d] += w * Pm[r, d]
                    for d in range(D):
                        Pn[n, d] += a[d] * M_h[n, d]
                    f_n = fp[n]
                    for r in range(N):
                        for d in range(D):
                            Pn[r, d] *= f_n
                P[:, :, :] = P2
            if learner == 1:
                for d in range(D):
                    sc.A_hist[t, d] = a[d]
                for n in range(N):
                    sc.FP_hist[t, n] = fp[n]
                    sc.G_hist[t, n] = 0.0
            if has_t[t]:
                # errors at the outputs and at the layer's activations
                for n in range(N):
                    delta[n] = 0.0
                if out_layer:
                    for k in range(K):
                        delta[k0 + k] = Y[t, k] - yk[k]
                else:
                    for k in range(K):  # (19), (22)
                        ek[k] = yk[k] * (1.0 - yk[k]) * (Y[t, k] - yk[k])
                        for d in range(Do):
                            dW_o[k, d] += ek[k] * b[d]
                    for n in range(N):
                        acc = 0.0
                        for k in range(K):
                            acc += W_o[k, n_in + n] * ek[k]
                        delta[n] = acc
                if learner == 0:
                    for n in range(N):
                        dn = delta[n]
                        if dn != 0.0:
                            Pn = P[n]
                            for r in range(N):
                                for d in range(D):
                                    dW_h[r, d] += dn * Pn[r, d]
                elif learner == 2:  # Elman: context units are inputs, one step back
                    for n in range(N):
                        eh = fp[n] * delta[n]
                        for d in range(D):
                            dW_h[n, d] += eh * a[d]
                else:
                    for n in range(N):
                        sc.G_hist[t, n] = delta[n]
                if step_updates:
                    if not _apply(W_h, M_h, dW_h, W_o, M_o, dW_o, lr):
                        diverged_at = t
                        break
        for n in range(N):
            a[n_in + n] = y[n]

    if learn and diverged_at < 0:
        if learner == 1:
            _bptt_backward(net, sc, L)
        if not step_updates:
            if not _apply(W_h, M_h, dW_h, W_o, M_o, dW_o, lr):
                diverged_at = L - 1
    judge_finish(sc.jacc, sc.stats, diverged_at)


@njit(cache=True)
def _bptt_backward(net, sc, L):
    """Errors back through time from the last step to the first; adds -dE/dW_h to dW_h."""
    W_h, n_in, N = net.W_h, net.n_in, net.n_hidden
    D = W_h.shape[1]
    e, dnext, dW_h = sc.e, sc.dnext, sc.dW_h
    for n in range(N):
        dnext[n] = 0.0
    for t in range(L - 1, -1, -1):
        for n in range(N):
            e[n] = sc.FP_hist[t, n] * (sc.G_hist[t, n] + dnext[n])
        for r in range(N):
            for d in range(D):
                dW_h[r, d] += e[r] * sc.A_hist[t, d]
        for n in range(N):
            acc = 0.0
            for r in range(N):
                acc += W_h[r, n_in + n] * e[r]
            dnext[n] = acc


@njit(cache=True)
def run_chunk_rnn(net, sc, rules, tp, data, rng, bufs, n_max, stop, log, recorder):
    """train_loop.run_chunk for a conventional recurrent net. Returns (n_done, event, step)."""
    X, Y, J, has_t = bufs
    Lmax = X.shape[0]
    for i in range(n_max):
        rec_row = record_row(rules, stop, recorder, Lmax)
        if rec_row == REC_FULL:
            return i, EVENT_REC_FULL, -1
        item = -1 if rules.item_base < 0 else rules.item_base + i
        L = generate(rules.gen_id, rng, tp, data, item, X, Y, J, has_t)
        run_sequence_rnn(net, sc, X, Y, J, has_t, L, rules.lr, rules.learn, rules.update_mode,
                         rules.reset, rules.rule, rules.threshold, rules.judge_last,
                         recorder.rows, rec_row)
        event, step = end_sequence(i, L, sc.stats, rules, stop, log, recorder, rec_row)
        if event != NO_EVENT:
            return i + 1, event, step
    return n_max, EVENT_DONE, -1

