"""Issue 7's target 1 on a CPU where the authors' C simulator was not measured: an estimate.

Target 1 is 1.3 x the C simulator's rate. That rate, 7.5 M steps/s on adding T=100, was measured
on the project's machine of the time (AMD EPYC, Zen 4); the simulator's code is not available
here, so it cannot be timed on another CPU, and its 7.5 M steps/s does not carry over (scalar code
on a CPU with another clock runs at another rate).

What can be timed is the nearest thing to it: the checkout before issue 7 (fa0359d), the same
algorithm as scalar code that calls the C library's exp for every unit, as the C simulator does.
It ran at 5.18 M steps/s on the Zen 4 (docs/speed.md: `speed.py baseline=DIR`, best of 3). This
script times it and the CLI path (speed.cli_path: runner.train with the default trace.h5) back to
back, in rounds, so that a slow spell of the host hits both alike, and estimates the C simulator
on this CPU as 7.5 x (old loop here / 5.18). The CLI path meets target 1 by this estimate when

    CLI path / old loop >= 1.3 x 7.5 / 5.18 = 1.88,

a ratio of two rates measured minutes apart on one machine. It is an estimate: it assumes that the
C simulator's code scales from the Zen 4 to this CPU as the old loop does.

Usage: python benchmarks/c_estimate.py DIR [rounds=6] [sequences=20000] [cli_sequences=500000]
  DIR: the checkout before issue 7, made with `git archive fa0359d | tar -x -C DIR`
"""

from __future__ import annotations

import os
import statistics
import sys

from speed import C_SIMULATOR, cli_path, older_checkout

OLD_ON_ZEN4 = 5.18e6  # fa0359d's loop on the Zen 4, where the C simulator ran at C_SIMULATOR
TARGET_RATIO = 1.3 * C_SIMULATOR / OLD_ON_ZEN4  # CLI path over the old loop, on any CPU


def old_rate(checkout: str, n: int) -> float:
    """Steps per CPU second of the old checkout's loop (best of 3)."""
    return older_checkout(checkout, n, 3)[0]


def cli_rate(n: int) -> float:
    return max(cli_path(n) for _ in range(2))


def summary(ratios: list[float]) -> str:
    """The median of the rounds' ratios against TARGET_RATIO, and the verdict."""
    med = statistics.median(ratios)
    return (f"median {med:.2f} x the old loop (range {min(ratios):.2f}-{max(ratios):.2f}); "
            f"target 1 by the estimate: {TARGET_RATIO:.2f} x -> "
            f"{'OK' if med >= TARGET_RATIO else 'BELOW'}")


def parse(argv: list[str]) -> tuple[str, dict]:
    """The checkout and the options; a one-line error and exit code 2 on bad input."""
    def fail(msg):
        print(f"c_estimate.py: {msg}", file=sys.stderr)
        sys.exit(2)

    words = [a for a in argv if "=" not in a]
    if len(words) != 1:
        fail("give one DIR, the checkout before issue 7 (git archive fa0359d | tar -x -C DIR)")
    checkout = words[0]
    if not os.path.isfile(os.path.join(checkout, "lstmsim", "kernel.py")):
        fail(f"{checkout!r} holds no lstmsim/kernel.py: not a checkout of lstmsim")
    opts = dict(a.split("=", 1) for a in argv if "=" in a)
    known = {"rounds": 6, "sequences": 20000, "cli_sequences": 500000}
    for key in opts:
        if key not in known:
            fail(f"unknown option {key!r}; the options are {', '.join(known)}")
    out = {}
    for key, default in known.items():
        value = opts.get(key, str(default))
        if not value.isdigit() or int(value) < 1:
            fail(f"{key}={value!r}: must be a whole number >= 1")
        out[key] = int(value)
    return checkout, out


def main(argv: list[str]) -> None:
    checkout, opts = parse(argv)
    print(f"target 1 by estimate: the CLI path against {checkout} (the loop before issue 7), "
          f"adding T=100, {opts['rounds']} rounds; M steps/s")
    ratios = []
    for r in range(opts["rounds"]):
        old = old_rate(checkout, opts["sequences"])
        cli = cli_rate(opts["cli_sequences"])
        ratios.append(cli / old)
        c_here = C_SIMULATOR * old / OLD_ON_ZEN4
        print(f"   round {r + 1}: old loop {old / 1e6:5.2f} (Zen 4: {OLD_ON_ZEN4 / 1e6:.2f}), so "
              f"the C simulator ~{c_here / 1e6:.2f} here and 1.3 x ~{1.3 * c_here / 1e6:.2f}; "
              f"CLI path {cli / 1e6:5.2f} = {cli / old:.2f} x the old loop", flush=True)
    print(f"   {summary(ratios)}")


if __name__ == "__main__":
    main(sys.argv[1:])
