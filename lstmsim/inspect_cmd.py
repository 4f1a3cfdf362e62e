"""`python -m lstmsim inspect RUN [bins=N]`: a run's trace.h5 summarised in the terminal.

RUN is a run folder or a trace file. Shows the run (status, times, versions), its config, the
network, the learning curve in text, the test results and which traces the file holds. Works on a
finished run, on a killed one and on one that is still writing its trace.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

from .errors import UserError
from .trace_reader import Trace, load_trace

BAR = 30  # characters of the widest bar in the learning curve


def cmd_inspect(args: list[str]) -> int:
    path, opts = split_args(args, "inspect", {"bins"})
    bins = _int_opt(opts, "bins", 20, 1)
    trace = load_trace(path)
    Console(width=max(100, Console().width)).print(render(trace, bins))
    return 0


def split_args(args: list[str], command: str, keys: set[str]) -> tuple[str, dict]:
    """One path (the first argument without '=') and key=value options from `keys`."""
    paths = [a for a in args if "=" not in a]
    opts = dict(a.split("=", 1) for a in args if "=" in a)
    if len(paths) != 1:
        raise UserError(f"{command} needs one run folder or trace file, got {len(paths)}")
    unknown = sorted(set(opts) - keys)
    if unknown:
        raise UserError(f"{command}: unknown option {unknown[0]!r}; options: "
                        f"{', '.join(sorted(keys))}")
    return paths[0], opts


def _int_opt(opts: dict, key: str, default: int | None, low: int) -> int | None:
    if key not in opts:
        return default
    try:
        value = int(opts[key])
    except ValueError:
        raise UserError(f"{key}={opts[key]!r}: expected integer") from None
    if value < low:
        raise UserError(f"{key}={value}: must be >= {low}")
    return value


def render(trace: Trace, bins: int = 20) -> Group:
    return Group(_run_panel(trace), _config_table(trace), _topology_table(trace),
                 curve_table(trace, bins), _test_table(trace), _traces_table(trace))


def _run_panel(t: Trace) -> Panel:
    a, s = t.attrs, t.summary
    status = a.get("status", "?")
    if status == "running":
        status = "running, or killed (no end time written)"
    lines = [
        f"[bold]{a.get('task')}[/] (kind {a.get('kind')}), seed {a.get('seed')}: [bold]{status}[/]",
        f"started {a.get('start_time')}" + (f", ended {a['end_time']}" if a.get("end_time") else ""),
        f"lstmsim {a.get('lstmsim_version')}, numba {a.get('numba_version')}, numpy "
        f"{a.get('numpy_version')}, h5py {a.get('h5py_version')} (HDF5 {a.get('hdf5_version')}), "
        f"Python {a.get('python_version')}",
    ]
    if a.get("git_commit"):
        lines.append(f"git {a['git_commit']}" + (" (uncommitted changes)" if a.get("git_dirty") else ""))
    n = len(t.train["length"])
    lines.append(f"{n:,} training sequences recorded, {int(t.train['steps'][-1]) if n else 0:,} steps")
    if s:
        solved = (f"solved after {s['sequences_to_solve']:,} sequences" if s.get("solved")
                  else f"not solved ({s.get('status')})")
        lines.append(f"{solved}; {(s.get('steps_per_second') or 0) / 1e6:.2f} M steps/s")
        if s.get("diverged_at"):
            lines.append(f"diverged at {s['diverged_at']}")
        p = s.get("paper")
        if p:
            lines.append("paper: " + ", ".join(f"{k} {v}" for k, v in p.items()))
    return Panel("\n".join(lines), title=str(t.path), title_align="left")


def _config_table(t: Trace) -> Table:
    cfg = t.config
    table = Table(title="config (resolved)", show_header=False, box=None, padding=(0, 2))
    items = [(k, v) for k, v in cfg.items() if k not in ("paper", "description", "trace")]
    items += [(f"trace.{k}", v) for k, v in (cfg.get("trace") or {}).items()]
    cols = 3
    for _ in range(cols):
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(no_wrap=True)
    for i in range(0, len(items), cols):
        row = []
        for k, v in items[i:i + cols]:
            row += [k, str(v)]
        table.add_row(*row)
    if cfg.get("description"):
        table.caption = str(cfg["description"])
    return table


def _topology_table(t: Trace) -> Table:
    top, lab = t.topology, t.labels
    table = Table(title="network", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="cyan")
    table.add_column()
    table.add_row("inputs", f"{top.get('n_in')}: {' '.join(lab['input'])}")
    table.add_row("blocks", f"{len(top.get('block_sizes', []))} of sizes {top.get('block_sizes')}: "
                  f"cells {' '.join(lab['cell'])}")
    table.add_row("outputs", f"{top.get('n_out')}: {' '.join(lab['output'])}")
    table.add_row("wiring", f"connectivity {top.get('connectivity')}, bias {top.get('bias')}, "
                  f"output gates {top.get('output_gates')}, g={top.get('g')}, h={top.get('h')}, "
                  f"hidden units {top.get('n_hidden')}")
    table.add_row("weights", f"{top.get('n_weights')} (W_h {len(lab['row'])} units x "
                  f"{len(lab['source'])} sources, W_o {len(lab['output'])} x {len(lab['out_source'])})")
    return table


def curve_bins(train: dict, bins: int) -> dict[str, np.ndarray]:
    """The learning curve in `bins` equal runs of sequences: first/last index and mean values."""
    n = len(train["length"])
    edges = np.unique(np.linspace(0, n, min(bins, n) + 1).astype(np.int64)) if n else np.zeros(1, int)
    out = {"first": edges[:-1], "last": edges[1:] - 1}
    for key in ("abs_error", "sq_error"):
        out[key] = np.array([train[key][a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    out["wrong"] = np.array([1.0 - train["correct"][a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    return out


def curve_table(t: Trace, bins: int) -> Table:
    c = curve_bins(t.train, bins)
    table = Table(title="learning curve (training sequences as they were trained)")
    for col, just in (("sequences", "right"), ("mean |err|", "right"), ("MSE", "right"),
                      ("wrong", "right"), ("mean |err|", "left")):
        table.add_column(col, justify=just, no_wrap=True)
    top = float(c["abs_error"].max()) if len(c["abs_error"]) else 1.0
    for i in range(len(c["first"])):
        e = float(c["abs_error"][i])
        bar = "█" * max(1, round(BAR * e / top)) if top > 0 and np.isfinite(e) else ""
        table.add_row(f"{c['first'][i]:,}-{c['last'][i]:,}", f"{e:.4f}", f"{c['sq_error'][i]:.5f}",
                      f"{100 * c['wrong'][i]:.1f}%", bar)
    if not len(c["first"]):
        table.add_row("none yet", "", "", "", "")
    return table


def _test_table(t: Trace) -> Table:
    d, cfg = t.test, t.config
    table = Table(title="final test", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="cyan")
    table.add_column()
    n = len(d["length"])
    if not n:
        table.add_row("test", "not recorded (the run did not finish)")
        return table
    thr = float(cfg.get("threshold", 0.04))
    m = d["max_abs_error"]
    table.add_row("sequences", f"{n:,}")
    table.add_row("wrong (run's rule)", f"{n - int(d['correct'].sum()):,}")
    table.add_row(f"wrong: |err| >= {thr}", f"{int(np.sum(~(m < thr))):,}")
    table.add_row(f"wrong: err^2 >= {thr}", f"{int(np.sum(~(m * m < thr))):,}")
    table.add_row("mean |err|, MSE, max |err|",
                  f"{d['abs_error'].mean():.5f}, {d['sq_error'].mean():.6f}, {m.max():.5f}")
    return table


def _traces_table(t: Trace) -> Table:
    table = Table(title="what the trace holds", show_header=False, box=None, padding=(0, 2))
    table.add_column(style="cyan")
    table.add_column()
    for name, st in (("per-step, training", t.train_trace), ("per-step, test", t.test_trace)):
        if len(st):
            table.add_row(name, f"{len(st)} sequences, {int(st.length.sum()):,} steps: "
                          f"{_list(st.sequences)}")
        else:
            table.add_row(name, "none")
    w = t.weights
    table.add_row("weight snapshots", f"{len(w['kind'])} at sequences {_list(w['sequences'])}"
                  + (" (final included)" if len(w["kind"]) and w["kind"][-1] == 2 else ""))
    if t.inputs is not None:
        table.add_row("inputs of every sequence", f"{len(t.inputs['has_target']):,} steps "
                      "(task=replay source=... re-feeds them)")
    a = t.attrs
    table.add_row("selection", f"trace.first={a.get('trace_first')} trace.every={a.get('trace_every')} "
                  f"trace.test={a.get('trace_test')} trace.weights_every={a.get('trace_weights_every')} "
                  f"trace.inputs={a.get('trace_inputs')}")
    table.add_row("plots", "python -m lstmsim plot RUN what=curve|cells|gates|weights [seq=N]")
    return table


def _list(values, k: int = 6) -> str:
    v = [f"{int(x):,}" for x in values]
    return ", ".join(v) if len(v) <= 2 * k else ", ".join(v[:k]) + ", ..., " + ", ".join(v[-k:])
