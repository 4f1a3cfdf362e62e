"""The backward pass of every lane at a target step, vectorised across the lanes (lanes.py).

Why: on nets with a target at every step (the Reber grammar, Exps. 2a and 2b), every lane needs
its backward pass at every tick. Done one lane at a time (lane_steps._backward_lane), each pass
reads and writes the lane's elements of the [row, source, lane] arrays with a stride of the lane
count: scalar code, and 8 lanes of the Reber net ran at 0.66 x one trial alone. Here every loop
has the lanes innermost, like the generated step, so each line works on all lanes at once: 8
lanes of the Reber net now run at 1.4 x one trial (2.5 against 1.2 M steps/s before, with
lane_steps' cheaper apply and reset; 2026-11-26), and Exp. 2a's at 0.84-0.89 x instead of 0.49 x.

Lanes that have no backward pass at this tick (no target, inactive, padding) compute alongside and
keep their old values: every changed element is written as `v + x if lane else v`, a select, so
their summed changes are not touched at all (adding 0.0 would turn -0.0 into +0.0). For the
others, each element gets the terms of lane_steps._backward_lane (kernel._backward) in the same
order, so the results are the same bits (tests/test_fast.py, the lanes-equal-alone cases).
"""

from __future__ import annotations

from numba import njit

# A tick's backward passes are vectorised when at least this many lanes need one: for nets whose
# step is written out (unrolled.py), even one lane's (on the adding problem, lanes reach their
# target steps at different ticks). Timed alone, the two cost about the same (adding T=100, one
# lane's pass 218 ns against 232 for the written-out pass of all 8 lanes, 2026-11-26), but in the
# lane loop the vectorised pass was faster: 8 lanes 27.62 -> 28.86 M steps/s (means of best-of-5
# in 4 alternating rounds, each faster, 2026-11-27; most likely because the per-lane pass's
# scalar reads and writes of rows the vector code has just stored, or is about to load, wait for
# each other: no counters here to show it). Nets of many sources (looped.py: Exp. 2c) keep the
# per-lane pass for a lone lane, where the looped pass of all lanes does 8 times its work; not
# measured there.
BACKWARD_VECTOR_MIN_UNROLLED = 1
BACKWARD_VECTOR_MIN_LOOPED = 2

# LaneState.need: what a lane's learning needs at this tick, after its judging (lanes._run)
NEED_LEARN = 1  # its updates only (update=delayed applies at step 0)
NEED_BACKWARD = 2  # a backward pass (a target step), then its updates


# error_model="numpy": no zero-divisor checks (there are no divisions; it keeps the loops plain)
@njit(cache=True, error_model="numpy", _nrt=False)
def backward_lanes(net, st):
    """kernel._backward for every lane l with on[0, l] == 1.0, written as loops (nets of more than
    UNROLL_MAX_SOURCES sources). On entry ek[k, l] holds lane l's target for output k at its
    current step (its error replaces it)."""
    blk = net.blk
    n_in, Nc, C, H, K = net.n_in, net.n_cells, net.n_blocks, net.n_hidden, net.n_out
    D, Do, NL = st.W.shape[1], st.Wo.shape[1], st.on.shape[1]
    Wo, a, b, yk, ek, dc, es, acc, on = st.Wo, st.a, st.b, st.yk, st.ek, st.dc, st.es, st.acc, st.on
    dW, dWo, P = st.dW, st.dWo, st.P
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C
    for k in range(K):
        for l in range(NL):
            y = yk[k, l]
            ek[k, l] = y * (1.0 - y) * (ek[k, l] - y)
        for d in range(Do):
            for l in range(NL):
                v = dWo[k, d, l]
                dWo[k, d, l] = v + ek[k, l] * b[d, l] if on[0, l] != 0.0 else v
    for c in range(Nc):
        for l in range(NL):
            dc[c, l] = 0.0
        for k in range(K):
            for l in range(NL):
                dc[c, l] += Wo[k, n_in + c, l] * ek[k, l]
        for l in range(NL):
            es[c, l] = st.yout[blk[c], l] * st.hp[c, l] * dc[c, l]
    if net.out_gates == 1:
        for j in range(C):
            for l in range(NL):
                acc[l] = 0.0
            for c in range(Nc):
                if blk[c] == j:
                    for l in range(NL):
                        acc[l] += st.hs[c, l] * dc[c, l]
            for l in range(NL):
                acc[l] = st.fout[j, l] * acc[l]
            _add_outer(dW, r_out + j, acc, a, on)
    for i in range(H):
        for l in range(NL):
            acc[l] = 0.0
        for k in range(K):
            for l in range(NL):
                acc[l] += Wo[k, n_in + Nc + i, l] * ek[k, l]
        for l in range(NL):
            acc[l] = st.fh[i, l] * acc[l]
        _add_outer(dW, r_h + i, acc, a, on)
    for c in range(Nc):
        j = blk[c]
        for d in range(D):
            for l in range(NL):
                sel = on[0, l] != 0.0
                v = dW[c, d, l]
                dW[c, d, l] = v + es[c, l] * P[c, d, l] if sel else v
                v = dW[r_in + j, d, l]
                dW[r_in + j, d, l] = v + es[c, l] * P[Nc + c, d, l] if sel else v


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _add_outer(dW, r, e, a, on):
    """dW[r, d] += e * a[d] for the lanes that are on."""
    for d in range(dW.shape[1]):
        for l in range(on.shape[1]):
            v = dW[r, d, l]
            dW[r, d, l] = v + e[l] * a[d, l] if on[0, l] != 0.0 else v


