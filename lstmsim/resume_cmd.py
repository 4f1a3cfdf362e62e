"""`python -m lstmsim resume RUN [max_sequences=N] [progress=...]`: continue a run in its folder.

Also `python -m lstmsim resume=RUN ...` and `lstmsim.resume(RUN, ...)`. A killed run continues from
its last checkpoint (lstmsim/checkpoint.py) and ends bit-identical to the same run never
interrupted: weights, summary (but its timing fields) and trace.h5's rows. trace.h5 is rebuilt from
its rows up to the checkpoint (written to trace.h5.tmp, then renamed over the old file), so the
rows a killed run wrote after its last checkpoint are dropped and written again, once.

A capped run (status capped or completed) continues with a larger `max_sequences=`; it keeps its
trace selection (trace.every, trace.weights_every as the run started). Only keys that cannot change
the run so far may be given: max_sequences, progress, checkpoint_every, checkpoint_seconds.
Refused with one line and exit 2: a finished run (solved, diverged, or capped without a larger
cap), a config.yaml that no longer matches the checkpoint, a missing or damaged checkpoint or
trace, a run that another process is still writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from . import checkpoint
from . import config as config_mod
from . import replay  # noqa: F401  (registers the replay task kind, whose runs can be resumed)
from .errors import UserError
from .trace import FILE_NAME as TRACE_FILE
from .trace import TraceWriter, _iso
from .trace_reader import open_trace
from .training import Training

RESUMABLE = ("max_sequences", "progress", "checkpoint_every", "checkpoint_seconds")
NOT_COMPARED = RESUMABLE + ("out",)  # config keys that may differ from the checkpoint's
CONTINUABLE = ("capped", "completed")  # finished statuses that a larger max_sequences extends


def cmd_resume(args: list[str]) -> int:
    paths = [a for a in args if "=" not in a]
    pairs = config_mod.parse_overrides([a for a in args if "=" in a])
    if "resume" in pairs:
        paths.append(pairs.pop("resume"))
    if len(paths) != 1:
        raise UserError(f"resume needs one run folder, got {len(paths)}")
    summary = resume(paths[0], **pairs)
    print(summary["run_dir"])
    return 0 if summary["status"] in ("solved", "capped", "completed") else 1


def resume(run, **overrides) -> dict:
    """Continue the run in folder `run`; returns its summary (see the module doc)."""
    from . import runner

    run_dir = Path(str(run))
    if not run_dir.is_dir():
        raise UserError(f"resume={run}: no such run folder")
    bad = [k for k in overrides if k not in RESUMABLE]
    if bad:
        raise UserError(f"{bad[0]}: cannot be changed when resuming (it would change the run so "
                        f"far); only {', '.join(RESUMABLE)} can")
    cfg = load_run_config(run_dir, overrides)  # read-only checks before anything is written
    with checkpoint.lock(run_dir), runner._write_errors(run_dir):
        done = _finished(run_dir)
        if done is not None:
            status, trained = done.get("status"), int(done.get("sequences_trained", -1))
            if status not in CONTINUABLE:
                raise UserError(f"{run_dir}: the run is finished ({status} at {trained:,} "
                                "sequences); nothing to resume")
            if int(cfg.max_sequences) <= trained:
                raise UserError(f"{run_dir}: the run is finished ({status} at {trained:,} "
                                f"sequences); resume with max_sequences= above {trained} to "
                                "continue it")
        ck = checkpoint.load(run_dir)
        check_config(run_dir, ck)
        seqs = ck.sequences
        if done is not None:
            if trained != seqs:
                raise UserError(f"{run_dir}: summary.json ({trained:,} sequences) and "
                                f"{checkpoint.FILE_NAME} ({seqs:,}) disagree")
        if int(cfg.max_sequences) < seqs:
            raise UserError(f"max_sequences={cfg.max_sequences}: the run has already trained "
                            f"{seqs:,} sequences")
        training = Training(cfg)
        checkpoint.restore(training, ck)
        started = float(ck.meta["started"])
        tracer = _continue_trace(run_dir, cfg, training, ck, started)
        try:
            runner.write_text_atomic(run_dir / "config.yaml", config_mod.to_yaml(cfg))
            with contextlib.suppress(FileNotFoundError):
                (run_dir / "summary.json").unlink()  # the run runs again
            if tracer is not None:
                tracer.resumed.install(tracer)
        except BaseException:
            if tracer is not None:
                tracer.resumed.discard(tracer)
            raise
        loop = ck.meta["loop"]
        wall_origin = time.time() - float(ck.meta["wall_seconds"])
        title = f"lstmsim {cfg.task} seed={cfg.seed} (resumed at {seqs:,} sequences)"
        return runner.execute(cfg, run_dir, training, tracer, loop, started, wall_origin, title)


def load_run_config(run_dir: Path, overrides: dict):
    """The run's config.yaml with `overrides`, checked as for a new run."""
    path = run_dir / "config.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir}: no config.yaml (not an lstmsim run folder)") from None
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read ({_first_line(exc)})") from None
    if not isinstance(data, dict) or "kind" not in data or "task" not in data:
        raise UserError(f"{path}: not an lstmsim run config")
    schema = OmegaConf.structured(config_mod.schema_for(str(data["kind"])))
    try:
        cfg = OmegaConf.merge(schema, OmegaConf.create(data))
        dotlist = [f"{k}={config_mod._as_text(v)}" for k, v in overrides.items()]
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(dotlist))
    except OmegaConfBaseException as exc:
        raise UserError(config_mod._omegaconf_message(exc)) from None
    config_mod.validate(cfg)
    return cfg


