"""The logistic function f(x) = 1 / (1 + e^-x), the paper's f, used by every kernel: the reference
step (kernel.py) and the fast paths.

Why not `1 / (1 + math.exp(-x))`: in Numba `math.exp` is a call into the C library, which cannot
be inlined or vectorised, and every register is spilled around it; on the adding net (13 logistic
units a step) about half of the step time went into those calls. This function is plain IEEE
arithmetic, so LLVM inlines it, schedules it with the surrounding code and, in loops over rows or
over trials, vectorises it. It uses no fused multiply-add, no fast-math flag and no table, so the
scalar and the vectorised code give the same bits on every x86-64 target (generic, AVX2,
AVX-512), and the reference path and the fast paths, which all call it, stay bit-identical.

Why a logistic and not an exp: the division the logistic needs anyway also serves as the division
of a rational approximation of e^-|x|, so the whole unit costs ~36 operations. The previous
version (an exp by a degree-13 polynomial with compensated rounding, then 1 / (1 + e)) cost ~57;
two thirds of a step's operations were its exps. Measured (adding T=100, M steps per CPU second):
the fast single-trial loop 8.76 -> 10.38 (`benchmarks/speed.py baseline=DIR`, DIR the previous
commit 2debec1, same run); the lane kernel, 8 lanes, 12.8-13.4 -> 15.4-15.5 (alternating runs).

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
    t = a * _LOG2E + _SHIFT
    kf = t - _SHIFT
    k = _bits(t) - _SHIFT_BITS
    r = (a - kf * _LN2_HI) - kf * _LN2_LO
    r2 = r * r
    r4 = r2 * r2  # the polynomials split in halves: the step's critical path goes through two
    p = r + (r * r2) * (_P0 * r2 + _P1)  # logistic layers, so latency counts, not just operations
    q = (2.0 + _Q2 * r2) + r4 * (_Q1 + _Q0 * r2)
    den = q + p
    k1 = k >> 1
    scale = _from_bits((1023 - k1) << 52) * _from_bits((1023 - (k - k1)) << 52)  # = 2^-k, or 0
    s = (q - p) * scale  # (computed beside the polynomials: one multiplication on the path)
    num = den if x >= 0 else s
    return num / (den + s)
