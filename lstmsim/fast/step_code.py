"""One trial's step as code generated for its topology: the forward pass and the partials update
of the fast single-trial loop (single.py), rows and cells of one step vectorised.

Why generated code: one trial's step has only a handful of rows (8 on the adding net). Written as
loops over runtime sizes (the previous single.py), the step ran at 4.7 M steps/s on adding T=100,
below the C library-exp reference loop of before (5.2): LLVM gets tiny loops of unknown length
and overlap checks between arrays, and mostly leaves them scalar. Generated for the topology, the
sources are written out (their values sit in registers) and what is left are loops with literal
trip counts whose bodies are one row's whole net input and logistic (or one partial's whole update
over the sources); those vectorise: the 8 rows' exps are computed together, the cells' h
together. Two conditions, each measured: all the step's arrays live in ONE flat buffer,
FastScratch.Z (see `layout`), indexed with literal offsets, so that LLVM can see which elements
each loop reads and writes (the same code on separate arrays was no faster than the loops); and
the generated functions are inlined into the step loop (as calls: 6.5 instead of 8.6 M steps/s,
side by side on a loaded machine). The named FastScratch arrays (WT, PT, a, s, ...) are views of
Z, so the rarely run code (errors at target steps, traces, updates) reads and writes the same
memory as plain loops, unchanged.

The arithmetic is the reference step (kernel.run_sequence) term by term: each row's net input
starts at 0.0 and adds W[r, d] * a[d] in source order; every unit uses `logistic.logistic`; the
partials get u_c * a_d added once per step. The results are the same bits (tests/test_fast.py).

`forward(spec, Z, W_o)` (returns 0.0, or nan if an output or a cell state is not finite),
`partials(spec, Z)` and `shift(spec, Z)` (activations -> next step's sources) are compiled per
topology: `spec` is `unrolled.make_spec(net, 1)` (sizes held by its type), so each topology is
its own Numba type and gets its own generated implementation, cached like any other kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import overload

from .unrolled import UNROLL_MAX_SOURCES, _blocks, _dims_from_type, build

# Big nets (loops over the sources): this many output sums advance side by side in one loop over
# the sources. One sum at a time waits on its own additions (each needs the previous one's
# result): Exp. 2a's one-trial loop (101 output sums of 103 terms) ran at 0.10 M steps/s that
# way, at 0.21 with 8 side by side (alternating runs, 2026-11-26). Each sum keeps its order.
OUTPUT_CHAINS = 8


def _sizes(dims):
    n_in, sizes, H = dims["n_in"], dims["sizes"], dims["H"]
    Nc, C = sum(sizes), len(sizes)
    return n_in, Nc, C, H, dims["K"], n_in + Nc + 2 * C + H + 1, Nc + 2 * C + H


def layout(dims: dict) -> dict:
    """Offset and shape of every array of the step in the flat buffer FastScratch.Z."""
    n_in, Nc, C, H, K, D, R = _sizes(dims)
    shapes = (("WT", (D, R)), ("a", (D,)), ("b", (n_in + Nc + H + 1,)), ("nt", (R,)),
              ("f", (R,)), ("s", (Nc,)), ("gc", (Nc,)), ("gp", (Nc,)), ("hs", (Nc,)),
              ("hp", (Nc,)), ("yc", (Nc,)), ("yin", (C,)), ("fin", (C,)), ("yout", (C,)),
              ("fout", (C,)), ("yh", (H,)), ("fh", (H,)), ("yk", (K,)), ("u", (2 * Nc,)),
              ("PT", (D, 2 * Nc)))
    out, pos = {}, 0
    for name, shape in shapes:
        out[name] = (pos, shape)
        pos += int(np.prod(shape))
    out["_total"] = (pos, ())
    return out


def _source_forward(dims) -> str:
    """def f(spec, Z, W_o): stages 1-3 of the step (net inputs, gates, cells, outputs)."""
    n_in, Nc, C, H, K, D, R = _sizes(dims)
    blk = _blocks(dims["sizes"])
    ly = layout(dims)
    z = lambda name, i: f"Z[{ly[name][0] + i}]"  # noqa: E731
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C
    out = ["def f(spec, Z, W_o):"]
    put = out.append
    unroll = D <= UNROLL_MAX_SOURCES
    if unroll:  # one loop over rows, the sources written out (their values in registers)
        for d in range(D - 1):
            put(f"    a{d} = {z('a', d)}")
        put(f"    a{D - 1} = 1.0")  # the bias source is 1.0 at every step (unrolled.py)
        put(f"    for r in range({R}):")
        put("        n = 0.0")
        for d in range(D):
            put(f"        n += Z[{ly['WT'][0] + d * R} + r] * a{d}")
        put(f"        Z[{ly['nt'][0]} + r] = n")
        put(f"        Z[{ly['f'][0]} + r] = logistic(n)")
    else:  # the same sums, sources outer, rows inner
        put(f"    for r in range({R}):")
        put(f"        Z[{ly['nt'][0]} + r] = 0.0")
        put(f"    for d in range({D}):")
        put(f"        ad = Z[{ly['a'][0]} + d]")
        put(f"        for r in range({R}):")
        put(f"            Z[{ly['nt'][0]} + r] += Z[{ly['WT'][0]} + d * {R} + r] * ad")
        put(f"    for r in range({R}):")
        put(f"        Z[{ly['f'][0]} + r] = logistic(Z[{ly['nt'][0]} + r])")
    for j in range(C):
        put(f"    yin{j} = {z('f', r_in + j)}")
        put(f"    {z('yin', j)} = yin{j}")
        put(f"    {z('fin', j)} = yin{j} * (1.0 - yin{j})")
        if dims["out_gates"]:
            put(f"    yout{j} = {z('f', r_out + j)}")
            put(f"    {z('yout', j)} = yout{j}")
            put(f"    {z('fout', j)} = yout{j} * (1.0 - yout{j})")
        else:  # yout / fout hold 1 / 0, set at the sequence start
            put(f"    yout{j} = 1.0")
    for c in range(Nc):
        put(f"    fc{c} = {z('f', c)}")
        if dims["g1"]:
            put(f"    {z('gc', c)} = fc{c}")
            put(f"    {z('gp', c)} = fc{c} * (1.0 - fc{c})")
        else:
            put(f"    {z('gc', c)} = 4.0 * fc{c} - 2.0")
            put(f"    {z('gp', c)} = 4.0 * fc{c} * (1.0 - fc{c})")
        # the constant error carousel
        put(f"    {z('s', c)} = {z('s', c)} + yin{blk[c]} * {z('gc', c)}")
    if dims["h_id"]:
        for c in range(Nc):
            put(f"    {z('hs', c)} = {z('s', c)}")
            put(f"    {z('hp', c)} = 1.0")
    elif Nc:
        put(f"    for c in range({Nc}):")  # the cells' h together
        put(f"        Z[{ly['hs'][0]} + c] = logistic(Z[{ly['s'][0]} + c])")
        for c in range(Nc):
            put(f"    fs{c} = {z('hs', c)}")
            put(f"    {z('hs', c)} = 2.0 * fs{c} - 1.0")
            put(f"    {z('hp', c)} = 2.0 * fs{c} * (1.0 - fs{c})")
    for c in range(Nc):
        put(f"    yc{c} = yout{blk[c]} * {z('hs', c)}")
        put(f"    {z('yc', c)} = yc{c}")
        put(f"    {z('b', n_in + c)} = yc{c}")
    for i in range(H):
        put(f"    yh{i} = {z('f', r_h + i)}")
        put(f"    {z('yh', i)} = yh{i}")
        put(f"    {z('fh', i)} = yh{i} * (1.0 - yh{i})")
        put(f"    {z('b', n_in + Nc + i)} = yh{i}")
    bvals = [f"a{m}" for m in range(n_in)] + [f"yc{c}" for c in range(Nc)] + \
        [f"yh{i}" for i in range(H)] + ["1.0"]
    for k in range(K):
        put(f"    o{k} = 0.0")
        if unroll:
            for d, v in enumerate(bvals):
                put(f"    o{k} += W_o[{k}, {d}] * {v}")
    if not unroll:  # b holds the same values (inputs set by the caller, 1.0 at the sequence start)
        for k0 in range(0, K, OUTPUT_CHAINS):  # OUTPUT_CHAINS independent sums per pass
            put(f"    for d in range({len(bvals)}):")
            put(f"        bd = Z[{ly['b'][0]} + d]")
            for k in range(k0, min(K, k0 + OUTPUT_CHAINS)):
                put(f"        o{k} += W_o[{k}, d] * bd")
    for k in range(K):
        put(f"    {z('yk', k)} = logistic(o{k})")
    # 0.0 when every output and cell state is finite, nan otherwise (x - x is nan for inf and nan)
    terms = [f"({z('yk', k)} - {z('yk', k)})" for k in range(K)] + \
        [f"({z('s', c)} - {z('s', c)})" for c in range(Nc)]
    put("    return " + (" + ".join(terms) if terms else "0.0"))
    return "\n".join(out) + "\n"


def _source_shift(dims) -> str:
    """def f(spec, Z): this step's activations become the next step's sources."""
    n_in, Nc, C, H, K, D, R = _sizes(dims)
    ly = layout(dims)
    z = lambda name, i: f"Z[{ly[name][0] + i}]"  # noqa: E731
    a_c, a_in, a_out, a_h = n_in, n_in + Nc, n_in + Nc + C, n_in + Nc + 2 * C
    out = ["def f(spec, Z):"]
    put = out.append
    for c in range(Nc):
        put(f"    {z('a', a_c + c)} = {z('yc', c)}")
    for j in range(C):
        put(f"    {z('a', a_in + j)} = {z('yin', j)}")
        put(f"    {z('a', a_out + j)} = {z('yout', j)}" if dims["out_gates"]
            else f"    {z('a', a_out + j)} = 0.0")
    for i in range(H):
        put(f"    {z('a', a_h + i)} = {z('yh', i)}")
    put("    return 0")
    return "\n".join(out) + "\n"


def _source_partials(dims) -> str:
    """def f(spec, Z): P += u a^T (eqs. 25, 27), PT's columns [cell inputs | input gates]."""
    n_in, Nc, C, H, K, D, R = _sizes(dims)
    blk = _blocks(dims["sizes"])
    ly = layout(dims)
    z = lambda name, i: f"Z[{ly[name][0] + i}]"  # noqa: E731
    out = ["def f(spec, Z):"]
    put = out.append
    for c in range(Nc):  # u_c = g'(net_c) y_in, u_in = g(net_c) f'(net_in)
        put(f"    {z('u', c)} = {z('gp', c)} * {z('yin', blk[c])}")
        put(f"    {z('u', Nc + c)} = {z('gc', c)} * {z('fin', blk[c])}")
    if D <= UNROLL_MAX_SOURCES:
        for d in range(D - 1):
            put(f"    a{d} = {z('a', d)}")
        put(f"    a{D - 1} = 1.0")
        put(f"    for c in range({2 * Nc}):")
        put(f"        uc = Z[{ly['u'][0]} + c]")
        for d in range(D):
            put(f"        Z[{ly['PT'][0] + d * 2 * Nc} + c] += uc * a{d}")
    else:
        put(f"    for d in range({D}):")
        put(f"        ad = Z[{ly['a'][0]} + d]")
        put(f"        for c in range({2 * Nc}):")
        put(f"            Z[{ly['PT'][0]} + d * {2 * Nc} + c] += Z[{ly['u'][0]} + c] * ad")
    return "\n".join(out) + "\n"


