"""`python -m lstmsim plot RUN [what=curve|cells|gates|weights] [seq=N] [phase=train|test] [out=F.png]`.

  curve    the learning curve: mean |error| and the share of wrong sequences over training
  cells    one traced sequence: its inputs, every cell's state s and output y_c over time
  gates    one traced sequence: its inputs, every block's input- and output-gate activation
  weights  every weight over the snapshots, one panel per kind of receiving unit

In `cells` and `gates`, dotted lines mark the steps with a target and, for the adding and
multiplication tasks, dashed lines mark the two marked pairs (the values the net must store).
`seq` is a traced sequence's index (default: the last traced training sequence, the first test
one); `figure()` returns the matplotlib Figure without saving, for scripts and tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import UserError
from .inspect_cmd import _int_opt, curve_bins, split_args
from .trace_reader import Trace, load_trace

WHATS = ("curve", "cells", "gates", "weights")
MARKER_KINDS = ("adding", "multiplication")


def cmd_plot(args: list[str]) -> int:
    path, opts = split_args(args, "plot", {"what", "seq", "phase", "out", "bins"})
    what = opts.get("what", "curve")
    if what not in WHATS:
        raise UserError(f"what={what!r}: choose one of {', '.join(WHATS)}")
    phase = opts.get("phase", "train")
    if phase not in ("train", "test"):
        raise UserError(f"phase={phase!r}: choose one of train, test")
    seq = _int_opt(opts, "seq", None, 0)
    bins = _int_opt(opts, "bins", 200, 1)
    trace = load_trace(path)
    pyplot = _pyplot()
    fig = figure(trace, what, seq, phase, bins)
    out = Path(opts["out"]) if "out" in opts else trace.path.parent / _default_name(what, seq, phase)
    try:
        fig.savefig(out, dpi=110)
    except OSError as exc:
        raise UserError(f"out={str(out)!r}: cannot write ({exc.strerror})") from None
    finally:
        pyplot.close(fig)
    print(out)
    return 0


def _default_name(what: str, seq, phase: str) -> str:
    if what in ("cells", "gates"):
        return f"plot-{what}-{phase}" + (f"-seq{seq}" if seq is not None else "") + ".png"
    return f"plot-{what}.png"


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UserError("plot needs matplotlib: pip install 'lstmsim[plot]'") from None
    return plt


def figure(trace: Trace, what: str = "curve", seq: int | None = None, phase: str = "train",
           bins: int = 200):
    """The matplotlib Figure of a plot (not saved)."""
    plt = _pyplot()
    if what == "curve":
        return _curve(plt, trace, bins)
    if what == "weights":
        return _weights(plt, trace)
    st = trace.train_trace if phase == "train" else trace.test_trace
    if not len(st):
        raise UserError(f"{trace.path}: no per-step traces of {phase} sequences (trace.first, "
                        "trace.every, trace.test)")
    if seq is None:
        seq = int(st.sequences[-1] if phase == "train" else st.sequences[0])
    return _sequence(plt, trace, st.get(seq), what, seq, phase)


def _curve(plt, t: Trace, bins: int):
    c = curve_bins(t.train, bins)
    fig, (ax1, ax2) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    x = (c["first"] + c["last"]) / 2.0
    ax1.plot(x, c["abs_error"], label="mean |target - y|")
    ax1.set_yscale("log")
    ax1.set_ylabel("mean |error| per bin")
    ax2.plot(x, 100.0 * c["wrong"], color="C3", label="wrong")
    ax2.set_ylabel("wrong sequences (%)")
    ax2.set_xlabel("training sequences")
    s = t.summary
    if s.get("solved") and s.get("sequences_to_solve"):
        for ax in (ax1, ax2):
            ax.axvline(s["sequences_to_solve"], color="k", ls=":", lw=1)
    fig.suptitle(f"{t.attrs.get('task')} seed {t.attrs.get('seed')}: learning curve "
                 f"({len(t.train['length']):,} sequences, {len(x)} bins)")
    fig.tight_layout()
    return fig


def marked_steps(trace: Trace, d: dict) -> np.ndarray:
    """Steps whose input the net must remember: the marked pairs of the adding/multiplication tasks."""
    if trace.attrs.get("kind") in MARKER_KINDS and d["x"].shape[1] >= 2:
        return np.flatnonzero(d["x"][:, 1] == 1.0)
    return np.zeros(0, np.int64)


def _sequence(plt, t: Trace, d: dict, what: str, seq: int, phase: str):
    lab = t.labels
    panels = (("s", "cell state s", lab["cell"]), ("y_c", "cell output y_c", lab["cell"])) \
        if what == "cells" else \
        (("y_in", "input gate y_in", lab["block"]), ("y_out", "output gate y_out", lab["block"]))
    fig, axes = plt.subplots(3, 1, sharex=True, figsize=(10, 8))
    steps = d["t"]
    ax = axes[0]
    if d["x"].shape[1] <= 8:
        for m, name in enumerate(lab["input"]):
            ax.plot(steps, d["x"][:, m], label=name, lw=0.8)
    else:
        ax.imshow(d["x"].T, aspect="auto", interpolation="nearest", cmap="Greys",
                  extent=(steps[0] - 0.5, steps[-1] + 0.5, d["x"].shape[1] - 0.5, -0.5))
    ax.set_ylabel("input x")
    for key, label, names in panels:
        a = axes[1 + [p[0] for p in panels].index(key)]
        for i, name in enumerate(names):
            a.plot(steps, d[key][:, i], label=name)
        a.set_ylabel(label)
    for a in axes:
        for m in marked_steps(t, d):
            a.axvline(steps[m], color="C3", ls="--", lw=1)
        for m in np.flatnonzero(d["has_target"] == 1):
            a.axvline(steps[m], color="k", ls=":", lw=1)
        if _labelled(a):
            a.legend(loc="upper left", fontsize=7, ncol=4)
    axes[-1].set_xlabel("time step t")
    err = d["error"][d["has_target"] == 1]
    tail = f", error at targets {np.array2string(err.ravel(), precision=3)}" if err.size <= 4 else ""
    fig.suptitle(f"{t.attrs.get('task')} seed {t.attrs.get('seed')}: {phase} sequence {seq} "
                 f"(length {len(steps)}{tail})")
    fig.tight_layout()
    return fig


def _weights(plt, t: Trace):
    w, lab, top = t.weights, t.labels, t.topology
    if not len(w["kind"]):
        raise UserError(f"{t.path}: no weight snapshots")
    n_cells, n_blocks = len(lab["cell"]), len(lab["block"])
    groups = [("cell inputs", "W_h", range(0, n_cells), w["M_h"], lab["source"]),
              ("input gates", "W_h", range(n_cells, n_cells + n_blocks), w["M_h"], lab["source"])]
    if top.get("output_gates", True):
        groups.append(("output gates", "W_h", range(n_cells + n_blocks, n_cells + 2 * n_blocks),
                       w["M_h"], lab["source"]))
    first_other = n_cells + 2 * n_blocks
    if len(lab["row"]) > first_other:  # hidden units; forget gates of LSTM variants
        groups.append(("other units", "W_h", range(first_other, len(lab["row"])), w["M_h"],
                       lab["source"]))
    groups.append(("outputs", "W_o", range(len(lab["output"])), w["M_o"], lab["out_source"]))
    fig, axes = plt.subplots(len(groups), 1, sharex=True, figsize=(10, 2.6 * len(groups)))
    x, cmap = w["sequences"], plt.get_cmap("tab20")
    for ax, (title, key, rows, mask, sources) in zip(axes, groups):
        seen = set()
        for r in rows:
            for c, src in enumerate(sources):
                if mask[r, c]:
                    label = src if src not in seen else None
                    seen.add(src)
                    ax.plot(x, w[key][:, r, c], color=cmap(c % 20), lw=0.8, label=label)
        ax.set_ylabel(title)
        if _labelled(ax):
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6, title="from",
                      title_fontsize=6, ncol=1 + len(seen) // 12)
    axes[-1].set_xlabel("training sequences")
    fig.suptitle(f"{t.attrs.get('task')} seed {t.attrs.get('seed')}: weights over {len(x)} snapshots")
    fig.tight_layout()
    return fig


def _labelled(ax) -> bool:
    return any(not str(ln.get_label()).startswith("_") for ln in ax.get_lines())
