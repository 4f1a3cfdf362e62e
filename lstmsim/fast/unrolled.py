"""The 1997 step's per-tick arithmetic as straight-line code for one topology and lane count.

Why generated code: with the sizes of the network known when the code is compiled, every loop over
units and sources disappears, every intermediate value stays in a register, and what is left is a
single loop over lanes whose body is the whole forward step (or the whole partials update) of one
lane. LLVM vectorises that loop across lanes (each lane one SIMD slot) without fast-math, because
the body has no reduction across lanes; with one lane it is plain scalar code with no loop
overhead at all. Written as generic loops over runtime sizes, the same arithmetic either stayed
scalar (the small constant lane loops were unrolled before the vectoriser ran, and the unrolled
stores could alias the loads) or paid an overlap check and loop set-up for every row and source.

All lane state the tick touches lives in ONE flat array Z: row `k` of the layout (see `layout`)
holds that quantity for every lane at Z[k * NL + lane], NL the (padded) lane count. The generated
code indexes Z with literal offsets, so LLVM can prove that the lanes of one iteration never touch
another iteration's elements and needs no runtime overlap checks. `lanes.LaneState` exposes the
same memory as named (rows..., NL) views for the rarely run per-lane code.

The arithmetic is the reference step (kernel.run_sequence) written out term by term: each sum
starts at 0.0 and adds its terms in the reference order, each unit uses `logistic.logistic`, so the
results are the same bits (tests/test_fast.py).

`tick(spec, Z)`, `partials(spec, Z)` and `shift(spec, Z)` (and `step(spec, Z)`, the three in one
body, for the quiet ticks of lanes._run) are compiled per topology: `spec` is a tuple of tuples
whose type holds the sizes (see `make_spec`), so each topology and lane count is its own Numba
type and gets its own generated implementation (cached like any other kernel).
Nets with more than UNROLL_MAX_SOURCES sources get looped.py's code for the tick and the partials
instead: written out, their sums made the code too long to compile in reasonable time.
"""

from __future__ import annotations

from numba import types
from numba.extending import overload

from ..logistic import logistic
from .vector_width import prefer_wide_vectors

# Nets with more sources than this (Exps. 2a-2c: 100 and more input lines) get loops over the
# sources instead of written-out sums, in the lane step (looped.py) and in one trial's step
# (step_code.py): Numba's compile time grows steeply with the length of a function (3 minutes and
# 2.5 GB for one trial's step of Exp. 2a written out, 7-12 minutes for its lane step), and their
# steps are long anyway, so the loops cost little.
UNROLL_MAX_SOURCES = 32


def _size(n: int) -> tuple:
    """n as a small tuple type: one tuple per decimal digit, of that digit's length, made of empty
    tuples (1004 -> (((),), (), (), ((), (), (), ()))). Not a tuple of length n: Numba passes the
    spec by value through every function of the kernels, and LLVM's compile time grew steeply with
    such long tuples (the lane kernel for Exp. 2c at p = 1000, 1,004 inputs: 282 s with a tuple of
    length n, 36 s with this; the one-trial kernel of Exp. 2a: ~70 s, then 44-51 s). Of empty
    tuples, not of zeros: an empty tuple has no bytes, so only the type is passed. With zeros, every
    call of the generated step copied 15 words of them onto the stack (adding, 8 lanes: 18 words
    pushed per quiet tick's call, 3 now; 2026-11-27)."""
    return tuple(((),) * int(d) for d in str(int(n)))


def _read_size(t) -> int:
    """The n of _size(n), from the tuple or from its Numba type."""
    digits = t.types if isinstance(t, types.BaseTuple) else t
    return int("".join(str(_count(d)) for d in digits))


