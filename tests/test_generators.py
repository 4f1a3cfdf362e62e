"""Statistics and contents of the streaming sequence generators, checked against the spec (§4).

Sample sizes are a few thousand sequences; tolerances are about 4 standard errors.
"""

import math
import re
from collections import Counter, defaultdict

import numpy as np
import pytest

from numba import njit

from lstmsim.generators import GENERATOR_IDS, generate, lag2, lag2c, order, reber, twoseq
from lstmsim.generators.draws import integers
from lstmsim.generators.pcg64 import check_layout, random, require_pcg64

EMPTY = np.zeros((0, 1))


def _buffers(Lmax, n_in, K, fill=np.nan):
    """Buffers pre-filled with garbage so that entries the generator forgets to write show up."""
    X = np.full((Lmax, n_in), fill)
    Y = np.full((Lmax, K), fill)
    J = np.full((Lmax, K), fill)
    h = np.full(Lmax, 7, np.int8)
    return X, Y, J, h


def draws(name, tp, n, seed, shape, data=EMPTY, item=-1, fill=np.nan):
    """n sequences from the dispatcher, each as copies (X, Y, J, has_t) of rows 0..L-1."""
    rng = np.random.default_rng(seed)
    X, Y, J, h = _buffers(*shape, fill=fill)
    gid = GENERATOR_IDS[name]
    out = []
    for i in range(n):
        it = item if item < 0 else item + i
        L = generate(gid, rng, tp, data, it, X, Y, J, h)
        assert L > 0
        seq = (X[:L].copy(), Y[:L].copy(), J[:L].copy(), h[:L].copy())
        for a in seq[:3]:
            assert not np.isnan(a).any(), "a row 0..L-1 entry was left unwritten"
        assert set(np.unique(seq[3])) <= {0, 1}
        out.append(seq)
    return out


def within(observed, expected, se, k=4.0):
    return abs(observed - expected) <= k * se


def check_mean(values, expected_mean, expected_var, k=4.0):
    values = np.asarray(values, float)
    se = math.sqrt(expected_var / len(values))
    m = values.mean()
    assert within(m, expected_mean, se, k), f"mean {m} vs {expected_mean} (se {se})"


def check_var(values, expected_var, k=4.0, mean=0.0):
    """Sample variance about a known mean; se of the estimate for Gaussian data: var*sqrt(2/n)."""
    values = np.asarray(values, float)
    v = np.mean((values - mean) ** 2)
    se = expected_var * math.sqrt(2.0 / len(values))
    assert within(v, expected_var, se, k), f"variance {v} vs {expected_var} (se {se})"


def check_frequencies(counts, probs, k=4.0):
    """Each category's count against n*p within k binomial standard errors."""
    counts = np.asarray(counts, float)
    n = counts.sum()
    for c, p in zip(counts, probs):
        se = math.sqrt(n * p * (1 - p))
        assert within(c, n * p, se, k), f"count {c} vs {n * p} (se {se}); counts {counts}"


def check_chi2(counts, probs, k=4.0):
    counts = np.asarray(counts, float)
    e = counts.sum() * np.asarray(probs)
    chi2 = ((counts - e) ** 2 / e).sum()
    dof = len(counts) - 1
    assert chi2 < dof + k * math.sqrt(2 * dof), f"chi2 {chi2} with {dof} dof"


# ------------------------------------------------------------------------------------------------
# dispatcher
# ------------------------------------------------------------------------------------------------


def test_generator_ids():
    assert GENERATOR_IDS == {"markers": 0, "reber": 1, "lag2": 2, "lag2c": 3, "twoseq": 4,
                             "order": 5, "recorded": 90}
    X, Y, J, h = _buffers(10, 2, 2)
    assert generate(99, np.random.default_rng(0), np.zeros(1), EMPTY, -1, X, Y, J, h) == -1


@njit
def _draw_pairs(rng, low, high, n, out, between):
    """n draws of integers(rng, low, high), each followed by a uniform double (which shares the
    bit generator's state, including its buffered 32-bit half) into `between`: both the way the
    generators draw them (generators/draws.py, generators/pcg64.py)."""
    for i in range(n):
        out[i] = integers(rng, low, high)
        between[i] = random(rng)


@njit
def _numba_pairs(rng, low, high, n, out, between):
    for i in range(n):
        out[i] = rng.integers(low, high)
        between[i] = rng.random()


