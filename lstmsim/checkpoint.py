"""checkpoint.npz: everything a run needs to continue bit for bit after a kill (lstmsim/resume_cmd.py).

A run writes `checkpoint.npz` into its folder every `checkpoint_every` sequences and at least every
`checkpoint_seconds`, between two chunks (chunk boundaries never change results), right after a
forced flush of trace.h5, and once more when it reaches max_sequences (so that a capped run can be
extended). The file is written as `checkpoint.npz.tmp`, fsync'ed and renamed over the old one
(`os.replace`), so a kill at any moment leaves the last complete checkpoint in place; a stray
temporary file is never read.

Contents (an uncompressed .npz; `meta` is a JSON text, everything else arrays):
  net/*, scratch/*, stop/*   every array of the network (weights, masks), of the kernel's scratch
                             (with update=delayed it holds the pending weight change) and of the
                             stop-rule state (sliding window, counters)
  initial/W_h, initial/W_o   the initial weights (for weights.npz)
  kind_state/*               the arrays of the task kind's own state (2a/2b: the full net's masks)
  meta                       format, version, the run's resolved config, sequences trained, every
                             numpy Generator of the Training (`bit_generator.state`), the kind
                             state's other values, the run loop's state (status, evaluations,
                             first-met criteria, train seconds, chunk size), the trace position
                             (rows of every trace.h5 dataset) and trace selection, start time and
                             wall seconds so far, versions

Test hook: with LSTMSIM_TEST_KILL_IN_CHECKPOINT=N in the environment the process kills itself
(SIGKILL) after writing the temporary file of its N-th checkpoint, before the rename.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError

FILE_NAME = "checkpoint.npz"
LOCK_NAME = ".lock"
FORMAT = "lstmsim-checkpoint"
FORMAT_VERSION = 1
KILL_ENV = "LSTMSIM_TEST_KILL_IN_CHECKPOINT"


@dataclass
class Checkpoint:
    path: Path
    meta: dict
    arrays: dict

    @property
    def sequences(self) -> int:
        return int(self.meta["sequences"])


# ---- what goes in ------------------------------------------------------------------------------
def _array_fields(obj) -> dict:
    """The arrays of a NamedTuple (by field name), a tuple/list (by index) or a dataclass."""
    if hasattr(obj, "_fields"):
        items = [(f, getattr(obj, f)) for f in obj._fields]
    elif isinstance(obj, (tuple, list)):
        items = [(str(i), v) for i, v in enumerate(obj)]
    elif dataclasses.is_dataclass(obj):
        items = [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj)]
    else:
        raise TypeError(f"cannot checkpoint a {type(obj).__name__}")
    return {name: v for name, v in items if isinstance(v, np.ndarray)}


def _generators(training) -> dict:
    return {k: v for k, v in vars(training).items() if isinstance(v, np.random.Generator)}


def capture(training) -> tuple[dict, dict]:
    """(arrays, meta) of a Training's whole state between two chunks."""
    arrays = {}
    for prefix in ("net", "scratch", "stop"):
        for name, a in _array_fields(getattr(training, prefix)).items():
            arrays[f"{prefix}/{name}"] = a
    arrays["initial/W_h"], arrays["initial/W_o"] = training.initial_weights
    meta = {"rngs": {k: g.bit_generator.state for k, g in _generators(training).items()},
            "kind_state": _encode(training.kind_state, "kind_state", arrays)}
    return arrays, meta


def restore(training, ck: Checkpoint) -> None:
    """Put a checkpoint's state into a freshly built Training of the same config."""
    arrays = ck.arrays
    for prefix in ("net", "scratch", "stop"):
        for name, target in _array_fields(getattr(training, prefix)).items():
            _fill(target, arrays, f"{prefix}/{name}", ck.path)
    training.initial_weights = tuple(_take(arrays, f"initial/{w}", ck.path).copy()
                                     for w in ("W_h", "W_o"))
    gens = _generators(training)
    saved = ck.meta.get("rngs", {})
    if set(saved) != set(gens):
        raise UserError(f"{ck.path}: holds the random streams {sorted(saved)}, this run has "
                        f"{sorted(gens)}")
    for name, state in saved.items():
        gens[name].bit_generator.state = state
    training.kind_state = _decode(ck.meta.get("kind_state", {}), training.kind_state, arrays,
                                  ck.path)


def _take(arrays: dict, key: str, path) -> np.ndarray:
    if key not in arrays:
        raise UserError(f"{path}: the checkpoint lacks {key}")
    return arrays[key]


def _fill(target: np.ndarray, arrays: dict, key: str, path) -> None:
    value = _take(arrays, key, path)
    if value.shape != target.shape or value.dtype != target.dtype:
        raise UserError(f"{path}: the checkpoint does not fit this run's network ({key}: "
                        f"{value.dtype}{list(value.shape)} saved, {target.dtype}{list(target.shape)} here)")
    target[...] = value


def _encode(value, key: str, arrays: dict):
    """A JSON-able form of a kind state; its arrays go into `arrays` under `key`."""
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {"__array__": key}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__fields__": {f.name: _encode(getattr(value, f.name), f"{key}.{f.name}", arrays)
                               for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {"__dict__": {str(k): _encode(v, f"{key}.{k}", arrays) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"__list__": [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)],
                "tuple": isinstance(value, tuple)}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot checkpoint {key} of type {type(value).__name__}")