def make_spec(net, n_lanes: int) -> tuple:
    """The compile-time description of a topology and a lane count, as a tuple whose type holds
    the sizes (see _size): inputs, each block's cells, hidden units, outputs, output gates (0/1),
    g and h kinds (0/1), lanes."""
    blk = [int(b) for b in net.blk]
    sizes = [blk.count(j) for j in range(net.n_blocks)]
    return (_size(net.n_in), tuple(_size(s) for s in sizes), _size(net.n_hidden),
            _size(net.n_out), _size(net.out_gates), _size(net.g_kind), _size(net.h_kind),
            _size(n_lanes))


def _count(t) -> int:
    if isinstance(t, tuple):
        return len(t)
    return t.count if isinstance(t, types.UniTuple) else len(t.types)


def _dims(parts) -> dict:
    n_in, blocks, H, K, out_gates, g1, h_id, NL = parts
    return dict(n_in=_read_size(n_in), sizes=[_read_size(b) for b in blocks], H=_read_size(H),
                K=_read_size(K), out_gates=_read_size(out_gates), g1=_read_size(g1),
                h_id=_read_size(h_id), NL=_read_size(NL))


def _dims_from_type(spec):
    ts = spec.types
    blocks = ts[1].types if isinstance(ts[1], types.BaseTuple) else ()
    return _dims(ts[:1] + (blocks,) + ts[2:])


def dims_from_spec(spec):
    return _dims(spec)


def layout(dims: dict) -> dict:
    """Row offsets of every quantity in Z (a row = one value per lane)."""
    n_in, sizes, H, K = dims["n_in"], dims["sizes"], dims["H"], dims["K"]
    Nc, C = sum(sizes), len(sizes)
    D = n_in + Nc + 2 * C + H + 1
    R = Nc + 2 * C + H
    Do = n_in + Nc + H + 1
    rows = {}
    pos = 0
    for name, n in (("W", R * D), ("Wo", K * Do), ("A", D), ("B", Do), ("S", Nc),
                    ("P", 2 * Nc * D), ("yin", C), ("fin", C), ("yout", C), ("fout", C),
                    ("gc", Nc), ("gp", Nc), ("hs", Nc), ("hp", Nc), ("yc", Nc), ("yh", H),
                    ("fh", H), ("yk", K), ("bad", 1),
                    ("net", R), ("out", K), ("u", 2 * Nc),  # running sums of looped.py
                    ("dW", R * D), ("dWo", K * Do), ("ek", K), ("on", 1)):  # lane_backward.py
        rows[name] = pos
        pos += n
    rows["_total"] = pos
    rows.update(D=D, R=R, Do=Do, Nc=Nc, C=C)
    return rows


def _blocks(sizes):
    blk = []
    for j, n in enumerate(sizes):
        blk += [j] * n
    return blk


# The rows the quiet step stores (see _source_step): the cell states, and the divergence flag
QUIET_ROWS = frozenset(("S", "bad"))


def units(put, dims, z, net, rows=None):
    """Lines (for inside a loop over lanes l) that compute every gate, cell and hidden unit of one
    lane from its net inputs `net(r)` (an expression per row r), each as a local (yin{j}, fin{j},
    yout{j}, fout{j}, gc{c}, gp{c}, s{c}, hs{c}, hp{c}, yc{c}, yh{i}, fh{i}), and store them in
    Z's rows: all of them, or only those named in `rows`. Shared by both forms of the lane step
    (this module and looped.py)."""
    Nc, C = sum(dims["sizes"]), len(dims["sizes"])
    blk = _blocks(dims["sizes"])
    r_in, r_out, r_h = Nc, Nc + C, Nc + 2 * C

    def let(name, i, expr):  # the local name{i} = expr, stored in row `name` unless left out
        put(f"{name}{i} = {expr}")
        if rows is None or name in rows:
            put(f"{z(name, i)} = {name}{i}")

    for j in range(C):
        put(f"y = logistic({net(r_in + j)})")
        let("yin", j, "y")
        let("fin", j, f"yin{j} * (1.0 - yin{j})")
        if dims["out_gates"]:
            put(f"y = logistic({net(r_out + j)})")
            let("yout", j, "y")
            let("fout", j, f"yout{j} * (1.0 - yout{j})")
        else:
            let("yout", j, "1.0")
            let("fout", j, "0.0")
    for c in range(Nc):
        j = blk[c]
        put(f"fc{c} = logistic({net(c)})")
        if dims["g1"]:
            let("gc", c, f"fc{c}")
            let("gp", c, f"fc{c} * (1.0 - fc{c})")
        else:
            let("gc", c, f"4.0 * fc{c} - 2.0")
            let("gp", c, f"4.0 * fc{c} * (1.0 - fc{c})")
        put(f"s{c} = {z('S', c)} + yin{j} * gc{c}")  # the constant error carousel
        put(f"{z('S', c)} = s{c}")
        if dims["h_id"]:
            let("hs", c, f"s{c}")
            let("hp", c, "1.0")
        else:
            put(f"fs{c} = logistic(s{c})")
            let("hs", c, f"2.0 * fs{c} - 1.0")
            let("hp", c, f"2.0 * fs{c} * (1.0 - fs{c})")
        let("yc", c, f"yout{j} * hs{c}")
    for i in range(dims["H"]):
        put(f"y = logistic({net(r_h + i)})")
        let("yh", i, "y")
        let("fh", i, f"yh{i} * (1.0 - yh{i})")


