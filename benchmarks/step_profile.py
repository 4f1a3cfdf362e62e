"""Where one trial's step spends its cycles: a repeatable profile without hardware counters.

This machine has no perf counters and valgrind 3.19 cannot run AVX-512 code, so the step is
profiled statically: the fast loop's step (step_code's forward, partials and shift for adding
T=100, the code every run uses) is compiled in a bare loop, its assembly is written out, and
`llvm-mca` (LLVM's machine-code analyser; Debian's llvm-14 package) simulates it and reports what
holds it up: register dependencies (a latency-bound chain) or execution-port pressure (too many
operations). LLVM 14 has no Zen 4 model, so an AVX-512 Intel model (Ice Lake server) stands in;
its latencies are close (add/mul 4 vs 3 cycles, division 13-16). The bare loop is also timed, so
the step's own rate can be set beside the whole loop's (benchmarks/speed.py).

Usage: python benchmarks/step_profile.py [mcpu=icelake-server] [llvm_mca=llvm-mca-14] [out=DIR]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import common  # noqa: F401  (one Numba thread)
from numba import njit

from lstmsim import config
from lstmsim.fast.step_code import forward, partials, shift
from lstmsim.training import Training


@njit(error_model="numpy")  # not cached: its assembly is read below
def _steps(spec, Z, W_o, a, n):
    acc = 0.0
    for _ in range(n):
        a[0] = 0.5  # an input, as the loop would copy it in
        a[1] = -0.25
        acc += forward(spec, Z, W_o)
        partials(spec, Z)
        shift(spec, Z)
    return acc


def _loop_body(asm: str) -> str:
    """The instructions of the innermost loop: from its label to the branch back to it."""
    lines = asm.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s+j\w+\s+(\.LBB\d+_\d+)", line)
        if m:
            start = next((j for j in range(i) if lines[j].startswith(m.group(1) + ":")), None)
            if start is not None and i - start > 100:  # the step, not a small helper loop
                body = lines[start + 1:i + 1]
                return "\n".join(x for x in body if x.startswith("\t") and not x.lstrip().startswith("."))
    raise SystemExit("step_profile: no loop found in the assembly")


def main(argv):
    opts = dict(a.split("=", 1) for a in argv)
    tr = Training(config.load("adding", dict(T=100, seed=0, stop="none", progress="none")))
    tr.compile()
    tr.advance(200)  # weights and states of a trained-for-a-while net
    fs = tr.scratch
    args = (fs.spec, fs.Z, tr.net.W_o, fs.a)
    _steps(*args, 10)
    n, best = 2_000_000, 0.0
    for _ in range(3):
        c0 = time.process_time()
        _steps(*args, n)
        best = max(best, n / (time.process_time() - c0))
    print(f"one trial's step alone (forward + partials + shift, adding T=100): "
          f"{best / 1e6:.2f} M steps/s per CPU second = {1e9 / best:.1f} ns per step")

    body = _loop_body("".join(_steps.inspect_asm().values()))
    out = opts.get("out") or tempfile.mkdtemp(prefix="step_profile-")
    path = os.path.join(out, "step.s")
    with open(path, "w") as f:
        f.write(body + "\n")
    n_ins = body.count("\n") + 1
    print(f"the step's loop body: {n_ins} instructions, {body.count('zmm')} zmm operands, "
          f"{len(re.findall(r'vdiv[ps]d', body))} divisions -> {path}")

    mca = shutil.which(opts.get("llvm_mca", "llvm-mca-14")) or shutil.which("llvm-mca")
    if mca is None:
        print("llvm-mca not found (Debian: apt install llvm-14): no simulation")
        return 0
    cmd = [mca, f"-mcpu={opts.get('mcpu', 'icelake-server')}", "-iterations=100",
           "-bottleneck-analysis", path]
    report = subprocess.run(cmd, capture_output=True, text=True).stdout
    keep = ("Iterations", "Total Cycles", "Block RThroughput", "IPC", "Resource Pressure",
            "Data Dependencies", "Register Dependencies", "Memory Dependencies")
    print(" ".join(cmd))
    for line in report.splitlines():
        if line.strip().lstrip("- ").startswith(keep):
            print("   " + line.strip())
    m = re.search(r"Total Cycles:\s+(\d+)", report)
    if m:
        print(f"   -> {int(m.group(1)) / 100:.0f} simulated cycles per step (memory dependencies "
              "through the scratch buffer are not modelled)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
