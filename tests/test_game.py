"""Tests of companion.game: exact values, the axioms, sampling, and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import (
    TabularGame,
    permutation_estimate,
    shapley_by_permutations,
    shapley_values,
    three_player_game,
)
from companion import game as G
from companion.checks import check_masks


class RandomGame:
    """A game given by an array of 2**n values indexed by coalition code."""

    def __init__(self, table: np.ndarray):
        self.table = np.asarray(table, dtype=float)
        self.n = int(np.log2(len(self.table)))
        self.calls = 0

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        self.calls += 1
        check_masks(masks, self.n)
        return self.table[masks.astype(np.int64) @ (1 << np.arange(self.n))]


def tables(min_n: int = 1, max_n: int = 8):
    """Hypothesis strategy: a random game table for n in [min_n, max_n]."""
    return st.integers(min_n, max_n).flatmap(
        lambda n: st.lists(
            st.floats(-100, 100, allow_nan=False, allow_infinity=False),
            min_size=1 << n,
            max_size=1 << n,
        ).map(np.array)
    )


# --------------------------------------------------------------------------- the example
def test_three_player_game_values():
    phi = shapley_values(three_player_game())
    np.testing.assert_allclose(phi, [260 / 3, 200 / 3, 140 / 3], rtol=0, atol=1e-12)


def test_three_player_game_by_hand_subset_formula():
    g = three_player_game()
    v = g.value
    phi_a = (v("A") - v("")) / 3 + (v("AB") - v("B")) / 6 + (v("AC") - v("C")) / 6 + (v("ABC") - v("BC")) / 3
    assert phi_a == pytest.approx(86.6666666667)


def test_tabular_game_call_matches_table():
    g = three_player_game()
    masks = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(g(masks), [0, 100, 180, 200])
    assert g.players == ("A", "B", "C") and g.n == 3


# --------------------------------------------------------------------------- agreement
@settings(max_examples=40, deadline=None)
@given(tables(1, 7))
def test_subset_formula_equals_all_orderings(table):
    game = RandomGame(table)
    np.testing.assert_allclose(shapley_values(game), shapley_by_permutations(game), atol=1e-9)


def test_sampled_estimator_converges_to_exact():
    rng = np.random.default_rng(1)
    game = RandomGame(rng.normal(size=1 << 6))
    exact = shapley_values(game)
    errors = [
        np.abs(permutation_estimate(game, m, rng=2) - exact).max() for m in (10, 100, 1000, 10000)
    ]
    assert errors[-1] < errors[0]
    assert errors[-1] < 0.05


def test_all_orderings_through_sampler_is_exact():
    """Feeding every ordering to the sampler's averaging gives the exact value."""
    game = RandomGame(np.random.default_rng(3).normal(size=1 << 4))
    perms = np.array(list(itertools.permutations(range(4))))
    est = G._ordering_marginals(game, perms, chunk=7) / len(perms)
    np.testing.assert_allclose(est, shapley_values(game), atol=1e-12)


def test_antithetic_reduces_error_on_a_nearly_additive_game():
    rng = np.random.default_rng(4)
    n = 8
    codes = np.arange(1 << n)
    masks = G.coalition_masks(codes, n)
    w = rng.normal(size=n)
    table = masks @ w + 0.3 * (masks.sum(1) ** 2)  # symmetric interaction
    game = RandomGame(table)
    exact = shapley_values(game)
    err = {a: np.mean([np.linalg.norm(permutation_estimate(game, 20, rng=s, antithetic=a) - exact)
                       for s in range(30)]) for a in (False, True)}
    assert err[True] < err[False]