@pytest.mark.parametrize("low,high", [(0, 2), (0, 11), (5, 6), (-3, 100), (0, 2**31),
                                      (0, 2**32 - 1), (0, 2**32), (3, 2**32 + 4), (-5, 2**40),
                                      (-2**62, 2**62)])
def test_integers_is_rng_integers(low, high):
    """generators/draws.integers, which the generators use instead of rng.integers (it allocates
    nothing), makes the same draws as numba's and NumPy's rng.integers and leaves the stream in
    the same state."""
    n = 2000
    got, got_between = np.empty(n, np.int64), np.empty(n)
    nb, nb_between = np.empty(n, np.int64), np.empty(n)
    rngs = [np.random.default_rng(5) for _ in range(3)]
    _draw_pairs(rngs[0], low, high, n, got, got_between)
    _numba_pairs(rngs[1], low, high, n, nb, nb_between)
    npy = [(int(rngs[2].integers(low, high)), rngs[2].random()) for _ in range(n)]
    assert got.min() >= low and got.max() < high
    assert np.array_equal(got, nb) and np.array_equal(got_between, nb_between)
    assert got.tolist() == [a for a, _ in npy] and got_between.tolist() == [b for _, b in npy]
    assert rngs[0].random() == rngs[1].random() == rngs[2].random()
    if high - low <= 11:
        assert set(got.tolist()) == set(range(low, high))


@njit
def _uniforms(rng, out):
    for i in range(out.shape[0]):
        out[i] = random(rng)


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**63 + 7])
def test_pcg64_random_is_rng_random(seed):
    """generators/pcg64.random (NumPy's PCG64 step inlined) draws what rng.random() draws, from
    and into the bit generator's own state: a stream drawn by it interleaved with numba's
    integers (which buffer 32-bit halves) and NumPy's own random() is the stream NumPy alone
    draws, and both bit generators end in the same state."""
    rng, ref = np.random.default_rng(seed), np.random.default_rng(seed)
    first, ints, between, second = np.empty(1000), np.empty(3, np.int64), np.empty(3), np.empty(4)
    _uniforms(rng, first)
    _draw_pairs(rng, 0, 11, 3, ints, between)
    _uniforms(rng, second)
    tail = [rng.random() for _ in range(3)]
    assert first.tolist() == ref.random(1000).tolist() and len(set(first.tolist())) == 1000
    pairs = [(int(ref.integers(0, 11)), ref.random()) for _ in range(3)]
    assert ints.tolist() == [i for i, _ in pairs] and between.tolist() == [u for _, u in pairs]
    assert second.tolist() == ref.random(4).tolist()
    assert tail == [ref.random() for _ in range(3)]
    assert rng.bit_generator.state == ref.bit_generator.state


def test_pcg64_layout_check_and_guard():
    """The import-time check (generators/pcg64.check_layout) reads a PCG64's state where the
    draws above do, and tells other bit generators apart; Generators from outside must be PCG64."""
    bg = np.random.PCG64(3)
    bg.random_raw(5)
    check_layout(bg)
    with pytest.raises(RuntimeError, match="layout"):
        check_layout(np.random.PCG64DXSM(3))  # same state struct, another output function
    require_pcg64(np.random.default_rng(1))
    for other in (np.random.Generator(np.random.MT19937(1)), np.random.RandomState(1), None):
        with pytest.raises(ValueError, match="PCG64"):
            require_pcg64(other)


def test_integers_rejects_an_empty_range():
    with pytest.raises(ValueError, match="greater than low"):
        _draw_pairs(np.random.default_rng(0), 3, 3, 1, np.empty(1, np.int64), np.empty(1))


