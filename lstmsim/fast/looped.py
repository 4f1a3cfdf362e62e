"""The lane step of unrolled.py for nets with many sources: the same arithmetic, the sums looped.

Why a second form: unrolled.py writes every term of every sum out, so its code grows like
(rows x sources): for Exp. 2a's net (105 sources, 101 output units) that is ~11,000 lines in one
loop body, and compiling the lane kernel took 7-12 minutes. Here only the units are written out;
each sum is a loop over its sources, and the code grows like (rows + output units + cells): the
lane kernel for 2a compiles in ~70 s, for Exp. 2c at p = 1000 (1,011 sources) in ~30 s. The
innermost loops still run over the lanes and vectorise across them (see _lane_loop); the running
sums live in rows of Z (`net`, `out`, `u` in unrolled.layout) instead of registers.

What that costs (8 lanes against one trial alone, /tmp scratch measurements of 2026-11-26): Exp.
2c at p = 50, 1.62 x (the written-out form: 1.77-1.97 x); p = 100, 1.80 x; p = 1000, 1.63 x.
Exp. 2a, 1.02 x, then 0.49 x once the one-trial loop summed its outputs side by side
(step_code.OUTPUT_CHAINS): its 101 outputs have targets at every step, so each lane's backward
pass and output-weight update (scalar, per lane, strided across lanes) dominate; sweeps with
lanes=auto run such nets' trials alone (sweep_plan.LANES_MAX_OUTPUT_WEIGHTS).

Same bits as the reference: each sum starts at 0.0 and adds its terms in source order (the order
of the loop over sources), each unit uses `logistic.logistic`, each partial gets u_c * a_d once per
step (tests/test_fast.py runs Exp. 2a's net and a 36-source adding net through this form).
"""

from __future__ import annotations

from .unrolled import _blocks, layout, units


# Rows summed per loop over the sources. Exp. 2a's tick (8 lanes; 101 output rows, 103 sources):
# 26 us with 4 rows per loop, 18 with 8, 27 with 16 (then the loop over the lanes stays scalar)
ROWS_PER_LOOP = 8


def _sums(put, NL, acc, w, src, n_rows, n_src):
    """acc[r] = sum over d of w[r, d] * src[d] in source order from 0.0; acc, w and src are row
    numbers in Z (see unrolled.layout)."""
    for lo in range(0, n_rows, ROWS_PER_LOOP):
        rows = range(lo, min(n_rows, lo + ROWS_PER_LOOP))
        put(f"    for l in range({NL}):")
        for r in rows:
            put(f"        Z[{(acc + r) * NL} + l] = 0.0")
        _lane_loop(put, NL, n_src, f"Z[{src * NL} + d * {NL} + l]",
                   [f"Z[{(acc + r) * NL} + l]" for r in rows],
                   [f"Z[{(w + r * n_src) * NL} + d * {NL} + l]" for r in rows])


def _lane_loop(put, NL, n, x, targets, factors):
    """for d in range(n): targets[r] += factors[r] * x, for every lane l.

    The loop over the lanes runs to a count LLVM does not know (nl = NL, read from Z's size once
    per generated function) on purpose: with a literal count it unrolls that short loop first, and
    the unrolled lanes stay
    scalar because it cannot prove that a store (whose index varies with d, or not at all) misses
    the other lanes' loads. Left a loop, it is vectorised across the lanes behind one run-time
    overlap check per d; ROWS_PER_LOOP rows share that check."""
    put(f"    for d in range({n}):")
    put("        for l in range(nl):")
    put(f"            x = {x}")
    for t, f in zip(targets, factors):
        put(f"            {t} += {f} * x")


def _rows(dims):
    ly = layout(dims)
    NL = dims["NL"]
    z = lambda name, i: f"Z[{(ly[name] + i) * NL} + l]"  # noqa: E731  (row `name` + i, lane l)
    return ly, NL, z


def source_tick(dims) -> str:
    """def f(spec, Z): the forward step of every lane (kernel.run_sequence, stages 1-3)."""
    ly, NL, z = _rows(dims)
    n_in, H, K = dims["n_in"], dims["H"], dims["K"]
    Nc, D, R, Do = ly["Nc"], ly["D"], ly["R"], ly["Do"]
    out = ["def f(spec, Z):"]
    put = out.append
    # net inputs: net[r] = 0.0, then += W[r, d] * a[d] for d in source order
    put(f"    nl = Z.size // {ly['_total']}")  # = NL, unknown to LLVM (see _lane_loop)
    _sums(put, NL, ly["net"], ly["W"], ly["A"], R, D)
    # gates, cells, hidden units: as unrolled.py, one line each
    put(f"    for l in range({NL}):")
    body = "        "
    units(lambda line: put(body + line), dims, z, lambda r: z("net", r))
    for c in range(Nc):
        put(f"{body}{z('B', n_in + c)} = yc{c}")
    for i in range(H):
        put(f"{body}{z('B', n_in + Nc + i)} = yh{i}")
    put(f"{body}{z('B', Do - 1)} = 1.0")
    # the output layer's sources b = (inputs, cell outputs, hidden units, 1): the inputs copied
    put(f"    for m in range({n_in}):")
    put(f"        for l in range({NL}):")
    put(f"            Z[{ly['B'] * NL} + m * {NL} + l] = Z[{ly['A'] * NL} + m * {NL} + l]")
    # output net inputs, each summed in source order from 0.0
    _sums(put, NL, ly["out"], ly["Wo"], ly["B"], K, Do)
    put(f"    for l in range({NL}):")
    # 0.0 when every output and cell state is finite, nan otherwise (x - x is nan for inf and nan)
    put(f"{body}bad = 0.0")
    for c in range(Nc):
        put(f"{body}bad += {z('S', c)} - {z('S', c)}")
    for k in range(K):
        put(f"{body}yk{k} = logistic({z('out', k)})")
        put(f"{body}{z('yk', k)} = yk{k}")
        put(f"{body}bad += yk{k} - yk{k}")
    put(f"{body}{z('bad', 0)} = bad")
    return "\n".join(out) + "\n"


def source_partials(dims) -> str:
    """def f(spec, Z): P += u a^T for every lane (eqs. 25, 27), after the forward step."""
    ly, NL, z = _rows(dims)
    Nc, D = ly["Nc"], ly["D"]
    blk = _blocks(dims["sizes"])
    out = ["def f(spec, Z):", f"    for l in range({NL}):"]
    put = out.append
    for c in range(Nc):  # u_c = g'(net_c) y_in, u_in = g(net_c) f'(net_in)
        put(f"        {z('u', c)} = {z('gp', c)} * {z('yin', blk[c])}")
        put(f"        {z('u', Nc + c)} = {z('gc', c)} * {z('fin', blk[c])}")
    put(f"    nl = Z.size // {ly['_total']}")  # = NL, unknown to LLVM (see _lane_loop)
    for lo in range(0, 2 * Nc, ROWS_PER_LOOP):
        rows = range(lo, min(2 * Nc, lo + ROWS_PER_LOOP))
        _lane_loop(put, NL, D, f"Z[{ly['A'] * NL} + d * {NL} + l]",
                   [f"Z[{(ly['P'] + c * D) * NL} + d * {NL} + l]" for c in rows],
                   [f"Z[{(ly['u'] + c) * NL} + l]" for c in rows])
    return "\n".join(out) + "\n"