def _source_tick(dims, quiet=False) -> str:
    """def f(spec, Z): the forward step of every lane (kernel.run_sequence, stages 1-3).

    quiet=True, the first part of the quiet step (see _source_step): only the cell states and
    the divergence flag are stored (QUIET_ROWS), the rest stays in locals for the partials and the
    shift; and the output units' net inputs are summed but their logistic is not taken. Nothing
    reads those rows or yk after a quiet tick (judging, backward passes and trace rows run at full
    ticks, which compute them all), and the divergence test needs no logistic: yk = logistic(o)
    is nan exactly when o is (logistic(+-inf) is 1 or 0)."""
    ly = layout(dims)
    n_in, H, K, NL = dims["n_in"], dims["H"], dims["K"], dims["NL"]
    Nc, D, R, Do = ly["Nc"], ly["D"], ly["R"], ly["Do"]
    z = lambda name, i: f"Z[{(ly[name] + i) * NL} + l]"  # noqa: E731
    out = ["def f(spec, Z):", f"    for l in range({NL}):"]
    put = lambda s: out.append("        " + s)  # noqa: E731
    for d in range(D - 1):
        put(f"a{d} = {z('A', d)}")
    # the bias source is 1.0 at every step (set at each sequence start, never shifted): as a
    # literal, LLVM drops its multiplications (w * 1.0 is exactly w): 8 of ~290 on adding
    put(f"a{D - 1} = 1.0")
    for r in range(R):  # net inputs, each summed in source order from 0.0
        put(f"n{r} = 0.0")
        for d in range(D):
            put(f"n{r} += {z('W', r * D + d)} * a{d}")
    units(put, dims, z, lambda r: f"n{r}", QUIET_ROWS if quiet else None)
    bvals = [f"a{m}" for m in range(n_in)] + [f"yc{c}" for c in range(Nc)] + \
        [f"yh{i}" for i in range(H)] + ["1.0"]
    for d, v in enumerate(bvals):
        if not quiet:
            put(f"{z('B', d)} = {v}")
    for k in range(K):
        put(f"o{k} = 0.0")
        for d, v in enumerate(bvals):
            put(f"o{k} += {z('Wo', k * Do + d)} * {v}")
        if not quiet:
            put(f"yk{k} = logistic(o{k})")
            put(f"{z('yk', k)} = yk{k}")
        else:  # 0.0, or nan where yk would be nan (o == o is false only for nan)
            put(f"yk{k} = 0.0 if o{k} == o{k} else o{k}")
    # 0.0 when every output and cell state is finite, nan otherwise (x - x is nan for inf and nan)
    terms = [f"(yk{k} - yk{k})" for k in range(K)] + [f"(s{c} - s{c})" for c in range(Nc)]
    put(f"{z('bad', 0)} = " + (" + ".join(terms) if terms else "0.0"))
    return "\n".join(out) + "\n"