_SOURCES = {"forward": _source_forward, "partials": _source_partials, "shift": _source_shift}
_CALLING = {}


def _compile(kind: str, spec_type):
    f = build("step_code", _SOURCES, kind, spec_type, wide=False)
    if _sizes(_dims_from_type(spec_type))[5] <= UNROLL_MAX_SOURCES:
        return f
    # big nets: the overloads inline only a call (inlining the whole step's IR took Numba over
    # 5 minutes on Exp. 2a), the step itself is compiled on its own
    if f not in _CALLING:
        _CALLING[f] = _calling(njit(error_model="numpy")(f), kind)
    return _CALLING[f]


def _calling(kernel, kind):
    if kind == "forward":
        return lambda spec, Z, W_o: kernel(spec, Z, W_o)
    return lambda spec, Z: kernel(spec, Z)


def forward(spec, Z, W_o):
    raise NotImplementedError("compiled only (numba)")


def partials(spec, Z):
    raise NotImplementedError("compiled only (numba)")


def shift(spec, Z):
    raise NotImplementedError("compiled only (numba)")


# error_model="numpy": IEEE division without Python's zero-divisor check, whose branch would stop
# the vectoriser (1 + e^-x is never 0: the same results)
# inline="always": Numba inlines the generated IR into the step loop (see the module doc)
_OPTS = dict(jit_options={"error_model": "numpy"}, inline="always")


@overload(forward, **_OPTS)
def _ol_forward(spec, Z, W_o):
    return _compile("forward", spec)


@overload(partials, **_OPTS)
def _ol_partials(spec, Z):
    return _compile("partials", spec)


@overload(shift, **_OPTS)
def _ol_shift(spec, Z):
    return _compile("shift", spec)
