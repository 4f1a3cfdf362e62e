"""Reading trace.h5 (layout: lstmsim/trace.py): `load_trace(path)` for scripts and the commands.

Works on finished files, on files of killed runs and on files a run is still writing (SWMR): each
group is cut to the rows that every one of its datasets already holds. Anything that is not a
readable lstmsim trace raises a one-line UserError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import yaml

from .errors import UserError
from .trace import FILE_NAME, FORMAT, FORMAT_VERSION, INPUT_FIELDS, PER_SEQUENCE, PER_STEP


class TraceError(UserError):
    """A trace that cannot be read: `path` and `reason` (the message is 'PATH: REASON')."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


@dataclass
class StepTrace:
    """Per-step records of traced sequences: arrays along `step`, and an index per sequence."""

    data: dict[str, np.ndarray]  # sequence, t, x, target, has_target, s, y_c, y_in, y_out, y_k, error
    sequences: np.ndarray  # the traced sequences' indices (global: 0 = first of the run/test)
    start: np.ndarray  # first row of each along `step`
    length: np.ndarray

    def __len__(self) -> int:
        return len(self.sequences)

    def get(self, seq: int) -> dict[str, np.ndarray]:
        """The per-step arrays of traced sequence `seq` (its global index)."""
        hit = np.flatnonzero(self.sequences == seq)
        if not hit.size:
            shown = ", ".join(str(s) for s in self.sequences[:12]) + (" ..." if len(self) > 12 else "")
            raise UserError(f"seq={seq}: not traced; traced sequences: {shown or 'none'}")
        a = int(self.start[hit[0]])
        b = a + int(self.length[hit[0]])
        return {k: v[a:b] for k, v in self.data.items()}


@dataclass
class Trace:
    """Everything in a trace.h5, as NumPy arrays with their labels."""

    path: Path
    attrs: dict  # root attributes, `config`/`topology`/`summary` decoded
    labels: dict[str, list[str]]  # input, output, cell, block, row, source, out_source
    train: dict[str, np.ndarray]  # one entry per training sequence (see trace.PER_SEQUENCE)
    test: dict[str, np.ndarray]
    train_trace: StepTrace
    test_trace: StepTrace
    weights: dict[str, np.ndarray]  # W_h, W_o (snapshot first), sequences, kind, M_h, M_o
    inputs: dict[str, np.ndarray] | None = None  # trace.inputs=all: every training sequence
    extra: dict = field(default_factory=dict)

    @property
    def config(self) -> dict:
        return self.attrs["config"]

    @property
    def topology(self) -> dict:
        return self.attrs["topology"]

    @property
    def summary(self) -> dict:
        return self.attrs["summary"]

    @property
    def status(self) -> str:
        return self.attrs.get("status", "")

    def initial_weights(self) -> tuple[np.ndarray, np.ndarray]:
        k = self.weights["kind"]
        if not len(k) or k[0] != 0:
            raise TraceError(self.path, "the trace holds no initial weights")
        return self.weights["W_h"][0], self.weights["W_o"][0]


def trace_path(path) -> Path:
    """A trace file, or the trace.h5 of a run folder; UserError when there is none."""
    p = Path(path)
    if p.is_dir():
        p = p / FILE_NAME
    if not p.is_file():
        raise TraceError(p, "no such trace file")
    return p


def open_trace(path) -> h5py.File:
    """Open a trace read-only (SWMR: works while a run writes it, and after a crash)."""
    p = trace_path(path)
    try:
        f = h5py.File(p, "r", swmr=True)
    except (OSError, RuntimeError, ValueError):
        try:
            f = h5py.File(p, "r")
        except (OSError, RuntimeError, ValueError) as exc:
            raise TraceError(p, f"not a readable HDF5 file ({_reason(exc)})") from None
    try:
        fmt, version = f.attrs.get("format"), f.attrs.get("format_version")
    except (OSError, RuntimeError, KeyError) as exc:
        f.close()
        raise TraceError(p, f"cannot read the file's attributes ({_reason(exc)})") from None
    if fmt != FORMAT:
        f.close()
        raise TraceError(p, f"not an lstmsim trace (an HDF5 file without format={FORMAT!r})")
    if version is None or int(version) > FORMAT_VERSION:
        f.close()
        raise TraceError(p, f"trace format version {version} is newer than this lstmsim reads "
                        f"({FORMAT_VERSION})")
    return f


def load_trace(path) -> Trace:
    """Read a whole trace (a trace.h5 or a run folder holding one)."""
    p = trace_path(path)
    with open_trace(p) as f:
        try:
            return _read(p, f)
        except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise TraceError(p, f"damaged lstmsim trace ({_reason(exc)})") from None


def _read(p: Path, f: h5py.File) -> Trace:
    attrs = {k: _text(v) for k, v in f.attrs.items()}
    attrs["config"] = yaml.safe_load(attrs.get("config") or "{}") or {}
    attrs["topology"] = json.loads(attrs.get("topology") or "{}")
    attrs["summary"] = json.loads(attrs.get("summary") or "{}")
    labels = {}
    for group, names in (("train_trace", ("input", "output", "cell", "block")),
                         ("weights", ("row", "source", "output", "out_source"))):
        for name in names:
            labels[name] = [_text(v) for v in f[group][name][()]]
    train = _columns(f["train"], [c[0] for c in PER_SEQUENCE])
    train["sequence"] = np.arange(len(train["length"]))
    test = _columns(f["test"], [c[0] for c in PER_SEQUENCE[:-1]])
    test["sequence"] = np.arange(len(test["length"]))
    weights = _columns(f["weights"], ["sequences", "kind", "W_h", "W_o"])
    weights["M_h"], weights["M_o"] = f["weights/M_h"][()], f["weights/M_o"][()]
    inputs = None
    if "train_inputs" in f:
        inputs = _columns(f["train_inputs"], list(INPUT_FIELDS))
    return Trace(p, attrs, labels, train, test, _steps(f["train_trace"]), _steps(f["test_trace"]),
                 weights, inputs)


def _columns(g: h5py.Group, names) -> dict[str, np.ndarray]:
    """The named datasets of a group, cut to the length all of them have (live files grow)."""
    dsets = [g[n] for n in names]
    for ds in dsets:
        ds.refresh()
    n = min(ds.shape[0] for ds in dsets)
    return {name: ds[:n] for name, ds in zip(names, dsets)}


def _steps(g: h5py.Group) -> StepTrace:
    data = _columns(g, [c[0] for c in PER_STEP])
    index = _columns(g, ["traced", "start", "length"])
    ok = index["start"] + index["length"] <= len(data["t"])  # only fully written sequences
    return StepTrace(data, index["traced"][ok], index["start"][ok], index["length"][ok])


def _text(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
