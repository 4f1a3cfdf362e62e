"""The logistic function f(x) = 1 / (1 + e^-x), the paper's f, used by every kernel: the reference
step (kernel.py) and the fast paths.

Why not `1 / (1 + math.exp(-x))`: in Numba `math.exp` is a call into the C library, which cannot
be inlined or vectorised, and every register is spilled around it; on the adding net (13 logistic
units a step) about half of the step time went into those calls. This function is plain IEEE
arithmetic, so LLVM inlines it, schedules it with the surrounding code and, in loops over rows or
over trials, vectorises it. It uses no fast-math flag and no table; its fused multiply-adds are
IEEE operations rounded once (`_fma`, LLVM's llvm.fma), so the scalar and the vectorised code give
the same bits on every x86-64 target (AVX2, AVX-512; on a CPU without FMA, LLVM calls the C
library's exact fma instead, slowly), and the reference path and the fast paths, which all call
it, stay bit-identical.

Why a logistic and not an exp: the division the logistic needs anyway also serves as the division
of a rational approximation of e^-|x|, so the whole unit cost ~36 operations (~28 with the
fused multiply-adds below). The previous version (an exp by a degree-13 polynomial with
compensated rounding, then 1 / (1 + e)) cost ~57; two thirds of a step's operations were its exps. Measured (adding T=100, M steps per CPU second):
the fast single-trial loop 8.76 -> 10.38 (`benchmarks/speed.py baseline=DIR`, DIR the previous
commit 2debec1, same run); the lane kernel, 8 lanes, 12.8-13.4 -> 15.4-15.5 (alternating runs).

Why fused multiply-adds (since 2026-11-27): the reduction and the two polynomials as fused
multiply-adds are 8 operations fewer and a shorter dependency chain per unit. Measured (adding
T=100, best of 5 runs in 4 alternating rounds, separate processes; /tmp scratch scripts): one
trial's fast loop 10.72-10.81 -> 11.83-12.02 M steps/s, 8 lanes 23.95-24.61 -> 26.11-27.16; the
lanes' step alone 231-234 -> 196-197 ns a tick (in one process, 5 rounds). Fused multiply-adds in
the net inputs' sums and the partials instead (176 operations fewer a tick, a longer chain) did not
change the tick (229-234 ns). Results moved within rounding: it differs from the previous
version (the same formula with separate multiplications and additions) on 0.05% of 4 million
arguments, by at most 3 ulp; both are within 2.46 ulp of the exact logistic, mean 0.38, correctly
rounded on 68%. `reproduce table=7 T=100 correct=squared max_sequences=100000` gave the same 10
outcomes at the same sequences with both (test errors equal to ~1e-15); docs/fidelity.md.

Method. With a = |x| = k ln2 + r (Cody-Waite reduction as in fdlibm: k = round(a / ln2),
|r| <= ln2/2), e^-a = 2^-k e^-r, and e^-r = (q - p) / (q + p) with p = r P(r^2), q = Q(r^2), the
rational form and coefficients of Cephes' exp (S. L. Moshier; degree 2/3 in r^2, relative error
2^-63 on this interval; the leading coefficients are exactly 1 and 2, so p = r + r^3 (...)
and q = 2 + r^2 (...) carry their bulk exactly). Then with s = 2^-k (q - p):
    x >= 0:  f = 1 / (1 + e^-a) = (q + p) / ((q + p) + s)
    x <  0:  f = e^-a / (1 + e^-a) = s / ((q + p) + s)
one division either way, and no overflow: s <= 2.4. 2^-k is built as the product of two powers
of two (k <= 1076), exact down to 2^-1074 (k = 1075, 1076 round to 0: |x| > 744.8, where the
exact f is below 2^-1074 and f is then 0 or 1, a denormal unit from the correctly rounded value at
most). k is taken from the bits of a / ln2 + 1.5*2^52 (round to nearest by the addition
itself), which needs no float-to-int conversion (none exists for packed doubles in AVX2).

Accuracy (measured against long double on 4 million arguments sampled over the range; 400,000
in tests/test_fast.py): at most 2.46 ulp from the exact logistic, mean 0.38, correctly rounded on
68% of arguments. The previous version and 1 / (1 + math.exp(-x)) with glibc's exp: at most 2.36
ulp, mean 0.35, 71%. This one equals either on 61% of arguments and differs by at most 4 ulp (more
than 2 on 0.04%): results changed only within rounding. It gives 0.5 at 0, 1 for x >= 37.5 and
0 only below -744.8 (where the exact value is below the smallest denormal); 1 / (1 + math.exp(-x))
is 0 already below -709.8. Effect on trials: docs/fidelity.md.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _bits(typingctx, x):
    """The IEEE bits of a float64 as an int64 (a register move, no memory)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@intrinsic
def _from_bits(typingctx, x):
    """The float64 whose IEEE bits are the int64 x."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (IEEE fused multiply-add): one instruction on x86-64 with FMA
    (Haswell / Zen and later), the same bits scalar and vectorised, and exact everywhere (LLVM
    calls the C library's fma where the CPU has none)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        dbl = context.get_value_type(types.float64)
        fn = builder.module.declare_intrinsic("llvm.fma", [dbl], ir.FunctionType(dbl, [dbl] * 3))
        return builder.call(fn, args)

    return sig, codegen


_LOG2E = 1.4426950408889634
_SHIFT = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer, kept in the low bits
_SHIFT_BITS = 0x4338000000000000
_LN2_HI = 6.93147180369123816490e-01  # fdlibm: 32 significant bits, so k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
# Cephes exp: e^r = (Q(r^2) + r P(r^2)) / (Q(r^2) - r P(r^2)), P = P0 r^4 + P1 r^2 + 1,
# Q = Q0 r^6 + Q1 r^4 + Q2 r^2 + 2 (their P2 = 1 - 9e-20 and Q3 = 2 + 9e-20 round to 1 and 2)
_P0 = 1.26177193074810590878e-4
_P1 = 3.02994407707441961300e-2
_Q0 = 3.00198505138664455042e-6
_Q1 = 2.52448340349684104192e-3
_Q2 = 2.27265548208155028766e-1
_A_MAX = 746.0  # beyond it e^-a is below half the smallest denormal: f is 0 or 1 exactly


@njit(cache=True, inline="always")
def logistic(x):
    """1 / (1 + e^-x) in float64, within 2.5 ulp; nan for nan."""
    a = abs(x)
    a = _A_MAX if a > _A_MAX else a  # also inf (a comparison with nan is false: it passes)
    t = _fma(a, _LOG2E, _SHIFT)
    kf = t - _SHIFT
    k = _bits(t) - _SHIFT_BITS
    r = _fma(-kf, _LN2_LO, _fma(-kf, _LN2_HI, a))  # the inner one exact, as a - kf * _LN2_HI
    r2 = r * r
    r4 = r2 * r2  # the polynomials split in halves: the step's critical path goes through two
    p = _fma(r * r2, _fma(_P0, r2, _P1), r)  # logistic layers, so latency counts
    q = _fma(r4, _fma(_Q0, r2, _Q1), _fma(_Q2, r2, 2.0))
    den = q + p
    k1 = k >> 1
    scale = _from_bits((1023 - k1) << 52) * _from_bits((1023 - (k - k1)) << 52)  # = 2^-k, or 0
    s = (q - p) * scale  # (computed beside the polynomials: one multiplication on the path)
    num = den if x >= 0 else s
    return num / (den + s)
