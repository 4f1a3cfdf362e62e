"""Where a sweep's trials run: every executor is a `concurrent.futures.Executor`.

    serial            in this process, one trial after the other (tests, debugging)
    local             worker processes on this machine (ProcessPoolExecutor, spawn), the default
    dask              a Dask LocalCluster: `workers` processes with one thread each
    dask://HOST:PORT  an existing Dask scheduler at tcp://HOST:PORT (workers started with Dask's own
                      tools: `dask worker`, dask-jobqueue on Slurm, dask-kubernetes, ...)

Workers on this machine get NUMBA_NUM_THREADS=1 (one compiled kernel and one thread per worker).
Workers of a remote scheduler need lstmsim installed; trials write their folders at the sweep's
path on the worker, and the sweep writes the returned files locally when it does not see them
(no shared file system: the live display then shows counts only, no sequences of running trials).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Iterator

from .errors import UserError

# seconds to reach a remote Dask scheduler (environment variable LSTMSIM_CONNECT_TIMEOUT)
try:
    CONNECT_TIMEOUT = float(os.environ.get("LSTMSIM_CONNECT_TIMEOUT", "5"))
except ValueError:
    CONNECT_TIMEOUT = 5.0
KINDS = ("local", "serial", "dask", "dask://HOST:PORT")
_REMOTE = re.compile(r"^dask://([^:/\s]+):(\d{1,5})/?$")


def check(spec: str, workers: int) -> None:
    """Validate an executor spec without starting anything (one-line UserError)."""
    spec = str(spec)
    if spec in ("local", "serial", "dask"):
        pass
    elif spec.startswith("dask://"):
        m = _REMOTE.match(spec)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise UserError(f"executor={spec!r}: expected dask://HOST:PORT, "
                            "e.g. dask://10.0.0.5:8786")
    else:
        raise UserError(f"executor={spec!r}: choose one of {', '.join(KINDS)}")
    if spec.startswith("dask"):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise UserError(f"executor={spec}: needs Dask; install it with "
                            "pip install 'lstmsim[dask]'") from None


@contextlib.contextmanager
def open_executor(spec: str, workers: int,
                  connect_timeout: float | None = None) -> Iterator[Executor]:
    """The executor named by `spec`, shut down (pending trials cancelled) on exit."""
    check(spec, workers)
    connect_timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
    if spec == "serial":
        yield SerialExecutor()
    elif spec == "local":
        with _single_numba_thread():
            pool = ProcessPoolExecutor(max_workers=workers,
                                       mp_context=multiprocessing.get_context("spawn"))
            try:
                yield pool
            except BaseException:  # interrupted (Ctrl-C) or failing: stop the running trials too
                _stop_workers(pool)
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    elif spec == "dask":
        with _single_numba_thread(), _dask_local(workers) as client:
            yield client.get_executor(pure=False)
    else:
        with _dask_remote(spec, connect_timeout) as client:
            yield client.get_executor(pure=False)


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


@contextlib.contextmanager
def _single_numba_thread():
    """Workers spawned inside this block inherit NUMBA_NUM_THREADS=1 (read when numba imports)."""
    old = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = old


@contextlib.contextmanager
def _dask_local(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR,
                           env={"NUMBA_NUM_THREADS": "1"})
    client = Client(cluster)
    try:
        yield client
    finally:
        _quietly(client.close)
        _quietly(cluster.close)


@contextlib.contextmanager
def _dask_remote(spec: str, timeout: float):
    from distributed import Client

    host, port = _REMOTE.match(spec).groups()
    address = f"tcp://{host}:{port}"
    try:
        client = Client(address, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, CommClosedError, ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"executor={spec}: cannot reach the Dask scheduler at {address} "
                        f"({reason})") from None
    try:
        yield client
    finally:
        _quietly(client.close)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate a pool's worker processes (queued trials would otherwise still run)."""
    stop = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if stop is not None:
        _quietly(stop)
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        _quietly(proc.terminate)


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - closing a cluster must not hide the sweep's own outcome
        pass
