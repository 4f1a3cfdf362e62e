"""The adding/multiplication generator against spec §4.4-4.5, over many draws."""

import numpy as np
import pytest

from lstmsim.generators import markers


def draw(n, T, product=False, second_mark=0, seed=0):
    tp = np.zeros(markers.N_PARAMS)
    tp[markers.P_T] = T
    tp[markers.P_VALUE_LOW] = 0.0 if product else -1.0
    tp[markers.P_FIRST_PAIR_VALUE] = 1.0 if product else 0.0
    tp[markers.P_PRODUCT] = float(product)
    tp[markers.P_SECOND_MARK] = second_mark
    tp[markers.P_END_MARKERS] = 1.0
    Lmax = markers.max_length(T)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        X, Y, J = np.zeros((Lmax, 2)), np.zeros((Lmax, 1)), np.zeros((Lmax, 1))
        h = np.zeros(Lmax, np.int8)
        L = markers.generate(rng, tp, X, Y, J, h)
        out.append((L, X[:L].copy(), Y[:L, 0].copy(), J[:L, 0].copy(), h[:L].copy()))
    return out


@pytest.mark.parametrize("T", [20, 100])
def test_adding_sequences(T):
    seqs = draw(3000, T)
    lengths = np.array([s[0] for s in seqs])
    assert lengths.min() == T and lengths.max() == T + T // 10  # both ends inclusive
    assert len(np.unique(lengths)) == T // 10 + 1
    firsts = []
    for L, X, Y, J, h in seqs:
        marked = np.flatnonzero(X[:, 1] == 1.0)
        assert len(marked) == 2
        p1 = marked[marked < 10]
        assert len(p1) >= 1
        assert np.all(h[:-1] == 0) and h[-1] == 1 and J[-1] == Y[-1]
        # -1 on the first and last pairs unless the first is marked
        assert X[-1, 1] == -1.0
        assert X[0, 1] == (1.0 if 0 in marked else -1.0)
        assert set(np.unique(X[:, 1])) <= {-1.0, 0.0, 1.0}
        assert np.sum(X[:, 1] == -1.0) == (1 if 0 in marked else 2)
        # values uniform in [-1, 1]; a marked first pair has value 0
        assert np.all(np.abs(X[:, 0]) <= 1.0)
        if 0 in marked:
            assert X[0, 0] == 0.0
        assert Y[-1] == pytest.approx(0.5 + (X[marked[0], 0] + X[marked[1], 0]) / 4.0, abs=1e-15)
        # minimal lag T/2 from the last mark to the end (spec §4.4 literal reading)
        assert (L - 1) - marked.max() >= T // 2
        assert marked.max() <= T // 2 - 1
        firsts.append(marked)
    # the second mark covers all first T/2 positions (0-based 0..T/2-1)
    all_marks = np.concatenate(firsts)
    assert set(all_marks) == set(range(T // 2))


def test_first_mark_uniform_over_first_ten():
    seqs = draw(6000, 100)
    # the mark in the first ten positions that was drawn first is uniform; count marks at 0..9
    counts = np.zeros(10)
    for L, X, *_ in seqs:
        counts += X[:10, 1] == 1.0
    # each position also receives second marks (prob ~1/49 each); first mark adds ~1/10
    expected = 6000 * (0.1 + 1 / 49)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_alt_second_mark_reading_gives_lag_above_half():
    for L, X, *_ in draw(2000, 100, second_mark=1):
        marked = np.flatnonzero(X[:, 1] == 1.0)
        assert marked.max() <= 100 // 2 - 2
        assert (L - 1) - marked.max() >= 100 // 2 + 1


def test_multiplication():
    for L, X, Y, J, h in draw(2000, 100, product=True):
        marked = np.flatnonzero(X[:, 1] == 1.0)
        assert np.all((X[:, 0] >= 0) & (X[:, 0] <= 1))
        if 0 in marked:
            assert X[0, 0] == 1.0
        assert Y[-1] == X[marked[0], 0] * X[marked[1], 0]


def test_same_seed_same_sequences():
    a, b = draw(50, 100, seed=7), draw(50, 100, seed=7)
    for s, t in zip(a, b):
        assert np.array_equal(s[1], t[1])