@pytest.mark.parametrize("name,module,tp,shape,data", [
    ("lag2", lag2, lag2.params(p=10, variant=1), (11, 11, 11), None),
    ("lag2c", lag2c, lag2c.params(q=5, p=4), (5 + 4 + 1000, 8, 2), None),
    ("twoseq", twoseq, twoseq.params(T=50, N=3, variant=2), (55, 1, 1), None),
    ("order", order, order.params(variant=1), (110, 8, 8), None),
    ("reber", reber, reber.params(1), None, "reber"),
])
def test_dispatch_matches_module_and_is_deterministic(name, module, tp, shape, data):
    if data == "reber":
        train, _ = reber.make_sets(np.random.default_rng(5), 20, 5)
        data = train
        shape = (reber.max_length(train), 7, 7)
    else:
        data = EMPTY
    a = draws(name, tp, 25, seed=123, shape=shape, data=data)
    # same seed, buffers dirty with other values instead of NaN: identical sequences
    b = draws(name, tp, 25, seed=123, shape=shape, data=data, fill=0.5)
    for sa, sb in zip(a, b):
        for u, v in zip(sa, sb):
            assert np.array_equal(u, v)
    # the module's own generator, called directly, gives the same stream
    rng = np.random.default_rng(123)
    X, Y, J, h = _buffers(*shape)
    for sa in a:
        if name == "reber":
            L = module.generate(rng, tp, data, -1, X, Y, J, h)
        else:
            L = module.generate(rng, tp, X, Y, J, h)
        assert L == len(sa[0])
        assert np.array_equal(X[:L], sa[0]) and np.array_equal(Y[:L], sa[1])
    # a different seed gives a different stream
    c = draws(name, tp, 25, seed=124, shape=shape, data=data)
    assert any(not np.array_equal(sa[0], sc[0]) for sa, sc in zip(a, c))


def test_buffers_too_small_return_minus_one():
    rng = np.random.default_rng(0)
    assert lag2.generate(rng, lag2.params(10), *_buffers(10, 11, 11)) == -1
    assert lag2c.generate(rng, lag2c.params(5, 4), *_buffers(8, 8, 2)) == -1
    assert twoseq.generate(rng, twoseq.params(100, 3), *_buffers(109, 1, 1)) == -1
    assert order.generate(rng, order.params(0), *_buffers(109, 8, 4)) == -1
    assert order.generate(rng, order.params(1), *_buffers(110, 8, 4)) == -1  # 6b needs 8 outputs


# ------------------------------------------------------------------------------------------------
# Exp. 1: embedded Reber grammar
# ------------------------------------------------------------------------------------------------

# An acceptor written independently of the generator: the grammar as a regular expression.
# From S3: (T*VPX)* T*V then (PS | V) reaches S6; from S4: X S3 | S.
_S3 = "(?:T*VPX)*T*V(?:PS|V)"
_S4 = f"(?:X{_S3}|S)"
_INNER = f"B(?:TS*X{_S4}|P{_S3})E"
EMBEDDED_REBER = re.compile(f"B(?:T{_INNER}T|P{_INNER}P)E")


def test_reber_acceptor_sanity():
    assert EMBEDDED_REBER.fullmatch("BTBTXSETE")
    assert EMBEDDED_REBER.fullmatch("BPBTXXTTVPXVPXVVEPE")
    assert not EMBEDDED_REBER.fullmatch("BTBTXSEPE")  # embedded symbols differ
    assert not EMBEDDED_REBER.fullmatch("BTBTXXEPE")


@pytest.fixture(scope="module")
def reber_sets():
    return reber.make_sets(np.random.default_rng(2024))


def test_reber_sets(reber_sets):
    train, test = reber_sets
    assert train.shape[0] == 256 and test.shape[0] == 256
    assert train.shape[1] == test.shape[1]
    tr, te = reber.decode(train), reber.decode(test)
    for s in tr + te:
        assert EMBEDDED_REBER.fullmatch(s), s
        assert s[0] == "B" and s[-1] == "E"
        assert len(s) >= reber.MIN_LENGTH == 9
    assert min(len(s) for s in tr) == 9  # P(no length-9 string among 256) = 0.75**256
    assert len(set(te)) == 256, "test strings must be distinct"
    assert not set(te) & set(tr), "a test string occurs in the training set"
    assert len(set(tr)) < 256  # training strings are independent draws and repeat
    assert reber.max_length(train, test) == max(len(s) for s in tr + te)
    tr2, _ = reber.make_sets(np.random.default_rng(1), 256, 10, distinct_train=True)
    assert len(set(reber.decode(tr2))) == 256
    # same seed -> same sets
    a, b = reber.make_sets(np.random.default_rng(2024))
    assert np.array_equal(a, train) and np.array_equal(b, test)


def _legal_sets_by_automaton(s):
    """The spec's transition table, written out again here."""
    table = {1: {"T": 2, "P": 3}, 2: {"S": 2, "X": 4}, 3: {"T": 3, "V": 5}, 4: {"X": 3, "S": 6},
             5: {"P": 4, "V": 6}, 6: {"E": None}}
    sets = [{"T", "P"}, {"B"}, {"T", "P"}]
    state = 1
    for sym in s[3:-3]:
        state = table[state][sym]
        sets.append(set(table[state]))
    sets[-1] = {"E"} if state == 6 else sets[-1]
    return sets + [{s[1]}, {"E"}, set()]


