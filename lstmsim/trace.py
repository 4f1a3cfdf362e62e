"""trace.h5: what a run records while it trains (the writer; lstmsim/trace_reader.py reads it).

Layout (format "lstmsim-trace", version 1). Every axis is an HDF5 dimension scale, so
`xarray.open_dataset(path, engine="h5netcdf", group=G)` gives named, labelled dimensions. The
growing axes (sequence, step, snapshot) are bare netCDF dimensions: their index is the row number.

  /                 attributes: format, versions, seed, task, config (resolved YAML), topology
                    (JSON), git commit, start/end time, status, summary (JSON), trace selection
  /train            one row per training sequence, every sequence (dim `sequence`):
                    length, abs_error, sq_error, max_abs_error, correct, steps (global counter)
  /test             the same for the final test's sequences (no `steps`)
  /train_trace      per-step records of the selected training sequences (dim `step`): sequence,
                    t, x, target, has_target, s, y_c, y_in, y_out, y_k, error; and per traced
                    sequence (dim `traced`, its global index): start (first step row), length
  /test_trace       the same for the first trace.test test sequences
  /train_inputs     trace.inputs=all only: x, target, has_target of every training sequence, in
                    order (sequence i starts at the sum of /train/length[:i]); enough to replay
  /weights          snapshots (dim `snapshot`): W_h (snapshot, row, source), W_o (snapshot, output,
                    out_source), sequences (trained when taken), kind (0 initial, 1 periodic,
                    2 final); the masks M_h, M_o; rows and sources named as in Topology.unit_names

Writing: the compiled loop fills the Log and the Recorder; `TraceWriter` copies them into per-dataset
buffers and appends whole HDF5 chunks (gzip 1 + shuffle; except the per-sequence float64 errors,
stored raw: gzip saved only ~15 % of their size at ~4x the cost, the largest cost of tracing). A partly filled chunk is written only when
its rows have waited FLUSH_SECONDS (a rewritten compressed chunk leaves its old copy as dead space in
a SWMR file, so writing partial chunks often would bloat the file). The file is in SWMR mode from the start: it stays
readable if the process is killed, holding every flushed row, and other processes can read it live.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import yaml

FORMAT = "lstmsim-trace"
FORMAT_VERSION = 1
FILE_NAME = "trace.h5"
FLUSH_SECONDS = 5.0  # rows reach the file at most about this long after they were made
CHUNK_BYTES = 1 << 17  # target size of the widest dataset's chunks in a group, before compression
# (per-step groups: a quarter of it, so that a partly filled chunk rewritten after FLUSH_SECONDS
# leaves little dead space: traced sequences come seconds apart)
INDEX_CHUNK_ROWS = 1024  # chunk rows of the per-traced-sequence index
PHONY_DIM = "This is a netCDF dimension but not a netCDF variable."  # netCDF-4's marker
SNAP_INITIAL, SNAP_PERIODIC, SNAP_FINAL = 0, 1, 2
AUTO_TRACE_SEQUENCES = 50  # trace.every=0: about this many traced sequences over max_sequences
AUTO_SNAPSHOTS = 100  # trace.weights_every=0: about this many weight snapshots over max_sequences
RECORDER_BYTES = 8 << 20  # per-step record buffer (32 MiB with trace.inputs=all)

# name, dtype, units, description
PER_SEQUENCE = (
    ("length", "i4", "steps", "length of the sequence"),
    ("abs_error", "f8", "1", "mean |target - y_k| over the judged target entries"),
    ("sq_error", "f8", "1", "mean over the judged target steps of sum_k (target - y_k)^2"),
    ("max_abs_error", "f8", "1", "largest |target - y_k| over the judged target entries"),
    ("correct", "i1", "1", "1 when the sequence counted as correct under the run's rule"),
    ("steps", "i8", "steps", "global step counter: steps trained up to and including this sequence"),
)
LOG_FIELDS = {"length": "length", "abs_error": "abs_err", "sq_error": "sq_err",
              "max_abs_error": "max_abs", "correct": "correct"}
# name, dtype, second dim (None: 1-D), units, description
PER_STEP = (
    ("sequence", "i8", None, "1", "index of the sequence this step belongs to (0 = first)"),
    ("t", "i4", None, "steps", "time step within the sequence, from 0"),
    ("x", "f8", "input", "1", "input x(t)"),
    ("target", "f8", "output", "1", "training target t^k(t); NaN at steps without a target"),
    ("has_target", "i1", None, "1", "1 at steps with a target"),
    ("s", "f8", "cell", "1", "cell state s_c(t) (spec 1.3)"),
    ("y_c", "f8", "cell", "1", "cell output y^c(t) = y^out(t) h(s_c(t))"),
    ("y_in", "f8", "block", "1", "input-gate activation y^in(t) of each block"),
    ("y_out", "f8", "block", "1", "output-gate activation y^out(t) of each block (1 without gates)"),
    ("y_k", "f8", "output", "1", "output activation y^k(t)"),
    ("error", "f8", "output", "1", "target - y_k at steps with a target; NaN elsewhere"),
)
INPUT_FIELDS = ("x", "target", "has_target")


def resolved_every(cfg) -> tuple[int, int]:
    """(trace.every, trace.weights_every) with 0 ('auto') replaced by a share of max_sequences."""
    cap = int(cfg.max_sequences)
    every = int(cfg.trace.every) or max(1, cap // AUTO_TRACE_SEQUENCES)
    weights_every = int(cfg.trace.weights_every) or max(1, cap // AUTO_SNAPSHOTS)
    return every, weights_every


def recorded_sequences(inputs_all: bool, first: int, every: int) -> tuple[int, int]:
    """(rules.rec_first, rules.rec_every): the training sequences the compiled loop records, the
    first `first` and every `every`-th, or all of them for trace.inputs=all."""
    return (0, 1) if inputs_all else (first, every)


class _Sink:
    """Rows bound for one resizable dataset: buffered, appended in whole chunks, flushed.

    A partly filled chunk is written only once its oldest row has waited FLUSH_SECONDS (or at the
    end): then the rows reach the file, at the price of a dead copy when the chunk is completed.
    """

    def __init__(self, ds: h5py.Dataset):
        self.ds, self.chunk, self.size = ds, ds.chunks[0], ds.shape[0]  # size: rows in the file
        self.parts, self.n = [], 0  # buffered: [(time added, rows)], their number
        self.phony = False  # a bare dimension: resized, never written

    @property
    def total(self) -> int:
        return self.size + self.n

    def add(self, rows, now: float) -> None:
        if len(rows):
            self.parts.append((now, np.array(rows, dtype=self.ds.dtype, copy=True)))
            self.n += len(rows)

    def write(self, now: float, force: bool = False) -> bool:
        """Append what is due; True if anything was written (the caller flushes the file)."""
        if not self.n:
            return False
        have = self.size
        if force or now - self.parts[0][0] >= FLUSH_SECONDS:
            take = self.n
        else:
            take = (have + self.n) // self.chunk * self.chunk - have
            if take <= 0:
                return False
        data = np.concatenate([p[1] for p in self.parts]) if len(self.parts) > 1 else self.parts[0][1]
        self.ds.resize(have + take, axis=0)
        if not self.phony:
            self.ds[have:have + take] = data[:take]
        self.size = have + take
        ends = np.cumsum([len(p[1]) for p in self.parts])
        i = int(np.searchsorted(ends, take, side="right"))  # first part with rows left
        rest = data[take:]
        self.parts = [(self.parts[i][0], rest)] if len(rest) else []
        self.n = len(rest)
        return True


class TraceWriter:
    """The one writer of a run's trace.h5. Create it before training; `close` at the end."""

    def __init__(self, path: Path, cfg, training, started: float, resume=None):
        """A new trace at `path`. With `resume` (a resume_cmd.Continuation): a new file at
        `resume.new_path`, which `resume.fill(self)` fills with the run's rows up to its
        checkpoint instead of the initial snapshot (and `resume.install(self)` later renames)."""
        from .config import OmegaConf

        self.path, self.cfg = Path(path), cfg
        top, net = training.topology, training.net
        self.n_in, self.n_out, self.n_cells, self.n_blocks = top.n_in, top.n_out, top.n_cells, top.n_blocks
        tc = cfg.trace
        self.first, self.test_n = int(tc.first), int(tc.test)
        self.every, self.weights_every = resolved_every(cfg)
        if resume is not None:  # the selection the run started with (max_sequences may have grown)
            self.every, self.weights_every = int(resume.every), int(resume.weights_every)
            self.path = Path(resume.new_path)
        self.inputs_all = tc.inputs == "all"
        names = top.unit_names()
        labels = {"input": names["sources"][:top.n_in], "output": names["outputs"],
                  "cell": names["rows"][:top.n_cells], "block": [f"b{j}" for j in range(top.n_blocks)],
                  "row": names["rows"], "source": names["sources"], "out_source": names["out_sources"]}
        f = self.file = h5py.File(self.path, "w", libver="latest")
        try:
            self._attrs(cfg, training, started, OmegaConf)
            self.sinks: dict[str, dict[str, _Sink]] = {}
            self.dim0: dict[str, str] = {}
            self.dirty: list[_Sink] = []  # sinks holding rows not yet in the file
            self.rows: dict[str, int] = {}
            g = self._group("train", labels, "sequence", "one row per training sequence, in order",
                            max_rows=int(cfg.max_sequences))
            for name, dtype, units, desc in PER_SEQUENCE:
                self._data(g, "train", name, dtype, (), units, desc, raw=dtype == "f8")
            g = self._group("test", labels, "sequence", "one row per sequence of the final test",
                            max_rows=int(cfg.test_size))
            for name, dtype, units, desc in PER_SEQUENCE[:-1]:
                self._data(g, "test", name, dtype, (), units, desc, raw=dtype == "f8")
            for phase in ("train", "test"):
                key = f"{phase}_trace"
                g = self._group(key, labels, "step", f"per-step records of selected {phase} sequences",
                                static=("input", "output", "cell", "block"),
                                row_bytes=8 * max(self.n_in, self.n_out, self.n_cells) * 4)
                for name, dtype, dim, units, desc in PER_STEP:
                    self._data(g, key, name, dtype, (dim,) if dim else (), units, desc)
                idx = self._scale(g, key, "traced", "i8", "index of a traced sequence",
                                  rows=INDEX_CHUNK_ROWS)
                for name, dtype, desc in (("start", "i8", "its first row along `step`"),
                                          ("length", "i4", "its number of steps")):
                    self._data(g, key, name, dtype, (), "1", desc, dim0=idx, rows=INDEX_CHUNK_ROWS)
            if self.inputs_all:
                g = self._group("train_inputs", labels, "step",
                                "inputs and targets of every training sequence, in order",
                                static=("input", "output"), row_bytes=8 * max(self.n_in, self.n_out))
                for name, dtype, dim, units, desc in PER_STEP:
                    if name in INPUT_FIELDS:
                        self._data(g, "train_inputs", name, dtype, (dim,) if dim else (), units, desc)
            g = self._group("weights", labels, "snapshot", "weight snapshots",
                            static=("row", "source", "output", "out_source"),
                            row_bytes=8 * (net.W_h.size + net.W_o.size))
            self._data(g, "weights", "sequences", "i8", (), "1", "sequences trained when taken")
            self._data(g, "weights", "kind", "i1", (), "1", "0 initial, 1 periodic, 2 final")
            g["kind"].attrs.update(flag_values=np.array([0, 1, 2], np.int8),
                                   flag_meanings="initial periodic final")
            for w, dims in (("W_h", ("row", "source")), ("W_o", ("output", "out_source"))):
                self._data(g, "weights", w, "f8", dims, "1",
                           f"weights {w}[unit, source]: unit `row` (or `output`) is fed by `source`")
            for m, dims, w in (("M_h", ("row", "source"), net.M_h), ("M_o", ("output", "out_source"), net.M_o)):
                ds = g.create_dataset(m, data=w.astype(np.int8))
                ds.attrs["description"] = f"1 where the weight in {'W' + m[1:]} exists (is trained)"
                for i, dim in enumerate(dims):
                    ds.dims[i].attach_scale(g[dim])
            if resume is None:
                self.snapshot(training, SNAP_INITIAL)
            else:
                resume.fill(self)
            f.swmr_mode = True  # from here on: no new objects, readers may open it live
            self.flush(force=True)
        except BaseException:
            f.close()
            if resume is not None:
                self.path.unlink(missing_ok=True)
            raise
        self._set_recorders(training)

    # ---- structure --------------------------------------------------------------------------
    def _attrs(self, cfg, training, started, OmegaConf) -> None:
        import numba

        from . import __version__

        top = training.topology
        a = self.file.attrs
        a.update(format=FORMAT, format_version=FORMAT_VERSION, lstmsim_version=__version__,
                 numba_version=numba.__version__, numpy_version=np.__version__,
                 h5py_version=h5py.__version__, hdf5_version=h5py.version.hdf5_version,
                 python_version=sys.version.split()[0], task=str(cfg.task), kind=str(cfg.kind),
                 seed=int(cfg.seed), config=yaml.safe_dump(OmegaConf.to_container(cfg, resolve=True), sort_keys=False),
                 topology=json.dumps({**dataclasses.asdict(top), "block_sizes": list(top.block_sizes),
                                      "n_weights": training.n_weights,
                                      "unit_names": top.unit_names()}),
                 start_time=_iso(started), end_time="", status="running", summary="{}",
                 trace_first=self.first, trace_every=self.every, trace_test=self.test_n,
                 trace_weights_every=self.weights_every, trace_inputs=str(cfg.trace.inputs),
                 description="lstmsim training trace of a 1997 LSTM run; see lstmsim/trace.py",
                 **_git())

    def _group(self, key, labels, dim, desc, static=(), row_bytes=8, max_rows=None) -> h5py.Group:
        """A group along `dim`; all its datasets share chunk rows so that they are written together."""
        g = self.file.create_group(key)
        g.attrs["description"] = desc
        self.sinks[key], self.dim0[key] = {}, dim
        self.rows[key] = max(1, min(CHUNK_BYTES // row_bytes, max_rows or CHUNK_BYTES))
        ds = self._data(g, key, dim, "i1", (), "1", f"index along {dim}", dim0=False)
        ds.make_scale(PHONY_DIM)  # a dimension without stored values: its index is the row number
        self.sinks[key][dim].phony = True
        for name in static:
            ds = g.create_dataset(name, data=np.array(labels[name], dtype=object),
                                  dtype=h5py.string_dtype())
            ds.make_scale(name)
        return g

    def _scale(self, g, key, name, dtype, desc, rows=None) -> h5py.Dataset:
        ds = self._data(g, key, name, dtype, (), "1", desc, dim0=False, rows=rows)
        ds.make_scale(name)
        return ds

    def _data(self, g, key, name, dtype, dims, units, desc, dim0=None, rows=None,
              raw=False) -> h5py.Dataset:
        fixed = tuple(len(g[d]) for d in dims)
        rows = rows or self.rows[key]
        filters = {} if raw else dict(compression="gzip", compression_opts=1, shuffle=True)
        ds = g.create_dataset(name, (0, *fixed), maxshape=(None, *fixed), chunks=(rows, *fixed),
                              dtype=dtype, **filters)
        ds.attrs.update(units=units, description=desc)
        if dim0 is not False:
            ds.dims[0].attach_scale(dim0 if dim0 is not None else g[self.dim0[key]])
            for i, d in enumerate(dims, start=1):
                ds.dims[i].attach_scale(g[d])
        self.sinks[key][name] = _Sink(ds)
        return ds

    def _set_recorders(self, training) -> None:
        """Give the compiled loop a per-step record buffer and tell it which sequences to record."""
        from .kernel import rec_width
        from .train_loop import new_recorder

        width = rec_width(training.net)
        budget = RECORDER_BYTES * (4 if self.inputs_all else 1)
        rows = max(training.max_length, budget // (8 * width))
        training.recorder = new_recorder(width, rows, rows)
        first, every = recorded_sequences(self.inputs_all, self.first, self.every)
        training.rules = training.rules._replace(rec_first=first, rec_every=every)
        self.test_recorder = new_recorder(width, self.test_n * training.max_length, self.test_n)

    # ---- checkpoints and resuming (lstmsim/checkpoint.py, lstmsim/resume_cmd.py) -----------------
    def checkpoint_positions(self) -> dict[str, int]:
        """Write every buffered row; the rows in the file of each dataset ('group/name')."""
        self.flush(force=True)
        return {f"{key}/{name}": sink.size for key, sinks in self.sinks.items()
                for name, sink in sinks.items()}

    # ---- appending --------------------------------------------------------------------------
    def _add(self, key: str, columns: dict) -> None:
        sinks = self.sinks[key]
        n = len(next(iter(columns.values())))
        dim0, now = self.dim0[key], time.monotonic()
        self._put(sinks[dim0], np.empty(n, np.int8), now)
        for name, values in columns.items():
            self._put(sinks[name], values, now)

    def _put(self, sink: _Sink, values, now: float) -> None:
        if not sink.n:
            self.dirty.append(sink)
        sink.add(values, now)

    def sequences(self, log, done: int, steps_before: int) -> None:
        """The per-sequence results of a chunk (Log rows [:done])."""
        if done <= 0:
            return
        cols = {name: getattr(log, field)[:done] for name, field in LOG_FIELDS.items()}
        cols["steps"] = steps_before + np.cumsum(cols["length"], dtype=np.int64)
        self._add("train", cols)

    def test_results(self, arrays: dict) -> None:
        self._add("test", {name: arrays[field] for name, field in LOG_FIELDS.items()})

    def drain(self, recorder, phase: str = "train") -> None:
        """Move the recorder's per-step rows into the trace; leaves the recorder empty."""
        n_seq, n_rows = (int(v) for v in recorder.count)
        if n_seq == 0:
            return
        rows, seq, start = recorder.rows[:n_rows], recorder.seq[:n_seq], recorder.start[:n_seq]
        lengths = np.diff(np.append(start, n_rows))
        cols = self._split(rows)
        seq_of_row = np.repeat(seq, lengths)
        cols["sequence"], cols["t"] = seq_of_row, np.arange(n_rows) - np.repeat(start, lengths)
        if phase == "train" and self.inputs_all:
            self._add("train_inputs", {k: cols[k] for k in INPUT_FIELDS})
            keep = (seq < self.first) | (seq % self.every == 0)
        else:
            keep = np.ones(n_seq, bool)
        if keep.any():
            key, row_keep = f"{phase}_trace", np.repeat(keep, lengths)
            sinks = self.sinks[key]
            first_row = sinks["step"].total
            kept_len, now = lengths[keep], time.monotonic()
            self._put(sinks["traced"], seq[keep], now)
            self._put(sinks["start"], first_row + np.concatenate(([0], np.cumsum(kept_len)[:-1])), now)
            self._put(sinks["length"], kept_len, now)
            self._add(key, {k: v[row_keep] for k, v in cols.items()})
        recorder.count[:] = 0

    def _split(self, rows: np.ndarray) -> dict:
        """Recorder columns x | target | has_target | s | y_c | y_in | y_out | y_k as named arrays."""
        out, col = {}, 0
        for name, width in (("x", self.n_in), ("target", self.n_out), ("has_target", 1),
                            ("s", self.n_cells), ("y_c", self.n_cells), ("y_in", self.n_blocks),
                            ("y_out", self.n_blocks), ("y_k", self.n_out)):
            out[name] = rows[:, col:col + width]
            col += width
        has = out.pop("has_target")[:, 0].astype(np.int8)
        out["has_target"] = has
        out["target"] = np.where(has[:, None] == 1, out["target"], np.nan)
        out["error"] = out["target"] - out["y_k"]
        return out

    def snapshot(self, training, kind: int = SNAP_PERIODIC) -> None:
        from .train_loop import I_SEQS

        self._add("weights", {"sequences": [int(training.stop.ints[I_SEQS])], "kind": [kind],
                              "W_h": training.net.W_h[None], "W_o": training.net.W_o[None]})

    def after_chunk(self, training, done: int, steps_before: int) -> None:
        """Everything a chunk produced: results, per-step records, a snapshot on the grid."""
        from .train_loop import I_SEQS

        self.sequences(training.log, done, steps_before)
        self.drain(training.recorder)
        seqs = int(training.stop.ints[I_SEQS])
        if done and seqs % self.weights_every == 0:
            self.snapshot(training)
        self.flush()

    def flush(self, force: bool = False) -> None:
        """Write whole chunks, and rows that have waited FLUSH_SECONDS (all rows when forced)."""
        now, wrote = time.monotonic(), False
        for sink in [s for sinks in self.sinks.values() for s in sinks.values()] if force else self.dirty:
            wrote = sink.write(now, force) or wrote
        self.dirty = [s for s in self.dirty if s.n]
        if wrote:
            self.file.flush()  # SWMR: readers and a crash see everything up to here

    def close(self, status: str, summary: dict | None = None) -> None:
        """Write what is buffered, the end time, status and summary; close the file."""
        if not self.file.id.valid:
            return
        try:
            self.flush(force=True)
            a = self.file.attrs
            a["end_time"] = _iso(time.time())
            a["status"] = status
            if summary is not None:
                a["summary"] = json.dumps(summary, default=_json_default)
        finally:
            self.file.close()


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


@functools.lru_cache(maxsize=1)
def _git() -> dict:
    """The commit of the checkout lstmsim runs from (empty when installed); once per process."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return {"git_commit": "", "git_dirty": 0}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "lstmsim"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return {"git_commit": commit, "git_dirty": int(bool(dirty))}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "", "git_dirty": 0}


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