def source_backward(dims) -> str:
    """def f(spec, Z): backward_lanes as straight-line code over Z's rows (unrolled.py),
    for nets of up to UNROLL_MAX_SOURCES sources. backward_lanes' loops over the lanes have a
    run-time trip count and separate arrays, so each of its few hundred short loops pays an
    overlap check and a scalar remainder (Reber net, 8 lanes: 1.6 microseconds a tick, three
    times the step, against 0.5 written out); here, as in the generated step, one loop over a
    literal lane count holds every line."""
    from .unrolled import _blocks, layout

    ly = layout(dims)
    n_in, H, K, NL = dims["n_in"], dims["H"], dims["K"], dims["NL"]
    Nc, C, D, Do = ly["Nc"], ly["C"], ly["D"], ly["Do"]
    blk = _blocks(dims["sizes"])
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C
    z = lambda name, i: f"Z[{(ly[name] + i) * NL} + l]"  # noqa: E731
    out = ["def f(spec, Z):", f"    for l in range({NL}):"]
    put = lambda s: out.append("        " + s)  # noqa: E731

    def add(row, term):  # dW or dWo element += term, for the lanes that are on
        put(f"v = {row}")
        put(f"{row} = v + {term} if sel else v")

    put(f"sel = {z('on', 0)} != 0.0")
    for k in range(K):
        put(f"y = {z('yk', k)}")
        put(f"e{k} = y * (1.0 - y) * ({z('ek', k)} - y)")
        put(f"{z('ek', k)} = e{k}")
        for d in range(Do):
            add(z("dWo", k * Do + d), f"e{k} * {z('B', d)}")
    for d in range(D):
        put(f"a{d} = {z('A', d)}")
    for c in range(Nc):
        put("acc = 0.0")
        for k in range(K):
            put(f"acc += {z('Wo', k * Do + n_in + c)} * e{k}")
        put(f"dc{c} = acc")
        put(f"es{c} = {z('yout', blk[c])} * {z('hp', c)} * acc")
    if dims["out_gates"]:
        for j in range(C):
            put("acc = 0.0")
            for c in range(Nc):
                if blk[c] == j:
                    put(f"acc += {z('hs', c)} * dc{c}")
            put(f"eo = {z('fout', j)} * acc")
            for d in range(D):
                add(z("dW", (r_out + j) * D + d), f"eo * a{d}")
    for i in range(H):
        put("acc = 0.0")
        for k in range(K):
            put(f"acc += {z('Wo', k * Do + n_in + Nc + i)} * e{k}")
        put(f"eh = {z('fh', i)} * acc")
        for d in range(D):
            add(z("dW", (r_h + i) * D + d), f"eh * a{d}")
    for c in range(Nc):
        j = blk[c]
        for d in range(D):
            add(z("dW", c * D + d), f"es{c} * {z('P', c * D + d)}")
            add(z("dW", (r_in + j) * D + d), f"es{c} * {z('P', (Nc + c) * D + d)}")
    return "\n".join(out) + "\n"


def compile_backward(spec_type):
    """The implementation of unrolled.backward for this topology: written out, or the loops.

    A wrapper that the caller inlines (unrolled.backward is overloaded with inline="always"), so
    that the written-out pass, a function of Z alone, is called with Z alone: Numba passes a
    call's arguments as their flattened fields, and the LaneState and the net are hundreds of
    words, copied at every call (on nets with targets at every step, at every tick)."""
    from .unrolled import UNROLL_MAX_SOURCES, _dims_from_type, backward_written, layout

    if layout(_dims_from_type(spec_type))["D"] > UNROLL_MAX_SOURCES:
        def loops(spec, Z, net, st):
            backward_lanes(net, st)
        return loops

    def written(spec, Z, net, st):
        backward_written(spec, Z)
    return written


def compile_written(spec_type):
    """The implementation of unrolled.backward_written: source_backward for this topology."""
    from .unrolled import build

    return build("unrolled", {"backward": source_backward}, "backward", spec_type)
