"""`integers(rng, low, high)`: rng.integers(low, high) for the compiled generators, no array.

Why not rng.integers: numba's Generator.integers with no size draws into a new one-element array
(numba.np.random.random_methods.random_bounded_uint64_fill) and returns its element. That one
allocation makes every function that generates a sequence, and everything that calls it, need
numba's reference counting; in the lane kernel (fast/lanes.py) that counting cost ~0.6 of the
~7 microseconds each lane spent per adding sequence (an increment and a decrement for every
per-trial object handed to the sequence start). With this function the generators allocate
nothing, so the lane kernel's tick loop and per-lane code compile with `_nrt=False`.

Same draws, same stream: the body is numba's own (which is NumPy's: Lemire's method on the bit
generator's buffered 32-bit output for ranges below 2^32, on 64-bit output above), calling the
same numba functions in the same order, so it consumes the bit generator exactly as
rng.integers does and returns the same numbers (tests/test_generators.py compares both with
numba's and NumPy's rng.integers over small, 32-bit and 64-bit ranges, interleaved with other
draws).
"""

from numba import njit
from numba.np.random.generator_core import next_uint32
from numba.np.random.random_methods import bounded_lemire_uint64, buffered_bounded_lemire_uint32

_U32_MAX = 0xFFFFFFFF


@njit(cache=True, _nrt=False)
def integers(rng, low, high):
    """Uniform int64 in [low, high) (high > low), the draw rng.integers(low, high) makes."""
    if high <= low:
        raise ValueError("integers: high must be greater than low")
    r = high - 1 - low  # the largest offset, as in numba (an int64: high - low <= 2^63 - 1)
    if r == 0:
        return low
    bitgen = rng.bit_generator
    if r < _U32_MAX:
        return low + int(buffered_bounded_lemire_uint32(bitgen, r))
    if r == _U32_MAX:
        return low + int(next_uint32(bitgen))
    return low + int(bounded_lemire_uint64(bitgen, r))