def _mask_to_set(m):
    return {c for i, c in enumerate(reber.SYMBOLS) if int(m) >> i & 1}


def test_reber_legal_sets(reber_sets):
    train, test = reber_sets
    for data in (train, test):
        W = (data.shape[1] - 1) // 2
        for row, s in zip(data, reber.decode(data)):
            L = len(s)
            got = [_mask_to_set(m) for m in row[1 + W:1 + W + L]]
            assert got == _legal_sets_by_automaton(s), s
            for t in range(L - 1):
                assert s[t + 1] in got[t]
                assert 1 <= len(got[t]) <= 2
            assert not row[1 + L:1 + W].any() and not row[1 + W + L:].any()  # padding
    # empirically: the next symbols seen after a prefix are within its legal set, and a prefix
    # seen often shows its whole legal set (a missed branch has probability 2**-40)
    big = reber.make_sets(np.random.default_rng(7), 3000, 0)[0]
    W = (big.shape[1] - 1) // 2
    seen = defaultdict(set)
    count = Counter()
    legal = {}
    for row, s in zip(big, reber.decode(big)):
        for t in range(len(s) - 1):
            seen[s[:t + 1]].add(s[t + 1])
            count[s[:t + 1]] += 1
            legal.setdefault(s[:t + 1], _mask_to_set(row[1 + W + t]))
    often = 0
    for prefix, nxt in seen.items():
        assert nxt <= legal[prefix]
        if count[prefix] >= 40:
            assert nxt == legal[prefix], prefix
            often += 1
    assert often > 20


def test_reber_generator_rows(reber_sets):
    train, test = reber_sets
    Lmax = reber.max_length(train, test)
    for mode in (0, 1):
        tp = reber.params(target_mode=mode)
        seqs = draws("reber", tp, 256, seed=0, shape=(Lmax, 7, 7), data=test, item=0)
        for (X, Y, J, h), s, row in zip(seqs, reber.decode(test), test):
            L = len(s)
            assert X.shape[0] == L
            assert "".join(reber.SYMBOLS[i] for i in X.argmax(1)) == s
            assert np.array_equal(X.sum(1), np.ones(L))
            assert h[:-1].all() and h[-1] == 0  # no prediction after the final E
            assert not Y[-1].any() and not J[-1].any()
            for t in range(L - 1):
                assert _mask_to_set(sum(1 << k for k in range(7) if J[t, k] == 1)) == \
                    _legal_sets_by_automaton(s)[t]
                if mode == 0:
                    assert Y[t].sum() == 1 and Y[t, reber.SYMBOLS.index(s[t + 1])] == 1
                else:
                    assert np.array_equal(Y[t], J[t])
    X, Y, J, h = _buffers(Lmax, 7, 7)
    assert reber.generate(np.random.default_rng(0), reber.params(), test, 256, X, Y, J, h) == -1


def test_reber_random_selection(reber_sets):
    train, _ = reber_sets
    strings = reber.decode(train)
    index = {}
    for i, s in enumerate(strings):
        index.setdefault(s, []).append(i)
    seqs = draws("reber", reber.params(), 5000, seed=3, shape=(reber.max_length(train), 7, 7),
                 data=train)
    hits = Counter()
    for X, *_ in seqs:
        s = "".join(reber.SYMBOLS[i] for i in X.argmax(1))
        assert s in index  # every draw is a training string
        hits[s] += 1
    # selection is uniform over the 256 rows: a string's frequency is its multiplicity / 256
    uniq = list(index)
    check_chi2([hits[s] for s in uniq], [len(index[s]) / 256 for s in uniq])


# ------------------------------------------------------------------------------------------------
# Exps. 2a, 2b
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [10, 100])
def test_lag2a_contents(p):
    seqs = draws("lag2", lag2.params(p=p, variant="a"), 1000, seed=1, shape=(p + 1, p + 1, p + 1))
    first = []
    for X, Y, J, h in seqs:
        assert X.shape == (p + 1, p + 1)
        assert np.array_equal(X.sum(1), np.ones(p + 1))
        sym = X.argmax(1)
        assert sym[0] in (p - 1, p) and sym[-1] == sym[0]  # (x ... x) or (y ... y)
        assert np.array_equal(sym[1:p], np.arange(p - 1))  # a_1 .. a_{p-1}
        assert h[:p].all() and h[p] == 0
        assert np.array_equal(Y[:p], X[1:]) and not Y[p].any()
        assert np.array_equal(J, Y)
        first.append(sym[0] == p)
    check_mean(first, 0.5, 0.25)


