"""Full-width (512-bit) vectors for the lane kernel's code, whatever the CPU model's default.

LLVM's models of Intel's AVX-512 server cores (Skylake-X to Emerald Rapids) carry the tuning
flag `prefer-256-bit`: their loops are vectorised with 256-bit vectors even though the CPU has
512-bit ones (clang's -mprefer-vector-width=256 is the default there, because mixed scalar and
512-bit code used to lower the clock). The lane kernel's loops over 8 lanes of doubles then ran
as two 256-bit halves; with 512-bit vectors, one. Measured on an Emerald Rapids Xeon (2026-11-27,
adding T=100, best of 5 runs, 2 alternating rounds, scratch scripts in /tmp/s29): the lanes'
generated step alone 26.2-27.0 -> 41.9-42.2 M steps/s, 8 lanes 21.7-22.2 -> 27.7-29.0.
The same preference for the whole process (Numba's CPU features with -prefer-256-bit) made the
one-trial loop slower (9.8-10.1 -> 6.9-7.1: its scalar code was packed into wide vectors with
shuffles), so it is set per function: on the lane kernel's generated code only (unrolled.build:
the step, tick, partials, shift and backward pass; too big for LLVM to inline, each keeps its
mark; a small one such as the inputs' gather is inlined into its caller, where the caller's
width applies). Not on the tick loop itself (lanes._run): marked too, 8 lanes ran slower than
with the generated code alone (27.5, 27.7, 23.2 against 28.0, 28.4, 26.1 M steps/s, 3 rounds).
On CPUs whose model prefers 512 bits already (AMD Zen 4) it changes nothing; on CPUs without
AVX-512 the widest vectors are 256 bits anyway. Vector width does not change any result: the
same operations on each lane's numbers, without fast-math (tests/test_fast.py compares every
lane with its trial alone).
"""

from __future__ import annotations

from numba import types
from numba.extending import intrinsic

# LLVM's function attributes that set the widths for one function: the width its loops are
# vectorised to, and the width its vector types are legal at (else the back end splits 512-bit
# vectors in two again)
_ATTRIBUTES = ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"')


@intrinsic
def prefer_wide_vectors(typingctx):
    """Mark the calling function (the one being compiled, not inlined callees) for 512-bit vectors.
    Generates no code."""
    sig = types.none()

    def codegen(context, builder, signature, args):
        attrs = builder.function.attributes
        for attr in _ATTRIBUTES:
            set.add(attrs, attr)  # (llvmlite's add() knows only the attributes without a value)
        return context.get_dummy_value()

    return sig, codegen