def _decode(enc, current, arrays: dict, path):
    """The inverse of _encode, restoring into `current` (arrays in place, dataclass fields set)."""
    if not isinstance(enc, dict):
        return enc
    if "__array__" in enc:
        value = _take(arrays, enc["__array__"], path)
        if isinstance(current, np.ndarray) and current.shape == value.shape \
                and current.dtype == value.dtype:
            current[...] = value
            return current
        return value.copy()
    if "__fields__" in enc:
        if not (dataclasses.is_dataclass(current) and not isinstance(current, type)):
            raise UserError(f"{path}: the checkpoint's task state does not fit this run")
        for name, v in enc["__fields__"].items():
            setattr(current, name, _decode(v, getattr(current, name, None), arrays, path))
        return current
    if "__dict__" in enc:
        out = current if isinstance(current, dict) else {}
        for k in [k for k in out if k not in enc["__dict__"]]:
            del out[k]
        for k, v in enc["__dict__"].items():
            out[k] = _decode(v, out.get(k), arrays, path)
        return out
    if "__list__" in enc:
        cur = list(current) if isinstance(current, (list, tuple)) else []
        items = [_decode(v, cur[i] if i < len(cur) else None, arrays, path)
                 for i, v in enumerate(enc["__list__"])]
        return tuple(items) if enc.get("tuple") else items
    return enc


# ---- the file --------------------------------------------------------------------------------------
_written = 0  # checkpoints this process wrote (for the test hook)


def save(run_dir: Path, arrays: dict, meta: dict) -> Path:
    """Write run_dir/checkpoint.npz atomically; on failure the previous one is left intact."""
    global _written
    path = Path(run_dir) / FILE_NAME
    tmp = path.with_name(path.name + ".tmp")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta, default=_json_default)), **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        _written += 1
        if os.environ.get(KILL_ENV) and int(os.environ[KILL_ENV]) == _written:
            os.kill(os.getpid(), signal.SIGKILL)  # test hook: die between the write and the rename
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UserError(f"{path}: cannot write the checkpoint ({exc.strerror or exc}); the "
                        "previous one is kept") from None
    return path


def load(run_dir: Path) -> Checkpoint:
    """The run folder's checkpoint; a one-line UserError when there is none or it is unreadable."""
    path = Path(run_dir) / FILE_NAME
    if not path.is_file():
        raise UserError(f"{run_dir}: no {FILE_NAME} (not a run folder, or the run was killed "
                        "before its first checkpoint: start it again)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if "meta" not in arrays:
            raise UserError(f"{path}: not an lstmsim checkpoint")
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable checkpoint ({_reason(exc)})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"{path}: not an lstmsim checkpoint")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise UserError(f"{path}: checkpoint format version {meta.get('format_version')} is newer "
                        f"than this lstmsim reads ({FORMAT_VERSION})")
    for key in ("sequences", "config", "loop", "rngs", "trace", "started", "wall_seconds"):
        if key not in meta:
            raise UserError(f"{path}: damaged checkpoint (no {key!r})")
    return Checkpoint(path, meta, arrays)


# ---- when ------------------------------------------------------------------------------------------
class Checkpointer:
    """Writes the run's checkpoints: `due(sequences)` between chunks, `write(...)` then."""

    def __init__(self, run_dir: Path, cfg, started: float, wall_origin: float, sequences: int):
        self.run_dir, self.cfg = Path(run_dir), cfg
        self.started, self.wall_origin = started, wall_origin
        self.every, self.seconds = int(cfg.checkpoint_every), float(cfg.checkpoint_seconds)
        self.last_seqs, self.last_time = int(sequences), time.monotonic()
        self.written, self.write_seconds = 0, 0.0

    def due(self, sequences: int) -> bool:
        return (sequences - self.last_seqs >= self.every
                or time.monotonic() - self.last_time >= self.seconds)

    def write(self, training, loop: dict, tracer=None) -> None:
        from . import __version__
        from .config import to_yaml
        from .train_loop import I_SEQS

        t0 = time.perf_counter()
        seqs = int(training.stop.ints[I_SEQS])
        trace = {}
        if tracer is not None:
            trace = {"positions": tracer.checkpoint_positions(), "every": tracer.every,
                     "weights_every": tracer.weights_every}
        arrays, meta = capture(training)
        meta.update(sequences=seqs, config=to_yaml(self.cfg), loop=loop, trace=trace,
                    started=self.started, wall_seconds=time.time() - self.wall_origin,
                    written_at=time.time(), lstmsim_version=__version__,
                    numpy_version=np.__version__, python_version=sys.version.split()[0])
        save(self.run_dir, arrays, meta)
        self.last_seqs, self.last_time = seqs, time.monotonic()
        self.written += 1
        self.write_seconds += time.perf_counter() - t0


# ---- one writer per run folder -----------------------------------------------------------------------
@contextlib.contextmanager
def lock(run_dir: Path):
    """Hold run_dir/.lock (flock) while writing the run; refuse when another process holds it.

    The lock goes with the process, also when it is killed, so a killed run can be resumed at once.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = Path(run_dir) / LOCK_NAME
    try:
        fh = open(path, "a+")
    except OSError as exc:
        raise UserError(f"{run_dir}: cannot write in the run folder ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UserError(f"{run_dir}: another lstmsim process is writing this run; wait for "
                            "it to end or stop it first") from None
        yield
    finally:
        fh.close()


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
