"""Where the Shapley weights come from, and two kernels built on them (chapter 2).

The Shapley value of player ``i`` is its marginal contribution averaged over all ``n!``
orderings of the players. Grouping the orderings by the set ``S`` of players that stand
before ``i`` turns that average into the subset formula, with weight

.. math::
    w(s, n) = \\frac{s!\\,(n-s-1)!}{n!}, \\qquad s = |S| \\in \\{0, \\dots, n-1\\},

because exactly ``s! (n-s-1)!`` orderings put ``S`` before ``i`` and the rest after.
This module computes that weight exactly (:func:`shapley_weight`), checks it by brute
force (:func:`count_orderings` walks the orderings and counts), and gives the two
kernels that chapter 4 compares: the Shapley kernel of Kernel SHAP
(:func:`kernel_weight`) and LIME's exponential kernel (:func:`lime_kernel`).

Sizes ``s`` and player counts ``n``, ``p`` must be Python or numpy integers (a float such
as ``2.0`` is refused, so a silently truncated size can never slip through); ``bool`` is
refused too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Sequence
from fractions import Fraction

import numpy as np

from .checks import as_rng, check_int, check_positive
from .game import MAX_EXACT_PLAYERS, TabularGame

__all__ = [
    "MAX_ENUMERATION_PLAYERS",
    "shapley_weight",
    "size_weight",
    "count_orderings",
    "stands_exactly_before",
    "kernel_weight",
    "lime_kernel",
    "random_table_game",
]

#: Largest ``n`` for which :func:`count_orderings` walks all ``n!`` orderings (9! = 362,880).
MAX_ENUMERATION_PLAYERS = 9


# ----------------------------------------------------------------------------- checks
def _check_count(n: object, what: str, minimum: int = 1) -> int:
    """An integer number of players ``>= minimum``, else a clear TypeError / ValueError."""
    return check_int(n, what, minimum, kind="an int number of players")


def _check_sizes(s: object, low: int, high: int, what: str) -> tuple[np.ndarray, bool]:
    """Coalition sizes as an int64 array and whether ``s`` was a scalar.

    Every size must be an integer in ``low..high`` (inclusive).
    """
    scalar = np.ndim(s) == 0 and not isinstance(s, np.ndarray)
    if scalar:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise TypeError(
                f"the coalition size s must be an int, not {type(s).__name__} ({s!r}); "
                "sizes count players, so pass e.g. 2 rather than 2.0"
            )
        if not low <= s <= high:
            raise ValueError(f"coalition size s must lie in {low}..{high} {what}, got {s}")
        arr = np.asarray(s, dtype=np.int64)
    else:
        arr = np.asarray(s)
        if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(
                f"the coalition sizes s must be an integer array, got dtype {arr.dtype}; "
                "convert with s.astype(int) if the values are whole numbers"
            )
        arr = arr.astype(np.int64)
    bad = (arr < low) | (arr > high)
    if np.any(bad):
        example = int(arr[bad].flat[0])
        raise ValueError(f"coalition size s must lie in {low}..{high} {what}, got {example}")
    return arr, scalar


# ----------------------------------------------------------------------------- Shapley weight
def _exact_weight(s: int, n: int) -> Fraction:
    """s! (n-s-1)! / n! as a Fraction, via 1 / (n * C(n-1, s)) (same number, small ints)."""
    return Fraction(1, n * math.comb(n - 1, s))


def _per_size(s: np.ndarray, value) -> np.ndarray:
    """Evaluate ``value(k) -> float`` once per distinct size and spread it over ``s``."""
    out = np.empty(s.shape, dtype=float)
    for k in np.unique(s):
        out[s == k] = value(int(k))
    return out


def shapley_weight(s: int | np.ndarray, n: int) -> Fraction | np.ndarray:
    r"""Shapley weight of one coalition ``S`` of size ``s`` not containing player ``i``.

    .. math::
        w(s, n) = \frac{s!\,(n-s-1)!}{n!} = \frac{1}{n \binom{n-1}{s}},
        \qquad 0 \le s \le n-1,

    the fraction of the ``n!`` orderings in which exactly ``S`` stands before ``i``.
    Computed from the closed form on the right (not by counting orderings; see
    :func:`count_orderings` for the count it is checked against). For an int ``s`` the result is an exact :class:`fractions.Fraction`; for an integer
    array ``s`` it is a float ndarray of the same shape (each entry the correctly rounded
    float of the exact fraction).
    """
    n = _check_count(n, "n")
    sizes, scalar = _check_sizes(s, 0, n - 1, f"(S excludes player i, so |S| <= n - 1 = {n - 1})")
    if scalar:
        return _exact_weight(int(sizes), n)
    return _per_size(sizes, lambda k: float(_exact_weight(k, n)))


def size_weight(s: int | np.ndarray, n: int) -> Fraction | np.ndarray:
    r"""Total Shapley weight of all coalitions of size ``s`` not containing ``i``.

    .. math::
        \binom{n-1}{s} \, w(s, n) = \frac{1}{n},

    for every ``s``: each position of ``i`` in a random ordering is equally likely.
    Computed from the closed form, as ``C(n-1, s) * shapley_weight(s, n)``, so the value
    ``1/n`` holds by construction here; the evidence for it is the brute-force count
    :func:`count_orderings` (``C(n-1, s) * count_orderings(s, n) / n! == 1/n``), which
    chapter 2 and the tests compare with it. Exact (a Fraction) for an int ``s``.
    """
    n = _check_count(n, "n")
    sizes, scalar = _check_sizes(s, 0, n - 1, f"(S excludes player i, so |S| <= n - 1 = {n - 1})")
    if scalar:
        k = int(sizes)
        return math.comb(n - 1, k) * _exact_weight(k, n)
    return _per_size(sizes, lambda k: float(math.comb(n - 1, k) * _exact_weight(k, n)))


# ----------------------------------------------------------------------------- counting
def stands_exactly_before(order: Sequence[Hashable], S: Iterable[Hashable], i: Hashable) -> bool:
    """True when the players before ``i`` in ``order`` are exactly the set ``S``: P_i = S.

    ``order`` is one ordering of the players (a permutation, players named by any
    hashable labels); ``S`` a set of players not containing ``i``. The players after
    ``i`` are then the rest, ``N \\ (S u {i})``.
    """
    order = list(order)
    if i not in order:
        raise ValueError(f"player {i} does not appear in the ordering {order}")
    S = set(S)
    if i in S:
        raise ValueError(f"S must not contain player i = {i}; got S = {sorted(S)}")
    return set(order[: order.index(i)]) == S


def count_orderings(s: int, n: int) -> int:
    """How many orderings of ``n`` players put a fixed ``S`` (size ``s``) exactly before ``i``.

    Counted by brute force, not by formula: walk all ``n!`` orderings of the players
    ``0..n-1`` (``itertools.permutations``), take ``i = 0`` and ``S = {1, ..., s}``, and
    count the orderings whose players before ``i`` are exactly ``S``. The answer is
    ``s! (n-s-1)!``, which is what the chapter checks. Any other choice of ``i`` and ``S``
    with ``|S| = s`` gives the same count, by relabelling the players.

    Refuses ``n > MAX_ENUMERATION_PLAYERS`` (the walk would take ``n!`` steps).
    """
    n = _check_count(n, "n")
    if n > MAX_ENUMERATION_PLAYERS:
        raise ValueError(
            f"counting walks all {n}! orderings; the limit is MAX_ENUMERATION_PLAYERS = "
            f"{MAX_ENUMERATION_PLAYERS} players. Use shapley_weight(s, n) * factorial(n) "
            "for larger n"
        )
    sizes, scalar = _check_sizes(s, 0, n - 1, f"(S excludes player i, so |S| <= n - 1 = {n - 1})")
    if not scalar:
        raise TypeError("count_orderings takes one int size s; loop over sizes for several")
    s = int(sizes)
    i, S = 0, set(range(1, s + 1))
    return sum(
        1 for order in itertools.permutations(range(n)) if stands_exactly_before(order, S, i)
    )


# ----------------------------------------------------------------------------- kernels
def _exact_kernel(s: int, p: int) -> float:
    """(p-1) / (C(p,s) s (p-s)) for 0 < s < p, correctly rounded; inf at s = 0 and s = p."""
    if s == 0 or s == p:
        return math.inf
    return float(Fraction(p - 1, math.comb(p, s) * s * (p - s)))


def kernel_weight(s: int | np.ndarray, p: int) -> float | np.ndarray:
    r"""Shapley kernel of Kernel SHAP for a coalition of ``s`` of the ``p`` features.

    .. math::
        \pi(s) = \frac{p-1}{\binom{p}{s}\, s\, (p-s)}, \qquad 0 < s < p,

    and ``np.inf`` at ``s = 0`` and ``s = p`` (those two coalitions enter Kernel SHAP as
    constraints, not as weighted rows). Symmetric: ``pi(s) == pi(p - s)`` exactly.
    ``s`` is an int (returns a float) or an integer array (returns a float array).
    """
    p = _check_count(p, "p")
    sizes, scalar = _check_sizes(s, 0, p, f"(a coalition has between 0 and p = {p} features)")
    if scalar:
        return _exact_kernel(int(sizes), p)
    return _per_size(sizes, lambda k: _exact_kernel(k, p))


def lime_kernel(distance: float | np.ndarray, width: float) -> float | np.ndarray:
    r"""LIME's exponential kernel: weight of a sample at ``distance`` from ``x``.

    .. math::
        \pi(z) = \exp\!\big(-D(x, z)^2 / \sigma^2\big), \qquad \sigma = \text{width} > 0.

    ``distance`` is a non-negative number or array (returns a float or a float array of the
    same shape); ``width`` a positive finite number.
    """
    width = check_positive(width, "width", " (the kernel width sigma)")
    scalar = np.ndim(distance) == 0 and not isinstance(distance, np.ndarray)
    try:
        d = np.asarray(distance, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"distance must be a number or an array of numbers, not {type(distance).__name__}"
        ) from None
    if np.any(np.isnan(d)):
        raise ValueError("distance contains NaN; distances must be non-negative numbers")
    if np.any(d < 0):
        raise ValueError(f"distances must be non-negative, got {float(d[d < 0].flat[0])}")
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        out = np.exp(-(d**2) / np.float64(width) ** 2)  # width**2 may over/underflow
    out = np.where(d == 0, 1.0, out)  # exp(-0 / 0) for a width whose square is 0
    out = np.where(np.isinf(d), 0.0, out)
    return float(out) if scalar else out


# ----------------------------------------------------------------------------- random games
def random_table_game(n: int, rng: np.random.Generator | int | None = None) -> TabularGame:
    """A random game: ``v(S)`` i.i.d. standard normal for every coalition, ``v({}) = 0``.

    ``rng`` is a numpy Generator or an int seed (the same seed gives the same game).
    No structure at all, so it exercises every term of the Shapley formula.
    """
    n = _check_count(n, "n")
    if n > MAX_EXACT_PLAYERS:
        raise ValueError(f"a table of 2**{n} values is too large; use n <= {MAX_EXACT_PLAYERS}")
    table = as_rng(rng).standard_normal(1 << n)
    table[0] = 0.0
    return TabularGame.from_table(table)
