"""Experiment 1: the embedded Reber grammar (spec §4.1).

Symbols B, T, P, S, X, V, E are units 0..6 (inputs and outputs, one-hot). The inner Reber automaton
(Cleeremans et al. 1989; every branch has probability 0.5):

    S0 -B-> S1;  S1 -T-> S2 | -P-> S3;  S2 -S-> S2 | -X-> S4;  S3 -T-> S3 | -V-> S5;
    S4 -X-> S3 | -S-> S6;  S5 -P-> S4 | -V-> S6;  S6 -E-> end

An embedded string is B, c, <inner string>, c, E with c in {T, P} (probability 0.5 each). The
shortest embedded strings have length MIN_LENGTH = 9.

The fixed training and test sets (selection "t1") are drawn once per trial in Python by
`make_sets` and handed to the compiled generator as 2-D float64 arrays, one row per string:

    row[0]                 L, the string's length
    row[1 : 1+W]           symbol indices s_0..s_{L-1} (0..6), padding 0 beyond L
    row[1+W : 1+2W]        legal-next bitmask after each symbol (bit k = symbol k may follow s_t);
                           0 after the final E and in the padding

where W = (row width - 1) // 2 is the longest string of the pair of sets. Training and test sets
are separate arrays of the same width: pass the one to be used as `data`.

Targets: at every step t < L-1 (predict symbol t+1); none after the final E. Y is the one-hot of
the actual next symbol (target mode 0, the spec's recommendation) or the multi-hot legal-next set
(mode 1); J is always the multi-hot legal-next set (for the rank rule).
"""

import numpy as np
from numba import njit

from .draws import integers

SYMBOLS = "BTPSXVE"
N_SYMBOLS = 7
MIN_LENGTH = 9  # e.g. B T B T X S E T E

# layout of the task-parameter vector tp
P_TARGET_MODE = 0  # 0: Y = one-hot actual next symbol; 1: Y = multi-hot legal next symbols
N_PARAMS = 1

TARGET_MODES = {"next": 0, "legal": 1}

# inner automaton: state -> the two (symbol, next state) branches
_INNER = {
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
}
_BIT = {c: 1 << i for i, c in enumerate(SYMBOLS)}


def params(target_mode=0):
    """tp for the embedded Reber task. target_mode: 0/'next' (default) or 1/'legal'."""
    if isinstance(target_mode, str):
        if target_mode not in TARGET_MODES:
            raise ValueError(f"reber target_mode must be one of {sorted(TARGET_MODES)}, "
                             f"got {target_mode!r}")
        target_mode = TARGET_MODES[target_mode]
    if target_mode not in (0, 1):
        raise ValueError(f"reber target_mode must be 0 or 1, got {target_mode!r}")
    tp = np.zeros(N_PARAMS)
    tp[P_TARGET_MODE] = target_mode
    return tp


def n_inputs(target_mode=0):
    return N_SYMBOLS


def n_outputs(target_mode=0):
    return N_SYMBOLS


def max_length(*sets):
    """Buffer length needed for the given encoded set(s) (the longest string among them)."""
    return max(int(d[:, 0].max()) if d.shape[0] else 0 for d in sets)


def draw_string(rng):
    """One embedded Reber string, drawn with rng.random() (one draw per binary choice)."""
    c = "T" if rng.random() < 0.5 else "P"
    out = ["B", c, "B"]
    state = 1
    while state != 6:
        first, second = _INNER[state]
        sym, state = first if rng.random() < 0.5 else second
        out.append(sym)
    out += ["E", c, "E"]
    return "".join(out)


