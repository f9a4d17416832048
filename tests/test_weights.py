"""Tests of companion.weights: the Shapley weight, its count, and the two kernels."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.game import TabularGame, shapley_by_permutations, shapley_values, three_player_game
from companion.weights import (
    MAX_ENUMERATION_PLAYERS,
    count_orderings,
    kernel_weight,
    lime_kernel,
    random_table_game,
    shapley_weight,
    size_weight,
    stands_exactly_before,
)


# ----------------------------------------------------------------------------- the weight
@pytest.mark.parametrize("n", range(1, 9))
def test_formula_matches_enumeration(n):
    for s in range(n):
        count = count_orderings(s, n)
        assert count == math.factorial(s) * math.factorial(n - s - 1)
        assert shapley_weight(s, n) == Fraction(count, math.factorial(n))


def test_weight_is_exact_fraction_and_known_values():
    assert shapley_weight(0, 3) == Fraction(1, 3)
    assert shapley_weight(1, 3) == Fraction(1, 6)
    assert shapley_weight(2, 3) == Fraction(1, 3)
    assert shapley_weight(0, 1) == 1
    assert isinstance(shapley_weight(np.int64(1), 4), Fraction)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 20, 40])
def test_weights_sum_to_one_exactly(n):
    total = sum(math.comb(n - 1, s) * shapley_weight(s, n) for s in range(n))
    assert total == 1  # exact Fraction arithmetic, no tolerance


@pytest.mark.parametrize("n", range(1, 8))
def test_size_weight_matches_the_brute_force_count(n):
    """Evidence, not an identity: the counts never use the closed form."""
    for s in range(n):
        by_count = math.comb(n - 1, s) * Fraction(count_orderings(s, n), math.factorial(n))
        assert by_count == Fraction(1, n)
        assert size_weight(s, n) == by_count


@pytest.mark.parametrize("n", [1, 2, 4, 7, 20, 60])
def test_each_size_carries_mass_one_over_n(n):
    # An identity of the closed form (size_weight is C(n-1, s) * shapley_weight): it
    # guards the array path and exact arithmetic, not the formula itself.
    for s in range(n):
        assert size_weight(s, n) == Fraction(1, n)
    np.testing.assert_allclose(size_weight(np.arange(n), n), 1 / n, rtol=1e-15)


def test_array_path_matches_fractions():
    n = 12
    s = np.array([[0, 5], [11, 3]])
    w = shapley_weight(s, n)
    assert w.shape == s.shape and w.dtype == float
    for k in s.ravel():
        assert w[s == k][0] == float(shapley_weight(int(k), n))


def test_array_weights_sum_to_one_for_large_n():
    n = 200  # 200! overflows a float; the weights themselves do not
    s = np.arange(n)
    counts = np.array([float(math.comb(n - 1, int(k))) for k in s])
    # each term is 1/n up to one rounding of the weight and one of the count
    assert abs(np.sum(counts * shapley_weight(s, n)) - 1) < 1e-12


def test_weights_give_the_shapley_values_of_the_three_player_game():
    game = three_player_game()
    v = {S: game.value(S) for S in [(), ("B",), ("C",), ("B", "C")]}
    v_with_a = {S: game.value(("A",) + S) for S in v}
    phi_a = sum(shapley_weight(len(S), 3) * Fraction(v_with_a[S] - v[S]) for S in v)
    assert phi_a == Fraction(260, 3)


# ----------------------------------------------------------------------------- counting
def test_stands_exactly_before():
    assert stands_exactly_before((2, 1, 0, 3), {1, 2}, 0)
    assert not stands_exactly_before((2, 0, 1, 3), {1, 2}, 0)
    assert stands_exactly_before((0, 1, 2), set(), 0)
    with pytest.raises(ValueError, match="must not contain"):
        stands_exactly_before((0, 1, 2), {0}, 0)
    with pytest.raises(ValueError, match="does not appear"):
        stands_exactly_before((1, 2), {1}, 0)


def test_count_refuses_large_n():
    with pytest.raises(ValueError, match="MAX_ENUMERATION_PLAYERS"):
        count_orderings(0, MAX_ENUMERATION_PLAYERS + 1)
    with pytest.raises(TypeError, match="one int size"):
        count_orderings(np.array([0, 1]), 3)


# ----------------------------------------------------------------------------- kernel weight
def test_kernel_weight_values_and_infinities():
    p = 5
    assert kernel_weight(0, p) == math.inf and kernel_weight(p, p) == math.inf
    assert kernel_weight(2, p) == pytest.approx(4 / (10 * 2 * 3), rel=1e-15)
    w = kernel_weight(np.arange(p + 1), p)
    assert np.isinf(w[[0, p]]).all() and np.isfinite(w[1:p]).all()
    assert isinstance(kernel_weight(1, p), float)
    assert kernel_weight(np.array(2), p).shape == ()


@settings(max_examples=60, deadline=None)
@given(p=st.integers(1, 300), data=st.data())
def test_kernel_weight_symmetric_in_s_and_p_minus_s(p, data):
    s = data.draw(st.integers(0, p))
    assert kernel_weight(s, p) == kernel_weight(p - s, p)
    sizes = np.arange(p + 1)
    np.testing.assert_array_equal(kernel_weight(sizes, p), kernel_weight(p - sizes, p))


@settings(max_examples=40, deadline=None)
@given(p=st.integers(2, 60), data=st.data())
def test_kernel_weight_matches_formula(p, data):
    s = data.draw(st.integers(1, p - 1))
    expected = (p - 1) / (math.comb(p, s) * s * (p - s))
    assert kernel_weight(s, p) == pytest.approx(expected, rel=1e-14)


# ----------------------------------------------------------------------------- LIME kernel
def test_lime_kernel():
    assert lime_kernel(0.0, 1.0) == 1.0
    assert lime_kernel(2, 2.0) == pytest.approx(math.exp(-1))
    d = np.array([[0.0, 1.0], [2.0, 3.0]])
    out = lime_kernel(d, 0.5)
    assert out.shape == d.shape
    np.testing.assert_allclose(out, np.exp(-(d**2) / 0.25), rtol=1e-15)
    assert isinstance(lime_kernel(1.0, 1.0), float)


@settings(max_examples=40, deadline=None)
@given(d=st.floats(0, 50), width=st.floats(0.01, 100))
def test_lime_kernel_in_unit_interval_and_decreasing(d, width):
    w = lime_kernel(d, width)
    assert 0.0 <= w <= 1.0
    assert lime_kernel(d + 1.0, width) <= w


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: shapley_weight(3, 3), ValueError, "0..2"),
        (lambda: shapley_weight(-1, 3), ValueError, "0..2"),
        (lambda: shapley_weight(0, 0), ValueError, "at least 1"),
        (lambda: shapley_weight(1.0, 3), TypeError, "must be an int"),
        (lambda: shapley_weight(True, 3), TypeError, "must be an int"),
        (lambda: shapley_weight(1, 3.0), TypeError, "int number of players"),
        (lambda: shapley_weight(np.array([0.0, 1.0]), 3), TypeError, "integer array"),
        (lambda: shapley_weight(np.array([0, 3]), 3), ValueError, "0..2"),
        (lambda: size_weight(5, 4), ValueError, "0..3"),
        (lambda: count_orderings(2, 2), ValueError, "0..1"),
        (lambda: count_orderings(0, 0), ValueError, "at least 1"),
        (lambda: count_orderings(0.5, 3), TypeError, "must be an int"),
        (lambda: kernel_weight(6, 5), ValueError, "0..5"),
        (lambda: kernel_weight(-1, 5), ValueError, "0..5"),
        (lambda: kernel_weight(2, 0), ValueError, "at least 1"),
        (lambda: kernel_weight(2.5, 5), TypeError, "must be an int"),
        (lambda: kernel_weight(np.array([1.0]), 5), TypeError, "integer array"),
        (lambda: lime_kernel(1.0, 0.0), ValueError, "positive"),
        (lambda: lime_kernel(1.0, -2.0), ValueError, "positive"),
        (lambda: lime_kernel(1.0, float("inf")), ValueError, "positive"),
        (lambda: lime_kernel(1.0, "wide"), TypeError, "positive number"),
        (lambda: lime_kernel(-1.0, 1.0), ValueError, "non-negative"),
        (lambda: lime_kernel(np.array([0.0, np.nan]), 1.0), ValueError, "NaN"),
        (lambda: lime_kernel("far", 1.0), TypeError, "number or an array"),
    ],
)
def test_bad_input_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----------------------------------------------------------------------------- random games
def test_random_table_game_is_seeded_and_consistent():
    g1, g2 = random_table_game(5, rng=3), random_table_game(5, rng=3)
    np.testing.assert_array_equal(g1.table, g2.table)
    assert g1.table[0] == 0.0 and g1.n == 5
    # the subset formula and the all-orderings average agree on it (float rounding only)
    np.testing.assert_allclose(shapley_values(g1), shapley_by_permutations(g1),
                               rtol=0, atol=1e-12)
    # the model view gives the same numbers as the game view
    masks = np.array([[True, False, True, False, False], [False] * 5])
    np.testing.assert_array_equal(g1(masks), g1.as_model()(masks.astype(float)))


def test_table_game_errors():
    with pytest.raises(ValueError, match="2\\*\\*n"):
        TabularGame.from_table(np.zeros(6))
    with pytest.raises(ValueError, match="finite"):
        TabularGame.from_table(np.array([0.0, np.inf]))
    g = random_table_game(2, rng=0)
    with pytest.raises(ValueError, match="0/1"):
        g.as_model()(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        g(np.ones((1, 3), dtype=bool))
    with pytest.raises(TypeError, match="rng must be"):
        random_table_game(3, rng="seed")