def _source_partials(dims, quiet=False) -> str:
    """def f(spec, Z): P += u a^T for every lane (eqs. 25, 27), after the forward step.
    quiet=True: its factors from the tick's locals (in the quiet step's one body)."""
    ly = layout(dims)
    NL = dims["NL"]
    Nc, D = ly["Nc"], ly["D"]
    blk = _blocks(dims["sizes"])
    z = lambda name, i: f"Z[{(ly[name] + i) * NL} + l]"  # noqa: E731
    out = ["def f(spec, Z):", f"    for l in range({NL}):"]
    put = lambda s: out.append("        " + s)  # noqa: E731
    for d in range(D - 1):
        put(f"a{d} = {z('A', d)}")
    put(f"a{D - 1} = 1.0")
    for c in range(Nc):
        j = blk[c]
        if quiet:
            put(f"u{c} = gp{c} * yin{j}")
            put(f"v{c} = gc{c} * fin{j}")
        else:
            put(f"u{c} = {z('gp', c)} * {z('yin', j)}")
            put(f"v{c} = {z('gc', c)} * {z('fin', j)}")
    for c in range(Nc):
        for d in range(D):
            put(f"{z('P', c * D + d)} += u{c} * a{d}")
    for c in range(Nc):
        for d in range(D):
            put(f"{z('P', (Nc + c) * D + d)} += v{c} * a{d}")
    return "\n".join(out) + "\n"


def _source_shift(dims, quiet=False) -> str:
    """def f(spec, Z): this step's activations become the next step's sources.
    quiet=True: from the tick's locals (in the quiet step's one body)."""
    ly = layout(dims)
    n_in, H, NL = dims["n_in"], dims["H"], dims["NL"]
    Nc, C = ly["Nc"], ly["C"]
    z = lambda name, i: f"Z[{(ly[name] + i) * NL} + l]"  # noqa: E731
    y = (lambda name, i: f"{name}{i}") if quiet else z  # noqa: E731
    out = ["def f(spec, Z):", f"    for l in range({NL}):"]
    put = lambda s: out.append("        " + s)  # noqa: E731
    a_c, a_in, a_out, a_h = n_in, n_in + Nc, n_in + Nc + C, n_in + Nc + 2 * C
    for c in range(Nc):
        put(f"{z('A', a_c + c)} = {y('yc', c)}")
    for j in range(C):
        put(f"{z('A', a_in + j)} = {y('yin', j)}")
        put(f"{z('A', a_out + j)} = {y('yout', j)}" if dims["out_gates"]
            else f"{z('A', a_out + j)} = 0.0")
    for i in range(H):
        put(f"{z('A', a_h + i)} = {y('yh', i)}")
    if not (Nc or C or H):
        put("pass")
    return "\n".join(out) + "\n"


def _source_step(dims) -> str:
    """def f(spec, Z): tick, partials and shift in one loop over the lanes: a quiet tick of a
    learning run (lanes._run). In one body LLVM reuses the values the tick has in registers (the
    sources, the factors of the partials) where the partials and the shift would reload them from
    Z; the same operations in the same order, so the same bits. Measured on adding T=100, 8
    lanes: 19.10 -> 20.22 M steps/s (docs/speed.md).

    It does only what the next ticks need (quiet=True in each part): it stores the cell states,
    the partials, the next step's sources and the divergence flag, and leaves out the output
    units' logistic and the activations and derivatives that only a full tick's per-lane code
    reads (LLVM then drops the derivatives' arithmetic too). After a quiet tick those rows of Z
    are stale until the next full tick's `tick` computes them again (so lanes._run does not run
    `shift` after a quiet tick). Measured (2026-11-27, adding T=100, 8 lanes, best of 5 runs of
    20,000 sequences a lane, 4 alternating rounds): 20.78 M steps/s with the full tick's stores,
    21.42 without the output units' logistic, 22.38 without the stores."""
    parts = [_source_tick(dims, quiet=True), _source_partials(dims, quiet=True),
             _source_shift(dims, quiet=True)]
    lines = parts[0].splitlines()
    for part in parts[1:]:
        lines += part.splitlines()[2:]  # each body, without its def and lane-loop lines
    return "\n".join(lines) + "\n"