def test_lag2b_contents():
    p = 20
    seqs = draws("lag2", lag2.params(p=p, variant="b"), 3000, seed=2, shape=(p + 1, p + 1, p + 1))
    counts = np.zeros(p + 1)
    first = []
    for X, Y, J, h in seqs:
        sym = X.argmax(1)
        assert np.array_equal(X.sum(1), np.ones(p + 1))
        assert sym[0] in (p - 1, p) and sym[-1] == sym[0]
        assert (sym[1:p] < p - 1).all()  # the middle uses a_1..a_{p-1} only
        counts += np.bincount(sym[1:p], minlength=p + 1)
        assert h[:p].all() and h[p] == 0
        assert np.array_equal(Y[:p], X[1:]) and np.array_equal(J, Y)
        first.append(sym[0] == p)
    check_mean(first, 0.5, 0.25)
    check_frequencies(counts[:p - 1], [1 / (p - 1)] * (p - 1))
    # consecutive middles differ between sequences (random, not fixed)
    assert len({tuple(s[0].argmax(1)) for s in seqs[:50]}) == 50


def test_lag2_params():
    assert lag2.N_PARAMS == 2 and lag2.params(100, 1)[lag2.P_VARIANT] == 1
    assert lag2.n_inputs(p=100) == lag2.n_outputs(p=100) == 101 == lag2.max_length(p=100)
    with pytest.raises(ValueError):
        lag2.params(p=1)
    with pytest.raises(ValueError):
        lag2.params(variant="c")


# ------------------------------------------------------------------------------------------------
# Exp. 2c
# ------------------------------------------------------------------------------------------------


def test_lag2c_structure_and_statistics():
    q, p, n = 5, 4, 20000
    shape = (lag2c.max_length(q=q, p=p), p + 4, 2)
    assert shape[0] == q + 4 + 1000
    seqs = draws("lag2c", lag2c.params(q=q, p=p), n, seed=4, shape=shape)
    e, b, x, y = p, p + 1, p + 2, p + 3
    lengths, cls, counts = [], [], np.zeros(p)
    for X, Y, J, h in seqs:
        L = X.shape[0]
        assert L >= q + 4
        assert np.array_equal(X.sum(1), np.ones(L))
        sym = X.argmax(1)
        assert sym[0] == b and sym[1] in (x, y)
        assert sym[L - 2] == e and (sym == e).sum() == 1  # one trigger, just before the end
        assert sym[L - 1] == sym[1]  # the final symbol repeats the 2nd
        assert (sym[2:L - 2] < p).all()  # distractors only in between
        counts += np.bincount(sym[2:L - 2], minlength=p)
        # target: one-hot of the final symbol, at the trigger step only
        assert np.flatnonzero(h).tolist() == [L - 2]
        assert Y[L - 2].tolist() == ([1.0, 0.0] if sym[1] == x else [0.0, 1.0])
        assert np.array_equal(J, Y) and Y.sum() == 1
        lengths.append(L)
        cls.append(sym[1] == y)
    lengths = np.array(lengths)
    k = lengths - (q + 4)
    check_mean(cls, 0.5, 0.25)
    check_mean(lengths, q + 13, 90.0)  # E[k] = 9, Var[k] = 0.9 / 0.1**2 = 90 (paper's q+14 is a slip)
    kmax = 30
    freq = np.bincount(np.minimum(k, kmax), minlength=kmax + 1)
    probs = [0.1 * 0.9 ** j for j in range(kmax)] + [0.9 ** kmax]
    check_frequencies(freq, probs)
    check_chi2(freq, probs)
    # distractors uniform over a_1..a_p; (q+9)/p occurrences of each per sequence on average
    check_frequencies(counts, [1 / p] * p)
    assert within(counts.sum() / n / p, (q + 9) / p, math.sqrt(90 / n) / p)


