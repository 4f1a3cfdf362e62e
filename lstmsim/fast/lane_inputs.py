"""Every lane's input at its current step, moved into the lane state's input rows (lanes.py).

`gather(spec, xs, tl, live, k, Z)` sets Z's input rows: row m of the sources A, lane l, gets
xs[l, tl[l] + k, m] for the live lanes (live[l] = -1) and xs[l, tl[l], m] for the others (live[l]
= 0: idle and pad lanes have tl[l] = 0 and read a stale row, unused). tl holds each lane's step at
the start of a run of quiet ticks and k counts the ticks since (lanes._run). Lanes are at
different steps of different sequences, so this is a gather: one scalar load per lane and input
line.

Why tl + k and not a tl advanced every tick: tl was stored as one vector (tl -= live) at the end
of each tick and read back as eight scalars by the next tick's gather, at the head of the tick's
dependency chain (the inputs are the first terms of every net input). A load that takes part of
a wider store in flight may have to wait for the store to reach the cache. tl now stays as it was
for a whole quiet run and k lives in a register. Measured (adding T=100, 8 lanes, best of 5 runs
of 20,000 sequences a lane, 5 alternating rounds, 2026-11-27): 26.29 -> 27.23 M steps/s (means),
faster in every round.

Why generated code and a vector store: the generated step (unrolled.py) then reads each input row
as one vector. Written element by element (a loop of scalar stores), that vector load spans eight
stores still in flight, which the processor cannot forward to it, so (most likely; this machine
has no performance counters to show it) the load waits until they are written to the cache, and
every net input of the tick starts from the inputs (their sums add the sources in order, inputs
first). Built in registers and stored as one vector, the row is forwarded like any other store.
Measured (adding T=100, 8 lanes, the quiet tick's loop on a trained state,
2026-11-27, alternating runs): the scalar gather cost 7-9% of a tick, this one ~2%.

Nets of more than UNROLL_MAX_SOURCES sources (Exps. 2a-2c, 100 and more input lines) keep a loop,
like the rest of their lane step (looped.py): written out, n_in x NL loads (over 800 for Exp. 2a
in 8 lanes) would add to their compile times, the longest already; not measured, since their
steps are long and the gather a small part of them.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from .lane_state import PAD
from .unrolled import UNROLL_MAX_SOURCES, _dims_from_type, build, layout


@intrinsic
def store_vector(typingctx, Z, offset, values):
    """Z[offset : offset + n] = values (a tuple of n float64) as one n-wide vector store; Z a 1-d
    float64 array."""
    if not (isinstance(Z, types.Array) and Z.ndim == 1 and Z.dtype == types.float64
            and isinstance(offset, types.Integer)
            and isinstance(values, types.UniTuple) and values.dtype == types.float64):
        return None
    n = values.count
    sig = types.void(Z, offset, values)

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        vector_type = ir.VectorType(ir.DoubleType(), n)
        vector = ir.Constant(vector_type, ir.Undefined)
        for i in range(n):
            element = builder.extract_value(args[2], i)
            vector = builder.insert_element(vector, element, ir.Constant(ir.IntType(32), i))
        address = builder.gep(array.data, [args[1]])
        store = builder.store(vector, builder.bitcast(address, vector_type.as_pointer()))
        store.align = 8  # the promise Z's type gives (aligned.py aligns the buffers lstmsim makes)
        return context.get_dummy_value()

    return sig, codegen


def source_gather(dims) -> str:
    """def f(spec, xs, tl, Z): each lane's step index, then per input line and group of lanes, the
    lanes' inputs as one vector store."""
    n_in, NL = dims["n_in"], dims["NL"]
    A = layout(dims)["A"]
    # a vector per PAD lanes (one AVX-512 register of doubles), or one of all lanes (pad=4)
    width = PAD if NL % PAD == 0 else NL
    out = ["def f(spec, xs, tl, live, k, Z):"]
    out += [f"    t{l} = tl[{l}] + (k & live[{l}])" for l in range(NL)]
    for m in range(n_in):
        for g in range(0, NL, width):
            values = ", ".join(f"xs[{l}, t{l}, {m}]" for l in range(g, g + width))
            out.append(f"    store_vector(Z, {(A + m) * NL + g}, ({values},))")
    return "\n".join(out) + "\n"


def source_gather_loop(dims) -> str:
    """The same as loops, for nets of many input lines."""
    n_in, NL = dims["n_in"], dims["NL"]
    A = layout(dims)["A"]
    return (f"def f(spec, xs, tl, live, k, Z):\n"
            f"    for m in range({n_in}):\n"
            f"        for l in range({NL}):\n"
            f"            Z[({A} + m) * {NL} + l] = xs[l, tl[l] + (k & live[l]), m]\n")


def gather(spec, xs, tl, live, k, Z):
    raise NotImplementedError("compiled only (numba)")


@overload(gather)
def _ol_gather(spec, xs, tl, live, k, Z):
    if layout(_dims_from_type(spec))["D"] > UNROLL_MAX_SOURCES:
        return build("looped", {"gather": source_gather_loop}, "gather", spec)
    return build("unrolled", {"gather": source_gather}, "gather", spec,
                 {"store_vector": store_vector})