def test_permutation_estimate_is_seeded_and_efficient():
    game = RandomGame(np.random.default_rng(5).normal(size=1 << 5))
    a = permutation_estimate(game, 50, rng=7)
    b = permutation_estimate(game, 50, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.sum() == pytest.approx(game.table[-1] - game.table[0], abs=1e-12)


def test_chunking_does_not_change_the_values():
    game = RandomGame(np.random.default_rng(6).normal(size=1 << 9))
    full = shapley_values(game)
    small = RandomGame(game.table)
    np.testing.assert_allclose(shapley_values(small, chunk=37), full, atol=1e-12)
    assert small.calls == -(-512 // 37)


def test_twenty_players_work():
    n = 20
    w = np.random.default_rng(7).normal(size=n)

    def additive(masks):
        return masks @ w

    np.testing.assert_allclose(shapley_values(additive, n=n), w, atol=1e-9)


# --------------------------------------------------------------------------- the axioms
@settings(max_examples=50, deadline=None)
@given(tables(1, 8))
def test_efficiency(table):
    phi = shapley_values(RandomGame(table))
    assert phi.sum() == pytest.approx(table[-1] - table[0], abs=1e-8)


@settings(max_examples=40, deadline=None)
@given(tables(2, 7), st.data())
def test_symmetry(table, data):
    """Make players i and j interchangeable; they must then get the same value."""
    n = int(np.log2(len(table)))
    i, j = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
    codes = np.arange(1 << n)
    bi, bj = (codes >> i) & 1, (codes >> j) & 1
    swapped = codes ^ ((bi ^ bj) << i) ^ ((bi ^ bj) << j)
    symmetric = (table + table[swapped]) / 2
    phi = shapley_values(RandomGame(symmetric))
    assert phi[i] == pytest.approx(phi[j], abs=1e-8)


@settings(max_examples=40, deadline=None)
@given(tables(1, 7))
def test_null_player(table):
    """Add a player who changes nothing: it gets zero, the others keep their values."""
    n = int(np.log2(len(table)))
    extended = np.concatenate([table, table])  # bit n (the new player) is ignored
    phi = shapley_values(RandomGame(extended))
    assert phi[n] == pytest.approx(0.0, abs=1e-8)
    np.testing.assert_allclose(phi[:n], shapley_values(RandomGame(table)), atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 7).flatmap(lambda n: st.tuples(
    st.lists(st.floats(-50, 50), min_size=1 << n, max_size=1 << n),
    st.lists(st.floats(-50, 50), min_size=1 << n, max_size=1 << n),
    st.floats(-3, 3))))
def test_additivity_and_linearity(args):
    u, w, a = (np.array(args[0]), np.array(args[1]), args[2])
    phi_sum = shapley_values(RandomGame(a * u + w))
    expected = a * shapley_values(RandomGame(u)) + shapley_values(RandomGame(w))
    np.testing.assert_allclose(phi_sum, expected, atol=1e-7)


# --------------------------------------------------------------------------- bad input
def test_incomplete_table_is_refused():
    with pytest.raises(ValueError, match="lacks 1 of the 4 coalitions"):
        TabularGame(["A", "B"], {(): 0, ("A",): 1, ("B",): 2})


def test_unknown_player_is_refused():
    with pytest.raises(ValueError, match="unknown players"):
        TabularGame(["A"], {(): 0, ("A",): 1, ("Z",): 2})


def test_string_coalition_is_refused():
    with pytest.raises(TypeError, match="frozenset"):
        TabularGame(["AB"], {(): 0, "AB": 1})


def test_duplicate_and_empty_players_are_refused():
    with pytest.raises(ValueError, match="distinct"):
        TabularGame(["A", "A"], {})
    with pytest.raises(ValueError, match="at least one player"):
        TabularGame([], {})


def test_non_finite_table_value_is_refused():
    with pytest.raises(ValueError, match="not finite"):
        TabularGame(["A"], {(): 0, ("A",): float("nan")})


def test_masks_of_wrong_width_or_dtype_are_refused():
    g = three_player_game()
    with pytest.raises(ValueError, match=r"shape \(k, 3\)"):
        g(np.ones((2, 4), dtype=bool))
    with pytest.raises(TypeError, match="dtype bool"):
        g(np.ones((2, 3), dtype=int))
    with pytest.raises(TypeError, match="numpy bool array"):
        g([[True, False, True]])


def test_non_finite_game_values_are_refused():
    with pytest.raises(ValueError, match="NaN or inf"):
        shapley_values(lambda m: np.where(m.all(1), np.inf, 0.0), n=3)


def test_game_returning_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="one float per row"):
        shapley_values(lambda m: np.zeros((len(m), 2)), n=3)


def test_too_many_players_are_refused_with_a_pointer():
    with pytest.raises(ValueError, match=f"limit is {G.MAX_EXACT_PLAYERS}.*permutation_estimate"):
        shapley_values(lambda m: m.sum(1), n=G.MAX_EXACT_PLAYERS + 1)
    with pytest.raises(ValueError, match="orderings are too many"):
        shapley_by_permutations(lambda m: m.sum(1), n=G.MAX_PERMUTATION_PLAYERS + 1)


