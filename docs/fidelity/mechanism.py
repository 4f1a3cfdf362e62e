"""Issue 9, step 1: measure the stall mechanism on lstmsim's own state.

Trains the adding net and, every `every` sequences, probes it on 200 fresh sequences (copies of the
network, learning on a copy so the run is untouched): mean |partial ds_c/dw| at sequence end for the
cell-input weights by source, mean input/output gate activations, |output weights|, and the
running training error. Usage:
  python docs/fidelity/mechanism.py T=500 sequences=300000 every=25000 [seed=0] [key=value ...]
Prints one table row per probe; writes docs/fidelity/mechanism-T<T>.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from lstmsim import config
from lstmsim.kernel import make_scratch, run_sequence
from lstmsim.network import copy_net
from lstmsim.generators import generate
from lstmsim.training import Training
from lstmsim.train_loop import I_FILLED, I_SEQS, I_WRONG

SOURCES = ["value", "marker", "c0", "c1", "c2", "c3", "in0", "in1", "out0", "out1", "bias"]


def probe(tr: Training, n: int = 200) -> dict:
    net = copy_net(tr.net)
    sc = make_scratch(net)
    rng = np.random.default_rng(12345)
    X, Y, J, h = (b.copy() for b in tr.bufs)
    P = np.zeros_like(sc.P_c)
    yin = np.zeros(net.n_blocks)
    yout = np.zeros(net.n_blocks)
    rec = np.zeros((X.shape[0], 1 + 2 * 1 + 1 + 2 * 4 + 2 * 2 + 1 - 1 + 1))
    from lstmsim.kernel import rec_width
    rec = np.zeros((X.shape[0], rec_width(net)))
    errs = []
    for _ in range(n):
        L = generate(tr.kind.gen_id, rng, tr.tp, np.zeros((1, 1)), -1, X, Y, J, h)
        w = (net.W_h.copy(), net.W_o.copy())
        run_sequence(net, sc, X, Y, J, h, L, 1e-300, True, 0, tr.rules.reset, 0, 0.04, 0, rec, 0)
        net.W_h[:], net.W_o[:] = w  # lr ~ 0 anyway; keep the weights exactly
        P += np.abs(sc.P_c)
        c = 2 + 1 + 2 * 4  # x(2) target(1) has_t(1) -> s from col 4
        base = 2 + 1 + 1 + 4 + 4
        yin += rec[:L, base:base + 2].mean(0)
        yout += rec[:L, base + 2:base + 4].mean(0)
        errs.append(abs(Y[L - 1, 0] - rec[L - 1, -1]))
    return {"P_c": (P / n).tolist(), "y_in": (yin / n).tolist(), "y_out": (yout / n).tolist(),
            "w_out": np.abs(tr.net.W_o[0, 2:6]).tolist(), "probe_mae": float(np.mean(errs))}


def main(argv):
    opts = dict(a.split("=", 1) for a in argv)
    total = int(opts.pop("sequences", 300000))
    every = int(opts.pop("every", 25000))
    opts.setdefault("T", "500")
    opts.setdefault("correct", "squared")
    cfg = config.load("adding", dict(opts, max_sequences=total, progress="none"))
    tr = Training(cfg)
    rows = []
    print(f"T={cfg.T} seed={cfg.seed}: |dS/dw| at sequence end, cell c0 by source; gates; |w_out|")
    print(f"{'seqs':>8} {'err':>7} {'wrong':>6} " + " ".join(f"{s:>6}" for s in SOURCES)
          + "  y_in0  y_in1 y_out0 y_out1  |w_out|")
    while tr.stop.ints[I_SEQS] < total:
        n = every
        while n > 0:
            done, event, _ = tr.advance(min(n, 60000))
            n -= done
            if event == 1:
                break
        p = probe(tr)
        filled = max(int(tr.stop.ints[I_FILLED]), 1)
        row = {"sequences": int(tr.stop.ints[I_SEQS]), "avg_err": float(tr.stop.err_sum[0] / filled),
               "wrong": int(tr.stop.ints[I_WRONG]), **p}
        rows.append(row)
        P0 = p["P_c"][0]
        print(f"{row['sequences']:>8} {row['avg_err']:7.4f} {row['wrong']:>6} "
              + " ".join(f"{v:6.2f}" for v in P0)
              + f"  {p['y_in'][0]:.3f}  {p['y_in'][1]:.3f}  {p['y_out'][0]:.3f}  {p['y_out'][1]:.3f}  "
              + " ".join(f"{v:.3f}" for v in p["w_out"]), flush=True)
        if event == 1:
            print("solved (ST3)")
            break
    out = Path(__file__).with_name(f"mechanism-T{cfg.T}-seed{cfg.seed}.json")
    out.write_text(json.dumps({"config": dict(opts), "rows": rows}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
