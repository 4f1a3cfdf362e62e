"""Issue 7's target 3: work in two processes at once against one process alone; and the same for
a loop of arithmetic alone, the ceiling that the machine itself allows.

Each process compiles or loads what it runs first, then waits for a common start time, so that
the timed parts overlap entirely. The wall-time aggregate is the sum of the steps over the
longest of the timed parts (the target's figure); the CPU-time aggregate is the sum of each
process's steps per CPU second of its own, which shows what running side by side costs each
process (shared caches, memory, clock) without the time other jobs on a shared machine take.

Why the ceiling: a virtual machine's two vCPUs need not give twice one vCPU's work (they may
share a physical core, the host's other load takes turns on them). `spin` is a loop of
arithmetic in registers, with nothing to share but the cores themselves, timed the way the lanes
are, in the same run: what the machine allows at that moment. On the project's Intel Xeon (2 vCPUs
under KVM, 2026-11-28) it gave 1.98-1.99 x in five runs, and a C loop of fused multiply-adds
(scalar, 256- and 512-bit) ran as fast with both vCPUs busy as alone (scratch programs
/tmp/s30/smt*.c): the two vCPUs are two cores for arithmetic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from numba import njit

HERE = os.path.dirname(os.path.abspath(__file__))
START_DELAY = 4.0  # seconds: after every process has imported and compiled or loaded its code
SPIN_ROUNDS = 10**9  # ~2.5 s a run of `spin` on the 2026 machines


@njit(cache=True)
def spin(n):
    """n rounds of 8 independent multiply-add chains, in registers: arithmetic alone."""
    a0, a1, a2, a3, a4, a5, a6, a7 = 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0
    m, c = 0.9999999, 1e-7
    for _ in range(n):
        a0 = a0 * m + c
        a1 = a1 * m + c
        a2 = a2 * m + c
        a3 = a3 * m + c
        a4 = a4 * m + c
        a5 = a5 * m + c
        a6 = a6 * m + c
        a7 = a7 * m + c
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7


def at_once(code: str, k: int) -> tuple[float, float]:
    """Run `code` in k processes that start their timed part together; (wall-time aggregate,
    CPU-time aggregate). The code gets the start time as sys.argv[1] and prints, as its last
    line, the JSON list [steps, wall seconds, CPU seconds] of its timed part."""
    go = time.time() + START_DELAY
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(go)], stdout=subprocess.PIPE,
                              env=env) for _ in range(k)]
    outs = [json.loads(p.communicate()[0].decode().strip().splitlines()[-1]) for p in procs]
    return sum(o[0] for o in outs) / max(o[1] for o in outs), sum(o[0] / o[2] for o in outs)


def one_and_two(code: str, repeats: int):
    """((wall one, wall two), (CPU one, CPU two)): the best of `repeats` each, alternating one
    process and two, so that a slow spell of the host hits both alike."""
    ones, twos = [], []
    for _ in range(repeats):
        ones.append(at_once(code, 1))
        twos.append(at_once(code, 2))
    best = lambda runs, i: max(r[i] for r in runs)  # noqa: E731
    return (best(ones, 0), best(twos, 0)), (best(ones, 1), best(twos, 1))


def _timed(setup: str, work: str) -> str:
    """A process's code: `setup`, wait for the start, time `work` (which sets s, the steps)."""
    return (f"import sys, time, json; sys.path.insert(0, {HERE!r}); {setup}; "
            "go = float(sys.argv[1]); time.sleep(max(0.0, go - time.time())); "
            f"t0, c0 = time.perf_counter(), time.process_time(); {work}; "
            "print(json.dumps([s, time.perf_counter() - t0, time.process_time() - c0]))")


def lanes(n: int, n_lanes: int, repeats: int):
    """The lane run of speed.py's figure 2 (n sequences a lane of adding T=100)."""
    code = _timed("import speed; speed.lanes_run('adding', 5, %d, T=100); "
                  "x = speed.lanes_setup('adding', %d, %d, T=100)" % (n_lanes, n, n_lanes),
                  "s = speed.lanes_go(x)")
    return one_and_two(code, repeats)


def arithmetic(repeats: int, n: int = SPIN_ROUNDS):
    """`spin` of n rounds (8 n multiply-adds counted as steps): the machine's ceiling."""
    code = _timed("import two_cores; two_cores.spin(10)", f"two_cores.spin({n}); s = 8 * {n}")
    return one_and_two(code, repeats)
