"""Tests of companion.missing: baseline, marginal and conditional value functions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import shapley_values
from companion.game import coalition_masks
from companion.missing import (
    BaselineGame,
    ConditionalGame,
    EmpiricalConditionalGame,
    MarginalGame,
    baseline_game,
    conditional_game,
    empirical_conditional_game,
    gaussian_conditional,
    marginal_game,
)

# Three nonlinear one-feature functions: f(x) = sum_i g_i(x_i) is additive.
G_FUNCS = (np.sin, np.square, lambda t: np.abs(t - 0.3))


def additive(X: np.ndarray) -> np.ndarray:
    return sum(g(X[:, i]) for i, g in enumerate(G_FUNCS[: X.shape[1]]))


class Counting:
    """Wrap a model and record the number of rows of every call."""

    def __init__(self, f):
        self.f, self.rows = f, []

    def __call__(self, X):
        self.rows.append(len(X))
        return self.f(X)


def all_masks(p: int) -> np.ndarray:
    return coalition_masks(np.arange(1 << p), p)


def random_spd(p: int, rng: np.random.Generator) -> np.ndarray:
    A = rng.normal(size=(p, p))
    return A @ A.T + 0.3 * np.eye(p)


# ---------------------------------------------------------------------------- marginal
@settings(max_examples=25, deadline=None)
@given(
    p=st.integers(1, 3),
    N=st.integers(1, 30),
    seed=st.integers(0, 2**31 - 1),
    weighted=st.booleans(),
)
def test_additive_model_marginal_closed_form(p, N, seed, weighted):
    """For f = sum_i g_i(x_i): phi_i = g_i(x_i) - sum_j w_j g_i(b_ji), exactly."""
    rng = np.random.default_rng(seed)
    x, bg = rng.normal(size=p), rng.normal(size=(N, p))
    w = rng.uniform(0.1, 2.0, size=N) if weighted else None
    phi = shapley_values(marginal_game(additive, x, bg, weights=w))
    wn = np.full(N, 1 / N) if w is None else w / w.sum()
    expected = [G_FUNCS[i](x[i]) - wn @ G_FUNCS[i](bg[:, i]) for i in range(p)]
    np.testing.assert_allclose(phi, expected, rtol=0, atol=1e-12)


def test_marginal_game_values_by_hand():
    f = lambda X: X[:, 0] * X[:, 1]
    x, bg = np.array([2.0, 3.0]), np.array([[0.0, 1.0], [1.0, 5.0]])
    v = marginal_game(f, x, bg)(all_masks(2))
    # codes 0..3: {}, {1}, {2}, {1,2}
    np.testing.assert_allclose(
        v, [(0 + 5) / 2, (2 + 10) / 2, (0 + 3) / 2, 6.0], rtol=0, atol=0
    )


def test_marginal_evaluates_in_one_batched_call():
    f = Counting(additive)
    rng = np.random.default_rng(0)
    shapley_values(marginal_game(f, rng.normal(size=3), rng.normal(size=(50, 3))))
    assert f.rows == [8 * 50]  # all 2^3 coalitions times 50 background rows, one call


def test_marginal_chunking_gives_the_same_values():
    rng = np.random.default_rng(1)
    x, bg = rng.normal(size=3), rng.normal(size=(7, 3))
    f = Counting(additive)
    small = marginal_game(f, x, bg, max_rows=15)(all_masks(3))
    assert max(f.rows) <= 15 and len(f.rows) == 4  # 2 coalitions x 7 rows per call
    np.testing.assert_allclose(
        small, marginal_game(additive, x, bg)(all_masks(3)), rtol=0, atol=1e-15
    )


def test_weights_equal_repeated_rows():
    rng = np.random.default_rng(2)
    x, bg = rng.normal(size=2), rng.normal(size=(3, 2))
    f = lambda X: np.tanh(X[:, 0] * X[:, 1]) + X[:, 0]
    weighted = shapley_values(marginal_game(f, x, bg, weights=[1, 2, 3]))
    repeated = shapley_values(marginal_game(f, x, np.repeat(bg, [1, 2, 3], axis=0)))
    np.testing.assert_allclose(weighted, repeated, rtol=0, atol=1e-14)


def test_marginal_matches_shap_kernel_explainer_with_kmeans_weights():
    shap = pytest.importorskip("shap")
    rng = np.random.default_rng(3)
    bg = rng.normal(size=(60, 2))
    f = lambda X: np.tanh(X[:, 0] - 0.5 * X[:, 1] ** 2)
    x = np.array([0.4, -1.2])
    summary = shap.kmeans(bg, 5)
    game = marginal_game(f, x, summary.data, weights=summary.weights)
    phi = shap.KernelExplainer(f, summary).shap_values(
        x[None], l1_reg=False, silent=True
    )
    np.testing.assert_allclose(
        shapley_values(game), np.asarray(phi)[0], rtol=0, atol=1e-12
    )


# ---------------------------------------------------------------------------- baseline
def test_baseline_equal_to_x_gives_zeros():
    rng = np.random.default_rng(4)
    x = rng.normal(size=4)
    phi = shapley_values(baseline_game(lambda X: np.exp(X).prod(axis=1), x, x.copy()))
    np.testing.assert_array_equal(phi, np.zeros(4))


def test_feature_equal_to_baseline_is_a_null_player():
    x, b = np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0, -1.0])
    phi = shapley_values(baseline_game(lambda X: X.prod(axis=1) + X[:, 1] ** 3, x, b))
    assert phi[1] == 0.0


def test_baseline_game_is_marginal_with_one_row():
    rng = np.random.default_rng(5)
    x, b = rng.normal(size=3), rng.normal(size=3)
    f = lambda X: np.sin(X).sum(axis=1) * X[:, 0]
    game = baseline_game(f, x, b)
    assert isinstance(game, BaselineGame) and isinstance(game, MarginalGame)
    np.testing.assert_array_equal(game.baseline, b)
    np.testing.assert_array_equal(
        game(all_masks(3)), marginal_game(f, x, b[None])(all_masks(3))
    )
    np.testing.assert_allclose(game(all_masks(3)[[0]]), f(b[None]), rtol=0, atol=0)


# ------------------------------------------------------------------------- conditional
def test_gaussian_conditional_two_features_closed_form():
    mu, s1, s2, rho = np.array([1.0, -2.0]), 2.0, 0.5, -0.6
    cov = np.array([[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]])
    x = np.array([0.0, -1.5])
    m, c = gaussian_conditional(mu, cov, x, np.array([False, True]))  # X1 | X2 = x2
    np.testing.assert_allclose(
        m, [mu[0] + rho * s1 / s2 * (x[1] - mu[1])], rtol=0, atol=1e-14
    )
    np.testing.assert_allclose(c, [[s1**2 * (1 - rho**2)]], rtol=0, atol=1e-14)
    m0, c0 = gaussian_conditional(mu, cov, x, np.array([False, False]))
    np.testing.assert_array_equal(m0, mu)
    np.testing.assert_array_equal(c0, cov)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_conditional_linear_gaussian_closed_form(seed):
    """f(x) = a.x: v(S) = a_S.x_S + a_M.mu_{M|S}.

    The estimate's sd is sqrt(a_M' C_{M|S} a_M / T).
    """
    rng = np.random.default_rng(seed)
    p, T = 3, 4000
    a, x, mu = rng.normal(size=p), rng.normal(size=p), rng.normal(size=p)
    cov = random_spd(p, rng)
    game = conditional_game(lambda X: X @ a, x, mu, cov, n_samples=T, rng=seed)
    masks = all_masks(p)
    v = game(masks)
    for S, v_S in zip(masks, v):
        m, c = gaussian_conditional(mu, cov, x, S)
        exact = a[S] @ x[S] + a[~S] @ m
        sd = np.sqrt(a[~S] @ c @ a[~S] / T)
        # 5 standard errors: a false failure has probability below 1e-6 per coalition
        assert abs(v_S - exact) <= 5 * sd + 1e-12, (S, v_S, exact, sd)


def test_conditional_two_features_shapley_closed_form():
    """f(x) = x1 on a bivariate Gaussian: phi2 = rho s1/s2 (x2 - mu2) / 2."""
    mu, s1, s2, rho, T = np.array([0.5, -1.0]), 1.5, 2.0, 0.7, 20000
    cov = np.array([[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]])
    x = np.array([2.0, 1.0])
    phi = shapley_values(
        conditional_game(lambda X: X[:, 0], x, mu, cov, n_samples=T, rng=7)
    )
    phi2 = 0.5 * rho * s1 / s2 * (x[1] - mu[1])
    # each v(S) has sd <= s1 / sqrt(T);
    # each phi_i = sum_k c_k v(S_k) with sum |c_k| <= 2
    tol = 5 * 2 * s1 / np.sqrt(T)
    np.testing.assert_allclose(phi, [x[0] - mu[0] - phi2, phi2], rtol=0, atol=tol)


def test_conditional_with_diagonal_cov_is_marginal_over_its_draws():
    rng = np.random.default_rng(8)
    x, mu = rng.normal(size=3), rng.normal(size=3)
    cov = np.diag(rng.uniform(0.5, 2.0, size=3))
    f = lambda X: np.tanh(X[:, 0] * X[:, 1]) + X[:, 2] ** 2
    cond = conditional_game(f, x, mu, cov, n_samples=300, rng=1)
    marg = marginal_game(f, x, cond.samples)
    np.testing.assert_allclose(
        cond(all_masks(3)), marg(all_masks(3)), rtol=0, atol=1e-12
    )


def test_conditional_fill_keeps_present_features_and_is_reproducible():
    rng = np.random.default_rng(9)
    x, mu, cov = rng.normal(size=3), rng.normal(size=3), random_spd(3, rng)
    g1 = conditional_game(
        additive, x, mu, cov, n_samples=50, rng=np.random.default_rng(3)
    )
    g2 = conditional_game(additive, x, mu, cov, n_samples=50, rng=3)
    masks = all_masks(3)
    filled = g1.fill(masks)
    assert filled.shape == (8, 50, 3)
    assert np.all(np.where(masks[:, None, :], filled == x, True))
    np.testing.assert_array_equal(filled[0], g1.samples)
    np.testing.assert_array_equal(g1(masks), g2(masks))


def test_conditional_batched_and_chunked():
    rng = np.random.default_rng(10)
    x, mu, cov = rng.normal(size=3), rng.normal(size=3), random_spd(3, rng)
    f = Counting(additive)
    game = conditional_game(f, x, mu, cov, n_samples=100, rng=0)
    full = shapley_values(game)
    assert f.rows == [8 * 100]
    f.rows.clear()
    chunked = conditional_game(f, x, mu, cov, n_samples=100, rng=0, max_rows=300)
    np.testing.assert_allclose(shapley_values(chunked), full, rtol=0, atol=1e-13)
    assert f.rows == [300, 300, 200]


# -------------------------------------------------------------------------- efficiency
@pytest.mark.parametrize("strategy", ["baseline", "marginal", "conditional"])
def test_efficiency_in_every_strategy(strategy):
    rng = np.random.default_rng(11)
    p = 4
    x = rng.normal(size=p)
    f = lambda X: np.tanh(X @ np.arange(1.0, p + 1)) * X[:, 0] + X[:, 1] * X[:, 2]
    if strategy == "baseline":
        game = baseline_game(f, x, rng.normal(size=p))
    elif strategy == "marginal":
        game = marginal_game(f, x, rng.normal(size=(40, p)))
    else:
        game = conditional_game(
            f, x, np.zeros(p), random_spd(p, rng), n_samples=200, rng=0
        )
    v = game(all_masks(p)[[0, -1]])
    assert v[1] == pytest.approx(f(x[None])[0], abs=1e-14)  # v(N) = f(x)
    np.testing.assert_allclose(
        shapley_values(game).sum(), v[1] - v[0], rtol=0, atol=1e-12
    )


# --------------------------------------------------------------------------- bad input
F_OK = lambda X: X.sum(axis=1)  # noqa: E731


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: marginal_game(F_OK, np.zeros(2), np.zeros((5, 3))),
            "3 columns but x has 2",
        ),
        (lambda: marginal_game(F_OK, np.zeros(2), np.zeros((0, 2))), "empty"),
        (
            lambda: marginal_game(F_OK, [0.0, np.nan], np.zeros((5, 2))),
            "x contains NaN",
        ),
        (
            lambda: marginal_game(F_OK, np.zeros(2), [[0.0, np.inf]]),
            "background contains NaN or inf",
        ),
        (lambda: marginal_game(F_OK, np.zeros((2, 2)), np.zeros((5, 2))), "one row"),
        (lambda: marginal_game(F_OK, np.zeros(2), np.zeros((5, 2, 1))), "2-D"),
        (
            lambda: marginal_game(F_OK, np.zeros(2), np.zeros((3, 2)), weights=[1, 2]),
            "one entry per",
        ),
        (
            lambda: marginal_game(F_OK, np.zeros(2), np.zeros((2, 2)), weights=[1, -1]),
            "non-negative",
        ),
        (
            lambda: marginal_game(F_OK, np.zeros(2), np.zeros((2, 2)), weights=[0, 0]),
            "not all zero",
        ),
        (
            lambda: marginal_game(F_OK, np.zeros(2), np.zeros((2, 2)), max_rows=0),
            "max_rows",
        ),
        (
            lambda: baseline_game(F_OK, np.zeros(2), np.zeros(3)),
            "baseline has 3 features",
        ),
        (
            lambda: baseline_game(F_OK, np.zeros(2), [np.nan, 0.0]),
            "baseline contains NaN",
        ),
        (
            lambda: conditional_game(
                F_OK, np.zeros(2), np.zeros(2), [[1.0, 1.0], [1.0, 1.0]]
            ),
            "not positive definite",
        ),
        (
            lambda: conditional_game(
                F_OK, np.zeros(2), np.zeros(2), [[1.0, 2.0], [2.0, 1.0]]
            ),
            "not positive definite",
        ),
        (
            lambda: conditional_game(
                F_OK, np.zeros(2), np.zeros(2), [[1.0, 0.5], [0.0, 1.0]]
            ),
            "symmetric",
        ),
        (
            lambda: conditional_game(F_OK, np.zeros(2), np.zeros(2), np.eye(3)),
            r"\(2, 2\) matrix",
        ),
        (
            lambda: conditional_game(F_OK, np.zeros(2), np.zeros(3), np.eye(2)),
            "mean has 3 entries",
        ),
        (
            lambda: conditional_game(F_OK, np.zeros(2), [0.0, np.inf], np.eye(2)),
            "mean contains NaN",
        ),
        (
            lambda: conditional_game(
                F_OK, np.zeros(2), np.zeros(2), [[1.0, np.nan], [np.nan, 1.0]]
            ),
            "cov contains NaN",
        ),
        (
            lambda: conditional_game(
                F_OK, np.zeros(2), np.zeros(2), np.eye(2), n_samples=0
            ),
            "n_samples",
        ),
        (
            lambda: conditional_game(F_OK, [np.nan, 0.0], np.zeros(2), np.eye(2)),
            "x contains NaN",
        ),
    ],
)
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda f: marginal_game(f, np.zeros(2), np.ones((3, 2))),
        lambda f: baseline_game(f, np.zeros(2), np.ones(2)),
        lambda f: conditional_game(
            f, np.zeros(2), np.zeros(2), np.eye(2), n_samples=5, rng=0
        ),
    ],
)
@pytest.mark.parametrize(
    "f, match",
    [
        (lambda X: X, "returned shape"),  # (m, p) instead of (m,)
        (lambda X: X.sum(axis=1)[:-1], "returned shape"),  # one output short
        (lambda X: np.full(len(X), np.nan), "NaN or inf"),
    ],
)
def test_model_with_wrong_output_raises(make, f, match):
    with pytest.raises(ValueError, match=match):
        shapley_values(make(f))


def test_model_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        marginal_game("not a model", np.zeros(2), np.zeros((1, 2)))
    with pytest.raises(TypeError, match="callable"):
        conditional_game(None, np.zeros(2), np.zeros(2), np.eye(2))


def test_rng_must_be_generator_or_seed():
    with pytest.raises(TypeError, match="rng"):
        conditional_game(F_OK, np.zeros(2), np.zeros(2), np.eye(2), rng="seed")


def test_masks_are_checked():
    game = marginal_game(F_OK, np.zeros(2), np.zeros((1, 2)))
    with pytest.raises(TypeError, match="bool"):
        game(np.ones((1, 2)))
    with pytest.raises(ValueError, match="shape"):
        game(np.ones((1, 3), dtype=bool))


def test_conditional_game_types():
    game = conditional_game(
        F_OK, np.zeros(2), np.zeros(2), np.eye(2), n_samples=4, rng=0
    )
    assert (
        isinstance(game, ConditionalGame)
        and game.n == 2
        and game.samples.shape == (4, 2)
    )
    assert "n_samples=4" in repr(game)


# --------------------------------------------------------------------------- empirical
def test_empirical_conditional_stratifies_a_discrete_feature_by_hand():
    """h = 0 on a 0/1 feature: v({2}) = mean of f(d_1, x_2) over rows with d_2 = x_2."""
    f = lambda X: X[:, 0] ** 2 + 3 * X[:, 1] + X[:, 0] * X[:, 1]
    data = np.array([[1.0, 0.0], [2.0, 1.0], [4.0, 1.0], [-1.0, 0.0], [3.0, 0.0]])
    x = np.array([0.5, 1.0])
    v = empirical_conditional_game(f, x, data, bandwidth=[np.inf, 0.0])(all_masks(2))
    rows_bp1 = data[data[:, 1] == 1.0]
    expected = [
        f(data).mean(),  # {}: every row, equal weights
        f(
            np.c_[np.full(5, x[0]), data[:, 1]]
        ).mean(),  # {1}: h_1 = inf, no conditioning
        f(np.c_[rows_bp1[:, 0], np.ones(2)]).mean(),  # {2}: rows with d_2 = x_2 only
        f(x[None])[0],  # N: the prediction
    ]
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-12)


def test_empirical_conditional_kernel_weights_by_hand():
    """w_j({1}) is proportional to exp(-(d_j1 - x_1)^2 / (2 h^2))."""
    f = lambda X: np.sin(X[:, 0]) + X[:, 1]
    rng = np.random.default_rng(12)
    data, x, h = rng.normal(size=(30, 2)), np.array([0.3, -0.2]), 0.7
    game = empirical_conditional_game(f, x, data, bandwidth=[h, h])
    k = np.exp(-((data[:, 0] - x[0]) ** 2) / (2 * h**2))
    w = k / k.sum()
    only_1 = np.array([[True, False]])
    np.testing.assert_allclose(game.coalition_weights(only_1)[0], w, rtol=0, atol=1e-15)
    expected = w @ f(np.c_[np.full(30, x[0]), data[:, 1]])
    np.testing.assert_allclose(game(only_1), [expected], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        game.effective_rows(only_1), [1 / (w**2).sum()], rtol=1e-12
    )


def test_empirical_conditional_with_infinite_bandwidth_is_marginal():
    rng = np.random.default_rng(13)
    x, data = rng.normal(size=3), rng.normal(size=(40, 3))
    f = lambda X: np.tanh(X[:, 0] * X[:, 1]) + X[:, 2] ** 2
    cond = empirical_conditional_game(f, x, data, bandwidth=np.inf)
    np.testing.assert_allclose(
        shapley_values(cond),
        shapley_values(marginal_game(f, x, data)),
        rtol=0,
        atol=1e-13,
    )


def test_empirical_conditional_recovers_the_gaussian_conditional():
    """Many rows, a narrow kernel: v({2}) near E[X_1 | X_2 = x_2] for f = x_1."""
    mu, s1, s2, rho = np.zeros(2), 1.0, 2.0, 0.8
    cov = np.array([[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]])
    data = np.random.default_rng(14).multivariate_normal(mu, cov, size=200_000)
    x = np.array([1.0, 2.0])
    game = empirical_conditional_game(
        lambda X: X[:, 0], x, data, bandwidth=[0.05, 0.05]
    )
    only_2 = np.array([[False, True]])
    exact = rho * s1 / s2 * x[1]
    # n_eff rows with conditional sd s1 sqrt(1 - rho^2); the kernel's bias is O(h^2)
    se = s1 * np.sqrt(1 - rho**2) / np.sqrt(game.effective_rows(only_2)[0])
    assert abs(game(only_2)[0] - exact) < 5 * se + 0.01


def test_empirical_conditional_efficiency_and_types():
    rng = np.random.default_rng(15)
    x, data = rng.normal(size=3), rng.normal(size=(25, 3))
    f = lambda X: X[:, 0] * X[:, 1] - X[:, 2]
    game = empirical_conditional_game(f, x, data, bandwidth=[0.5, 1.0, 2.0])
    assert isinstance(game, EmpiricalConditionalGame) and game.n == 3
    v = game(all_masks(3)[[0, -1]])
    np.testing.assert_allclose(v, [f(data).mean(), f(x[None])[0]], rtol=0, atol=1e-13)
    np.testing.assert_allclose(
        shapley_values(game).sum(), v[1] - v[0], rtol=0, atol=1e-12
    )
    assert "bandwidth=[0.5, 1.0, 2.0]" in repr(game)


def test_empirical_conditional_chunked_is_the_same():
    rng = np.random.default_rng(16)
    x, data = rng.normal(size=3), rng.normal(size=(9, 3))
    f = Counting(additive)
    small = empirical_conditional_game(f, x, data, 0.8, max_rows=20)(all_masks(3))
    assert max(f.rows) <= 20
    full = empirical_conditional_game(additive, x, data, 0.8)(all_masks(3))
    np.testing.assert_allclose(small, full, rtol=0, atol=1e-14)


@pytest.mark.parametrize(
    "bandwidth, match",
    [
        ([1.0, -1.0], ">= 0"),
        ([1.0, np.nan], ">= 0"),
        ([1.0, 2.0, 3.0], "one per feature"),
        ("wide", "one per feature"),
    (True, "must be numbers"),
    ([True, False], "must be numbers"),
    ],
)
def test_empirical_conditional_bad_bandwidth(bandwidth, match):
    with pytest.raises(ValueError, match=match):
        empirical_conditional_game(F_OK, np.zeros(2), np.ones((3, 2)), bandwidth)


def test_empirical_conditional_no_matching_row():
    game = empirical_conditional_game(
        F_OK, [0.0, 0.5], [[1.0, 0.0], [2.0, 1.0]], [1.0, 0.0]
    )
    with pytest.raises(
        ValueError, match=r"no data row matches x exactly on the feature\(s\) \[1\]"
    ):
        game(all_masks(2))