def legal_next_masks(string):
    """Bitmask of the symbols that may follow each prefix string[:t+1]; 0 after the final E.

    Raises ValueError if `string` is not an embedded Reber string.
    """
    masks = []
    # phase: 0 expect outer B, 1 expect c, 2 expect inner B, 3 inside (state), 4 expect c again,
    # 5 expect final E, 6 done
    phase, state, c = 0, 0, ""
    for i, sym in enumerate(string):
        if phase == 0 and sym == "B":
            phase, legal = 1, "TP"
        elif phase == 1 and sym in "TP":
            phase, c, legal = 2, sym, "B"
        elif phase == 2 and sym == "B":
            phase, state, legal = 3, 1, "TP"
        elif phase == 3 and state != 6 and sym in (b[0] for b in _INNER[state]):
            state = dict(_INNER[state])[sym]
            legal = "E" if state == 6 else "".join(b[0] for b in _INNER[state])
        elif phase == 3 and state == 6 and sym == "E":
            phase, legal = 4, c
        elif phase == 4 and sym == c:
            phase, legal = 5, "E"
        elif phase == 5 and sym == "E":
            phase, legal = 6, ""
        else:
            raise ValueError(f"not an embedded Reber string: {string!r} (position {i})")
        masks.append(sum(_BIT[s] for s in legal))
    if phase != 6:
        raise ValueError(f"not an embedded Reber string: {string!r} (incomplete)")
    return masks


def encode(strings, width=None):
    """Encode strings as rows [L, symbols (W), legal-next masks (W)]; W defaults to the longest."""
    W = max((len(s) for s in strings), default=0) if width is None else width
    data = np.zeros((len(strings), 1 + 2 * W))
    for r, s in enumerate(strings):
        if len(s) > W:
            raise ValueError(f"string of length {len(s)} does not fit width {W}")
        data[r, 0] = len(s)
        data[r, 1:1 + len(s)] = [SYMBOLS.index(ch) for ch in s]
        data[r, 1 + W:1 + W + len(s)] = legal_next_masks(s)
    return data


def decode(data):
    """The strings held in an encoded set."""
    W = (data.shape[1] - 1) // 2
    return ["".join(SYMBOLS[int(v)] for v in row[1:1 + int(row[0])]) for row in data[:, :1 + W]]


def make_sets(rng, n_train=256, n_test=256, distinct_train=False, max_draws=10_000_000):
    """Draw a training set and a test set; return (train, test) encoded with a common width.

    Training strings are independent draws from the grammar and MAY REPEAT (default): short strings
    keep their natural frequency, as in the paper, which stresses that it did not over-sample short
    strings. distinct_train=True draws distinct training strings instead. Test strings are pairwise
    distinct and none occurs in the training set (rejection sampling from the grammar).
    """
    if n_train < 0 or n_test < 0:
        raise ValueError("set sizes must be >= 0")
    train, seen = [], set()
    draws = 0
    while len(train) < n_train:
        s = draw_string(rng)
        draws += 1
        if draws > max_draws:
            raise RuntimeError("could not draw enough distinct training strings")
        if distinct_train and s in seen:
            continue
        train.append(s)
        seen.add(s)
    test = []
    draws = 0
    while len(test) < n_test:
        s = draw_string(rng)
        draws += 1
        if draws > max_draws:
            raise RuntimeError("could not draw enough test strings absent from the training set")
        if s in seen:
            continue
        test.append(s)
        seen.add(s)
    W = max((len(s) for s in train + test), default=0)
    return encode(train, W), encode(test, W)


@njit(cache=True)
def generate(rng, tp, data, item, X, Y, J, has_t):
    """Row `item` of `data`, or a uniformly drawn row (rng.integers) when item < 0 (selection t1).

    Returns -1 if the row does not exist or the buffers are too small.
    """
    n = data.shape[0]
    if item < 0:
        if n == 0:
            return -1
        row = integers(rng, 0, n)
    else:
        row = item
    if row >= n:
        return -1
    W = (data.shape[1] - 1) // 2
    L = int(data[row, 0])
    if L > X.shape[0] or X.shape[1] < N_SYMBOLS or Y.shape[1] < N_SYMBOLS:
        return -1
    multi = tp[P_TARGET_MODE] != 0.0
    for t in range(L):
        for k in range(N_SYMBOLS):
            X[t, k] = 0.0
            Y[t, k] = 0.0
            J[t, k] = 0.0
        X[t, int(data[row, 1 + t])] = 1.0
        if t < L - 1:
            has_t[t] = 1
            mask = int(data[row, 1 + W + t])
            for k in range(N_SYMBOLS):
                if (mask >> k) & 1:
                    J[t, k] = 1.0
                    if multi:
                        Y[t, k] = 1.0
            if not multi:
                Y[t, int(data[row, 2 + t])] = 1.0
        else:
            has_t[t] = 0
    return L
