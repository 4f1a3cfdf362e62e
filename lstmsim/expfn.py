"""exp and the logistic function used by every kernel: the reference step (kernel.py) and the fast paths.

Why not `math.exp`: in Numba it is a call into the C library. A call cannot be inlined or
vectorised, and every register is spilled around it; on the adding net (13 logistic units a step)
about half of the step time went into those calls. This exp is plain IEEE arithmetic, so LLVM
inlines it, schedules it with the surrounding code and, in loops over rows or over trials,
vectorises it. Because it uses no fused multiply-add, no fast-math flag and no table, the scalar
and the vectorised code give the same bits on every x86-64 target (generic, AVX2, AVX-512), and
the reference path and the fast paths, which all call this function, stay bit-identical.

Accuracy (tests/test_fast.py): less than 0.71 ulp from the exact exp over the whole range, and
the correctly rounded value on about 98% of arguments; glibc's `math.exp`, which this replaced, is
within 0.51 ulp, and the two agree bit for bit on about 98% of arguments and otherwise differ by
one unit in the last place: results changed only within rounding.

Method (Cody-Waite, as in fdlibm): z = k ln2 + r with k = round(z / ln2), |r| <= ln2/2 (about);
exp(r) = 1 + r + r^2 q(r), with the rounding errors of r and of 1 + r carried to the last
addition (this brings the error from ~1 ulp to ~0.5), q the Taylor polynomial of degree 11 (terms to r^13, remainder below
2^-57), evaluated by Estrin's scheme (depth 4 instead of Horner's 11: the step's critical path goes
through two logistic layers); the result is scaled by 2^k as two exact powers of two 2^k1 * 2^k2
so that no intermediate overflows before the true result does, and denormal results are rounded
once, by the last multiplication. k is taken from the bits of z/ln2 + 1.5*2^52 (round to nearest
by the addition itself), which needs no float-to-int conversion (none exists for packed doubles
in AVX2).
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
# 1/n! for n = 2..13
_C2 = 0.5
_C3 = 1.0 / 6.0
_C4 = 1.0 / 24.0
_C5 = 1.0 / 120.0
_C6 = 1.0 / 720.0
_C7 = 1.0 / 5040.0
_C8 = 1.0 / 40320.0
_C9 = 1.0 / 362880.0
_C10 = 1.0 / 3628800.0
_C11 = 1.0 / 39916800.0
_C12 = 1.0 / 479001600.0
_C13 = 1.0 / 6227020800.0


@njit(cache=True, inline="always")
def exp(z):
    """e^z in float64, within 0.71 ulp; inf above 709.78, 0 below -745.2, nan for nan."""
    # clamp to where the result is finite and nonzero (comparisons false for nan: it passes)
    z = 710.0 if z > 710.0 else z
    z = -746.0 if z < -746.0 else z
    t = z * _LOG2E + _SHIFT
    kf = t - _SHIFT
    k = _bits(t) - _SHIFT_BITS
    r_hi = z - kf * _LN2_HI  # exact
    corr = kf * _LN2_LO
    r = r_hi - corr
    r_lo = (r_hi - r) - corr  # the rounding error of r
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    q = (((_C2 + _C3 * r) + (_C4 + _C5 * r) * r2)
         + ((_C6 + _C7 * r) + (_C8 + _C9 * r) * r2) * r4
         + ((_C10 + _C11 * r) + (_C12 + _C13 * r) * r2) * r8)
    e_hi = 1.0 + r
    e = e_hi + (((1.0 - e_hi) + r) + (r_lo + r2 * q))  # 1 + r split exactly (|r| < 1)
    k1 = k >> 1
    k2 = k - k1
    return (e * _from_bits((k1 + 1023) << 52)) * _from_bits((k2 + 1023) << 52)


@njit(cache=True, inline="always")
def logistic(x):
    """1 / (1 + e^-x), the paper's f."""
    return 1.0 / (1.0 + exp(-x))
