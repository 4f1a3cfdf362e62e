"""`random(rng)`: rng.random() for the compiled generators, with NumPy's PCG64 step inlined.

Why: numba's Generator.random() calls the bit generator's C function through a pointer (one
indirect call per draw, which LLVM cannot inline). Here the draw is the PCG64 step itself,
generated into the caller. Measured (2026-11-27): a loop of draws 6.0-6.6 -> 2.1-2.2 ns a draw;
adding's generator (~105 draws a sequence) 0.36-0.43 -> 0.24-0.34 microseconds a sequence, of a
lane's ~4.4 (docs/speed.md).

Same numbers, same stream: the step is NumPy's PCG64 (pcg64.h, `pcg_setseq_128_xsl_rr_64`): the
128-bit LCG state <- state * MULTIPLIER + inc, then the output XSL-RR of the new state (the high
and low halves XORed, rotated right by the state's top 6 bits), then NumPy's double from 64 bits,
(x >> 11) * 2^-53. It reads and writes the state where NumPy keeps it, so draws made here and by
NumPy's own functions (rng.integers, generators/draws.py, the Python Generator) interleave into
one stream (tests/test_generators.py compares them, and the states after).

Requirements: the Generator's bit generator is PCG64 (what lstmsim makes everywhere:
training.py, checks.py; `require_pcg64` checks a Generator handed in from outside), and NumPy was
built with native 128-bit integers, so that its PCG64 state is two little-endian 128-bit words
(state, inc) behind the first pointer of the bit generator's state struct (`check_layout`, run
when this module is imported, checks that without compiling anything).
"""

import ctypes

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645  # PCG_DEFAULT_MULTIPLIER_128
_I64, _I128 = ir.IntType(64), ir.IntType(128)


@intrinsic
def _next64(tyctx, bitgen):
    """The next 64-bit output of the PCG64 generator behind `bitgen` (rng.bit_generator)."""
    sig = types.uint64(bitgen)

    def codegen(ctx, builder, sig, args):
        proxy = cgutils.create_struct_proxy(sig.args[0])(ctx, builder, value=args[0])
        # proxy.state: NumPy's pcg64_state*, whose first member is the pcg64_random_t* {state, inc}
        holder = builder.inttoptr(proxy.state, _I128.as_pointer().as_pointer())
        words = builder.load(holder)
        state = builder.load(words, align=8)
        inc_ptr = builder.gep(words, [ir.Constant(ir.IntType(32), 1)])
        inc = builder.load(inc_ptr, align=8)
        new = builder.add(builder.mul(state, ir.Constant(_I128, MULTIPLIER)), inc)
        builder.store(new, words, align=8)
        high = builder.trunc(builder.lshr(new, ir.Constant(_I128, 64)), _I64)
        xored = builder.xor(high, builder.trunc(new, _I64))
        rot = builder.trunc(builder.lshr(new, ir.Constant(_I128, 122)), _I64)
        fshr = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_I64, [_I64, _I64, _I64]), "llvm.fshr.i64")
        return builder.call(fshr, [xored, xored, rot])  # rotate right by rot

    return sig, codegen


@njit(cache=True, _nrt=False)
def random(rng):
    """Uniform float64 in [0, 1), the draw rng.random() makes (PCG64 only: see the module)."""
    return (_next64(rng.bit_generator) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def require_pcg64(rng):
    """Raise ValueError unless `rng` is a NumPy Generator on PCG64, the only bit generator whose
    state `random` reads (for a Generator handed in from outside, e.g. Training.evaluate's)."""
    if type(getattr(rng, "bit_generator", None)) is not np.random.PCG64:
        raise ValueError(f"lstmsim's compiled generators draw from numpy.random.Generator"
                         f"(PCG64(...)) only; got {rng!r}")


def check_layout(bit_generator=None):
    """Raise RuntimeError unless NumPy's PCG64 keeps its state as this module reads it: the state
    of `bit_generator` (default: a fresh PCG64 after a few draws) read through ctypes must equal
    its `state` dict."""
    bg = bit_generator
    if bg is None:
        bg = np.random.PCG64(12345)
        bg.random_raw(3)
    st = bg.state
    holder = ctypes.cast(bg.ctypes.state_address, ctypes.POINTER(ctypes.c_void_p))
    words = ctypes.cast(holder[0], ctypes.POINTER(ctypes.c_uint64))
    found = (words[1] << 64 | words[0], words[3] << 64 | words[2])
    if st.get("bit_generator") != "PCG64" or found != (st["state"]["state"], st["state"]["inc"]):
        raise RuntimeError("lstmsim: this NumPy build keeps PCG64's state in a layout the compiled "
                           "generators do not read (lstmsim/generators/pcg64.py); please report it")


check_layout()