def _looped_step(spec, Z):
    """The same for nets with loops over the sources (looped.py): the three in turn."""
    tick(spec, Z)
    partials(spec, Z)
    shift(spec, Z)


_BUILT = {}


def build(label: str, sources: dict, kind: str, spec_type, names: dict | None = None,
          wide: bool = True):
    """The Python function generated by sources[kind](dims) for the topology of `spec_type`
    (made once per process; Numba compiles and caches it as the overload's implementation).
    Shared by this module's lane kernels and step_code's single-trial ones. The generated code
    sees `logistic` and `names`. wide: compiled for 512-bit vectors (vector_width.py; the lane
    kernels' loops over lanes), not for the one-trial code."""
    dims = _dims_from_type(spec_type)
    key = (label, kind, repr(dims))
    if key not in _BUILT:
        scope = {"logistic": logistic, "prefer_wide_vectors": prefer_wide_vectors,
                 **(names or {})}
        src = sources[kind](dims)
        if wide:  # its first statement (after the def line)
            head, body = src.split("\n", 1)
            src = f"{head}\n    prefer_wide_vectors()\n{body}"
        exec(compile(src, f"<lstmsim.fast.{label} {kind} {dims}>", "exec"), scope)
        _BUILT[key] = scope["f"]
    return _BUILT[key]


_SOURCES = {"tick": _source_tick, "partials": _source_partials, "shift": _source_shift,
            "step": _source_step}


def _compile(kind: str, spec_type):
    from . import looped  # (it imports this module)

    dims = _dims_from_type(spec_type)
    if layout(dims)["D"] <= UNROLL_MAX_SOURCES or kind == "shift":
        return build("unrolled", _SOURCES, kind, spec_type)
    if kind == "step":
        return _looped_step
    return build("looped", {"tick": looped.source_tick, "partials": looped.source_partials},
                 kind, spec_type)


def tick(spec, Z):
    raise NotImplementedError("compiled only (numba)")


def step(spec, Z):
    """tick, partials and shift of every lane in one (see _source_step)."""
    raise NotImplementedError("compiled only (numba)")


def partials(spec, Z):
    raise NotImplementedError("compiled only (numba)")


def shift(spec, Z):
    raise NotImplementedError("compiled only (numba)")


def backward(spec, Z, net, st):
    """The backward pass of the lanes that are on (lane_backward.py)."""
    raise NotImplementedError("compiled only (numba)")


def backward_written(spec, Z):
    """The same, written out for nets of up to UNROLL_MAX_SOURCES sources (lane_backward.py)."""
    raise NotImplementedError("compiled only (numba)")


# error_model="numpy": IEEE division without Python's zero-divisor check, whose branch and
# exception path would stop the vectoriser (1 + e^-x is never 0: the same results)
_OPTS = dict(jit_options={"error_model": "numpy"})


@overload(tick, **_OPTS)
def _ol_tick(spec, Z):
    return _compile("tick", spec)


@overload(step, **_OPTS)
def _ol_step(spec, Z):
    return _compile("step", spec)


@overload(partials, **_OPTS)
def _ol_partials(spec, Z):
    return _compile("partials", spec)


@overload(shift, **_OPTS)
def _ol_shift(spec, Z):
    return _compile("shift", spec)


@overload(backward, inline="always", **_OPTS)
def _ol_backward(spec, Z, net, st):
    from .lane_backward import compile_backward  # (it imports this module)

    return compile_backward(spec)


@overload(backward_written, **_OPTS)
def _ol_backward_written(spec, Z):
    from .lane_backward import compile_written  # (it imports this module)

    return compile_written(spec)