def test_lag2c_end_at_trigger():
    q, p = 3, 5
    seqs = draws("lag2c", lag2c.params(q=q, p=p, end_at_trigger=1), 2000, seed=5,
                 shape=(lag2c.max_length(q, p), p + 4, 2))
    lengths = []
    for X, Y, J, h in seqs:
        L = X.shape[0]
        sym = X.argmax(1)
        assert sym[L - 1] == p and (sym == p).sum() == 1
        assert np.flatnonzero(h).tolist() == [L - 1]
        assert Y[L - 1, sym[1] - (p + 2)] == 1 and Y.sum() == 1
        lengths.append(L)
    check_mean(lengths, q + 12, 90.0)


def test_lag2c_never_writes_past_a_short_buffer():
    q, p, cap, n = 2, 3, 2 + 4 + 3, 4000
    big = _buffers(cap + 5, p + 4, 2)
    X, Y, J, h = (a[:cap] for a in big)  # views: a write past the buffer would land in big[cap:]
    rng = np.random.default_rng(6)
    lengths = [lag2c.generate(rng, lag2c.params(q, p), X, Y, J, h) for _ in range(n)]
    for a in big:
        assert (np.isnan(a[cap:]).all() if a.dtype.kind == "f" else (a[cap:] == 7).all())
    lengths = np.array(lengths)
    assert lengths.max() == cap and lengths.min() == q + 4
    # the trigger is forced after 3 extra distractors: P(L = cap) = 0.9**3
    check_mean(lengths == cap, 0.9 ** 3, 0.9 ** 3 * (1 - 0.9 ** 3))


def test_lag2c_params():
    tp = lag2c.params(q=1000, p=50)
    assert lag2c.N_PARAMS == 3 and tp[lag2c.P_Q] == 1000 and tp[lag2c.P_P] == 50
    assert tp[lag2c.P_END_AT_TRIGGER] == 0
    assert lag2c.n_inputs(q=1000, p=50) == 54 and lag2c.n_outputs(q=1000, p=50) == 2
    assert lag2c.max_length(q=1000, p=50) == 2004
    with pytest.raises(ValueError):
        lag2c.params(q=10, p=0)
    with pytest.raises(ValueError):
        lag2c.params(q=-1, p=10)


# ------------------------------------------------------------------------------------------------
# Exp. 3
# ------------------------------------------------------------------------------------------------


def _twoseq_sample(variant, N, n=3000, T=100, input_noise=0, seed=8):
    tp = twoseq.params(T=T, N=N, variant=variant, input_noise=input_noise)
    seqs = draws("twoseq", tp, n, seed=seed, shape=(twoseq.max_length(T), 1, 1))
    info, dist, lengths, y_last, j_last = [], [], [], [], []
    for X, Y, J, h in seqs:
        L = X.shape[0]
        assert T <= L <= T + T // 10
        assert np.flatnonzero(h).tolist() == [L - 1]  # target at the last step only
        assert not Y[:-1].any() and not J[:-1].any()
        lengths.append(L)
        info.append(X[:N, 0])
        dist.append(X[N:, 0])
        y_last.append(Y[-1, 0])
        j_last.append(J[-1, 0])
    return (np.array(info), np.concatenate(dist), np.array(lengths), np.array(y_last),
            np.array(j_last))


@pytest.mark.parametrize("N", [1, 3])
def test_twoseq_3a(N):
    info, dist, lengths, y, j = _twoseq_sample(0, N)
    # informative elements exact: all +1 (class 1, target 1) or all -1 (class 2, target 0)
    assert np.isin(info, (-1.0, 1.0)).all()
    assert (info == info[:, :1]).all()
    assert np.array_equal(y, j) and np.array_equal(j, (info[:, 0] > 0).astype(float))
    check_mean(info[:, 0] > 0, 0.5, 0.25)
    check_mean(dist, 0.0, 0.2)
    check_var(dist, 0.2)
    check_frequencies(np.bincount(lengths - 100, minlength=11), [1 / 11] * 11)


def test_twoseq_3b():
    N = 3
    info, dist, lengths, y, j = _twoseq_sample(1, N)
    sign = np.where(j == 1.0, 1.0, -1.0)  # class from the target
    assert np.array_equal(y, j) and np.isin(j, (0.0, 1.0)).all()
    noise = (info - sign[:, None]).ravel()
    check_mean(noise, 0.0, 0.2)
    check_var(noise, 0.2)
    check_var(dist, 0.2)
    assert not np.isin(info, (-1.0, 1.0)).any()