def test_n_is_required_for_plain_callables_and_checked():
    with pytest.raises(ValueError, match="pass the number of players"):
        shapley_values(lambda m: m.sum(1))
    with pytest.raises(ValueError, match="disagrees"):
        shapley_values(three_player_game(), n=4)
    with pytest.raises(TypeError, match="int number of players"):
        shapley_values(lambda m: m.sum(1), n=2.0)
    with pytest.raises(TypeError, match="callable"):
        shapley_values(42, n=2)


def test_bad_sampling_arguments():
    g = three_player_game()
    with pytest.raises(ValueError, match="even"):
        permutation_estimate(g, 3, antithetic=True)
    with pytest.raises(ValueError, match="at least 1"):
        permutation_estimate(g, 0)
    with pytest.raises(TypeError, match="rng"):
        permutation_estimate(g, 4, rng="seed")


def test_table_game_from_codes_and_as_a_model():
    g = TabularGame.from_table(three_player_game().table, players="ABC")
    np.testing.assert_array_equal(shapley_values(g), shapley_values(three_player_game()))
    f = g.as_model()
    np.testing.assert_array_equal(f(np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])), [160, 0])
    with pytest.raises(ValueError, match="distinct player names"):
        TabularGame.from_table(np.zeros(4), players=["A"])
    with pytest.raises(ValueError, match="0/1 inputs"):
        f(np.full((1, 3), 0.5))
    with pytest.raises(ValueError, match="read-only"):
        g.table[0] = 1.0


# --------------------------------------------------------------------------- issue 14 regressions
def test_duplicate_coalition_is_refused():
    """Issue 14.5: ("A", "B") and ("B", "A") are one coalition; the last must not win."""
    values = {(): 0, ("A",): 1, ("B",): 2, ("A", "B"): 4, ("B", "A"): 9}
    with pytest.raises(ValueError, match="twice"):
        TabularGame(["A", "B"], values)


def test_values_as_a_list_of_pairs_or_none():
    """Issue 14.10: a list of pairs is a table; None or a number is a clear TypeError."""
    pairs = [((), 0), (("A",), 1), (("B",), 2), (("A", "B"), 4)]
    game = TabularGame(["A", "B"], pairs)
    np.testing.assert_allclose(shapley_values(game), [1.5, 2.5], rtol=1e-12)
    for bad in (None, 3, "AB", [((), 0, 1)]):
        with pytest.raises(TypeError, match="values"):
            TabularGame(["A", "B"], bad)
    with pytest.raises(TypeError, match="players"):
        TabularGame("AB", dict(pairs))
    with pytest.raises(TypeError, match="number"):
        TabularGame(["A"], {(): 0, ("A",): "1"})


@pytest.mark.parametrize(
    "codes, n, error, match",
    [
        (np.array([-1]), 3, ValueError, "0 .. 2\\*\\*n - 1"),
        (np.array([8]), 3, ValueError, "0 .. 2\\*\\*n - 1"),
        (np.array([0]), -1, ValueError, "n must be at least 1"),
        (np.array([0]), 63, ValueError, "limit is 62"),
        (np.array([0]), 2.0, TypeError, "n must be"),
        (np.array([0]), True, TypeError, "n must be"),
        (np.array([1.0]), 3, TypeError, "codes must be integers"),
        (np.array([True]), 3, TypeError, "codes must be integers"),
        (np.zeros((2, 2), dtype=int), 3, ValueError, "1-D"),
    ],
)
def test_coalition_masks_bad_codes(codes, n, error, match):
    """Issue 14.6: bad codes or n are errors, never silently wrong masks."""
    with pytest.raises(error, match=match):
        G.coalition_masks(codes, n)


def test_coalition_masks_edges():
    np.testing.assert_array_equal(G.coalition_masks(np.array([7], dtype=np.uint8), 3),
                                  [[True, True, True]])
    np.testing.assert_array_equal(G.coalition_masks(np.int64(2), 2), [[False, True]])
    assert G.coalition_masks(np.array([], dtype=int), 4).shape == (0, 4)
    top = G.coalition_masks(np.array([(1 << 62) - 1]), 62)
    assert top.all()


def test_the_subset_weights_are_chapter_2s_to_the_bit():
    """shapley_values' own weights equal shapley_weight's correctly rounded floats."""
    from companion.weights import shapley_weight

    for n in range(1, G.MAX_EXACT_PLAYERS + 1):
        ours, theirs = G._subset_weights(n), shapley_weight(np.arange(n), n)
        assert ours.tobytes() == theirs.tobytes(), n
    assert G._subset_weights(5).tobytes() != (shapley_weight(np.arange(5), 5)
                                              * (1 + 2**-52)).tobytes()