def check_config(run_dir: Path, ck: checkpoint.Checkpoint) -> None:
    """config.yaml must still be the config the checkpoint was written with (but NOT_COMPARED)."""
    have = yaml.safe_load((run_dir / "config.yaml").read_text())
    saved = yaml.safe_load(ck.meta["config"])
    diff = _first_difference(_flat(saved), _flat(have))
    if diff is not None:
        key, a, b = diff
        raise UserError(f"{run_dir}/config.yaml no longer matches the checkpoint ({key}: {a!r} "
                        f"in the checkpoint, {b!r} in config.yaml)")


def _flat(d, prefix: str = "") -> dict:
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k != "paper":
            out.update(_flat(v, key + "."))
        elif key not in NOT_COMPARED:
            out[key] = v
    return out


def _first_difference(a: dict, b: dict):
    for key in list(a) + [k for k in b if k not in a]:
        if a.get(key, "<missing>") != b.get(key, "<missing>"):
            return key, a.get(key, "<missing>"), b.get(key, "<missing>")
    return None


def _finished(run_dir: Path) -> dict | None:
    """The run's summary.json if it finished (it is written last), else None."""
    try:
        data = json.loads((run_dir / "summary.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None  # a damaged summary: the run did not finish cleanly
    return data if isinstance(data, dict) and "status" in data else None


def _continue_trace(run_dir: Path, cfg, training, ck, started: float) -> TraceWriter | None:
    if not cfg.trace.enabled:
        return None
    trace = ck.meta.get("trace") or {}
    if "positions" not in trace:
        raise UserError(f"{ck.path}: the checkpoint has no trace position")
    source = run_dir / TRACE_FILE
    if not source.is_file():
        raise UserError(f"{source}: missing; the run cannot continue its trace")
    cont = Continuation(source, trace["positions"], int(trace["every"]),
                        int(trace["weights_every"]), ck.sequences)
    tracer = TraceWriter(source, cfg, training, started, resume=cont)
    tracer.resumed = cont
    return tracer


@dataclass
class Continuation:
    """How a resumed run's trace continues: a new file (`new_path`) holding the first `positions`
    rows ('group/name' -> rows) of every dataset of the old one (`source`), renamed over it once
    complete; the trace selection the run started with; its sequences at the checkpoint."""

    source: Path
    positions: dict
    every: int
    weights_every: int
    sequences: int

    @property
    def new_path(self) -> Path:
        return self.source.with_name(self.source.name + ".tmp")

    def fill(self, writer: TraceWriter) -> None:
        """Called by TraceWriter before SWMR starts: copy the rows, the masks, the resume history."""
        want = {f"{key}/{name}" for key, sinks in writer.sinks.items() for name in sinks}
        if set(self.positions) != want:
            raise UserError(f"{self.source}: the checkpoint's trace layout differs from this run's")
        with open_trace(self.source) as old:
            try:
                for key, sinks in writer.sinks.items():
                    for name, sink in sinks.items():
                        self._copy_rows(old[key][name], sink, int(self.positions[f"{key}/{name}"]))
                for m in ("M_h", "M_o"):  # the masks as the run started (2a/2b grow later)
                    writer.file["weights"][m][...] = old["weights"][m][()]
                history = old.attrs.get("resumes", "[]")
                history = json.loads(history.decode() if isinstance(history, bytes) else history)
            except (OSError, KeyError, ValueError, RuntimeError) as exc:
                raise UserError(f"{self.source}: cannot continue this trace "
                                f"({_first_line(exc)})") from None
        history.append({"time": _iso(time.time()), "sequences": int(self.sequences)})
        writer.file.attrs["resumes"] = json.dumps(history)

    def _copy_rows(self, src: h5py.Dataset, sink, n: int) -> None:
        src.refresh()
        if src.shape[0] < n:
            raise UserError(f"{self.source}: {src.name} holds {src.shape[0]} rows, the "
                            f"checkpoint expects {n}; the trace does not belong to this checkpoint")
        sink.ds.resize(n, axis=0)
        if not sink.phony:  # in blocks of whole chunks of about 8 MiB
            row_bytes = src.dtype.itemsize * int(np.prod(src.shape[1:], dtype=np.int64))
            step = sink.chunk * max(1, (8 << 20) // max(1, row_bytes * sink.chunk))
            for a in range(0, n, step):
                sink.ds[a:min(n, a + step)] = src[a:min(n, a + step)]
        sink.size = n

    def install(self, writer: TraceWriter) -> None:
        """Make the continued trace the run's trace.h5: fsync, then an atomic rename."""
        with open(writer.path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(writer.path, self.source)
        writer.path = self.source
        checkpoint.fsync_dir(self.source.parent)

    def discard(self, writer: TraceWriter) -> None:
        """Before install(): close and remove the new file; the old trace stays untouched."""
        if writer.path != self.new_path:
            return
        if writer.file.id.valid:
            writer.file.close()
        self.new_path.unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