@pytest.mark.parametrize("input_noise", [0, 1])
def test_twoseq_3c(input_noise):
    N = 3
    info, dist, lengths, y, j = _twoseq_sample(2, N, n=6000, input_noise=input_noise)
    assert np.isin(j, (0.2, 0.8)).all()
    check_mean(j == 0.2, 0.5, 0.25)
    sign = np.where(j == 0.2, 1.0, -1.0)  # class 1 (+1) -> 0.2, class 2 (-1) -> 0.8
    if input_noise == 0:  # like 3a: informative inputs exact
        assert np.array_equal(info, np.repeat(sign[:, None], N, 1))
    else:  # the 3b-style reading
        check_var((info - sign[:, None]).ravel(), 0.2)
    check_var(dist, 0.2)
    # target noise, variance 0.1, on the training target only
    check_mean(y - j, 0.0, 0.1)
    check_var(y - j, 0.1)


def test_twoseq_params():
    tp = twoseq.params(T=1000, N=1, variant="c")
    assert twoseq.N_PARAMS == 4 and tp[twoseq.P_T] == 1000 and tp[twoseq.P_VARIANT] == 2
    assert twoseq.max_length(T=1000) == 1100 and twoseq.n_inputs() == twoseq.n_outputs() == 1
    with pytest.raises(ValueError):
        twoseq.params(T=3, N=3)
    with pytest.raises(ValueError):
        twoseq.params(variant="a", input_noise=1)
    with pytest.raises(ValueError):
        twoseq.params(N=0)


# ------------------------------------------------------------------------------------------------
# Exp. 6
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["a", "b"])
def test_order(variant):
    ranges = order.RANGES_A if variant == "a" else order.RANGES_B
    assert ranges == (((10, 20), (50, 60)) if variant == "a"
                      else ((10, 20), (33, 43), (66, 76)))
    n_rel, K, n = len(ranges), 2 ** len(ranges), 4000
    assert order.n_outputs(variant) == K and order.n_inputs(variant) == 8
    seqs = draws("order", order.params(variant), n, seed=9, shape=(110, 8, K))
    lengths, classes = [], []
    pos_counts = np.zeros((n_rel, 11))
    filler = np.zeros(4)
    for X, Y, J, h in seqs:
        L = X.shape[0]
        assert 100 <= L <= 110
        assert np.array_equal(X.sum(1), np.ones(L))
        sym = X.argmax(1)  # a b c d B E X Y -> 0..7
        assert sym[0] == 5 and sym[L - 1] == 4  # position 1 is E, position L is B
        assert (sym == 5).sum() == 1 and (sym == 4).sum() == 1
        rel = np.flatnonzero(sym >= 6)  # 0-based positions of X / Y
        assert len(rel) == n_rel
        cls = 0
        for i, ((lo, hi), t) in enumerate(zip(ranges, rel)):
            assert lo <= t + 1 <= hi  # 1-based ranges, inclusive
            pos_counts[i, t + 1 - lo] += 1
            cls = 2 * cls + (sym[t] - 6)  # X = 0, Y = 1, first symbol most significant
        other = np.ones(L, bool)
        other[[0, L - 1, *rel]] = False
        assert (sym[other] < 4).all()
        filler += np.bincount(sym[other], minlength=4)
        assert np.flatnonzero(h).tolist() == [L - 1]
        assert Y[L - 1].tolist() == np.eye(K)[cls].tolist() and Y.sum() == 1
        assert np.array_equal(J, Y)
        lengths.append(L)
        classes.append(cls)
    check_frequencies(np.bincount(np.array(lengths) - 100, minlength=11), [1 / 11] * 11)
    for i in range(n_rel):
        check_frequencies(pos_counts[i], [1 / 11] * 11)
    check_frequencies(np.bincount(classes, minlength=K), [1 / K] * K)
    check_frequencies(filler, [0.25] * 4)


def test_order_class_names():
    # the spec's class order: 6a XX, XY, YX, YY; 6b XXX ... YYY -> 0..7
    seqs = draws("order", order.params("b"), 200, seed=10, shape=(110, 8, 8))
    for X, Y, J, h in seqs:
        word = "".join(order.SYMBOLS[s] for s in X.argmax(1) if s >= 6)
        names = ["XXX", "XXY", "XYX", "XYY", "YXX", "YXY", "YYX", "YYY"]
        assert names.index(word) == Y[-1].argmax()
    assert order.max_length() == 110 and order.N_PARAMS == 1
    with pytest.raises(ValueError):
        order.params("c")
