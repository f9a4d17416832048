"""Tests of companion.kernel: Kernel SHAP, its coalition design, and LIME on the same samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.game import shapley_values
from companion.kernel import (
    coalition_design,
    constrained_fit,
    default_budget,
    kernel_shap,
    lime,
)
from companion.missing import marginal_game
from companion.weights import kernel_weight


def nonlinear_model(p: int, seed: int = 0):
    """A smooth model with interactions between every pair of neighbouring features."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(p, 6))
    a = rng.normal(size=p)

    def f(X):
        X = np.asarray(X, dtype=float)
        return np.tanh(X @ W).sum(axis=1) + (X[:, :-1] * X[:, 1:]) @ a[:-1] if p > 1 else np.tanh(X @ W).sum(axis=1)

    return f


def data(p: int, n_background: int = 12, seed: int = 1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=p), rng.normal(size=(n_background, p))


def full_budget(p: int) -> int:
    return 2**p - 2


# ----------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("p", [1, 2, 3, 5, 7])
def test_linear_model_gives_w_times_centred_x(p):
    rng = np.random.default_rng(p)
    w, b = rng.normal(size=p), 0.3
    x, background = data(p)
    ex = kernel_shap(lambda X: X @ w + b, x, background, n_samples=max(full_budget(p), 1))
    np.testing.assert_allclose(ex.values, w * (x - background.mean(axis=0)), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ex.base_values, (background @ w + b).mean(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("budget", [9, 12, 20, 37, 100])
def test_linear_model_is_exact_at_any_budget(budget):
    # v(S) - v(empty) is exactly additive, so every full-rank design fits it without residual
    p = 8
    rng = np.random.default_rng(0)
    w = rng.normal(size=p)
    x, background = data(p)
    ex = kernel_shap(lambda X: X @ w, x, background, n_samples=budget, rng=3)
    np.testing.assert_allclose(ex.values, w * (x - background.mean(axis=0)), rtol=0, atol=1e-10)


@pytest.mark.parametrize("p", [2, 3, 4, 6])
def test_full_budget_equals_exact_shapley_values(p):
    f = nonlinear_model(p)
    x, background = data(p)
    exact = shapley_values(marginal_game(f, x, background))
    for budget in (full_budget(p), full_budget(p) + 5):
        ex = kernel_shap(f, x, background, n_samples=budget)
        np.testing.assert_allclose(ex.values, exact, rtol=0, atol=1e-10)
    assert coalition_design(p, full_budget(p)).exact


def test_full_budget_agrees_with_shap_kernel_explainer():
    p = 4
    f = nonlinear_model(p)
    x, background = data(p)
    ours = kernel_shap(f, x, background, n_samples=full_budget(p))
    explainer = shap.KernelExplainer(f, background)
    theirs = explainer.shap_values(x[None, :], nsamples=full_budget(p), l1_reg=False, silent=True)[0]
    # shap rounds |phi| < 1e-10 to zero, hence 1e-9
    np.testing.assert_allclose(ours.values, theirs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.base_values, explainer.expected_value, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- efficiency, seeds
@pytest.mark.parametrize("p", [3, 5, 9])
def test_efficiency_holds_at_every_budget(p):
    f = nonlinear_model(p)
    x, background = data(p)
    fx = f(x[None, :])[0]
    budgets = sorted(set(range(p + 1, min(full_budget(p), 4 * p) + 1)) | {full_budget(p), 300})
    for budget in budgets:
        ex = kernel_shap(f, x, background, n_samples=budget, rng=budget)
        assert abs(ex.values.sum() - (fx - ex.base_values)) <= 1e-12


@settings(max_examples=25, deadline=None)
@given(p=st.integers(2, 10), extra=st.integers(1, 400), seed=st.integers(0, 2**16))
def test_efficiency_property(p, extra, seed):
    budget = min(p + extra, full_budget(p))
    f = nonlinear_model(p, seed=seed)
    x, background = data(p, n_background=5, seed=seed)
    ex = kernel_shap(f, x, background, n_samples=budget, rng=seed)
    assert abs(ex.values.sum() - (f(x[None, :])[0] - ex.base_values)) <= 1e-12


def test_same_seed_same_values_and_other_seed_differs():
    p = 10
    f = nonlinear_model(p)
    x, background = data(p)
    a = kernel_shap(f, x, background, n_samples=300, rng=7).values
    b = kernel_shap(f, x, background, n_samples=300, rng=np.random.default_rng(7)).values
    c = kernel_shap(f, x, background, n_samples=300, rng=8).values
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_sampled_estimate_is_close_to_exact():
    p = 10
    f = nonlinear_model(p)
    x, background = data(p)
    exact = shapley_values(marginal_game(f, x, background))
    ex = kernel_shap(f, x, background, n_samples=600, rng=0)
    assert np.linalg.norm(ex.values - exact) / np.linalg.norm(exact) < 0.05


def test_several_rows_match_one_row_at_a_time():
    p = 6
    f = nonlinear_model(p)
    rng = np.random.default_rng(5)
    X, background = rng.normal(size=(3, p)), rng.normal(size=(8, p))
    both = kernel_shap(f, X, background, n_samples=30, rng=2, feature_names=list("abcdef"))
    assert both.values.shape == (3, p) and both.base_values.shape == (3,)
    assert both.feature_names == list("abcdef")
    for r in range(3):
        one = kernel_shap(f, X[r], background, n_samples=30, rng=2)
        np.testing.assert_allclose(both.values[r], one.values, rtol=0, atol=1e-12)
        np.testing.assert_allclose(both.data[r], X[r])
    assert kernel_shap(f, X[:1], background, n_samples=30, rng=2).values.shape == (1, p)


def test_default_budget_is_shaps_auto():
    assert default_budget(16) == 2 * 16 + 2048
    assert default_budget(5) == 30
    p = 5
    f = nonlinear_model(p)
    x, background = data(p)
    np.testing.assert_allclose(
        kernel_shap(f, x, background).values,
        shapley_values(marginal_game(f, x, background)), rtol=0, atol=1e-10,
    )


# ----------------------------------------------------------------------------- the design
@pytest.mark.parametrize("p,budget", [(4, 5), (6, 9), (6, 12), (8, 40), (12, 200), (12, 501), (16, 500), (16, 2080), (30, 300)])
def test_design_is_distinct_within_budget_and_keeps_kernel_mass(p, budget):
    d = coalition_design(p, budget, rng=0)
    codes = {row.tobytes() for row in d.masks}
    assert len(codes) == len(d.masks)  # no coalition twice
    assert budget - 1 <= len(d.masks) <= budget  # an odd leftover may go unused
    sizes = d.sizes
    assert sizes.min() >= 1 and sizes.max() <= p - 1
    # weighted rows of each group {g, p - g} carry that group's whole kernel mass
    w = kernel_weight(sizes, p) * d.factor
    for g in range(1, p // 2 + 1):
        in_group = (sizes == g) | (sizes == p - g)
        if in_group.any():
            count = math.comb(p, g) * (1 if 2 * g == p else 2)
            if budget >= 2 * p or g > 1:
                assert w[in_group].sum() == pytest.approx(count * kernel_weight(g, p), rel=1e-12)


@pytest.mark.parametrize("budget, enumerated", [
    (200, 2 * 12),  # sizes 1 and 11: their kernel share (72 of 200) covers their 24
    (500, 2 * 12 + 2 * math.comb(12, 2)),  # and sizes 2 and 10
    (1598, 2 * 12 + 2 * math.comb(12, 2) + 2 * math.comb(12, 3)),  # not 4 and 8 (990 > 425)
])
def test_design_enumerates_small_sizes_first_and_pairs_the_rest(budget, enumerated):
    p = 12
    d = coalition_design(p, budget, rng=0)
    assert d.n_enumerated == enumerated
    sampled = {row.tobytes() for row in d.masks[d.n_enumerated:]}
    assert len(sampled) == budget - d.n_enumerated
    assert all((~row).tobytes() in sampled for row in d.masks[d.n_enumerated:])  # complementary pairs


def test_small_budget_uses_all_single_features():
    p, budget = 7, 9
    d = coalition_design(p, budget, rng=0)
    np.testing.assert_array_equal(d.masks[:p], np.eye(p, dtype=bool))
    assert (d.sizes[p:] == p - 1).all()


def test_singular_design_warns_and_keeps_efficiency():
    Z = np.array([[1, 0, 0], [0, 1, 1]], dtype=bool)  # S and its complement: one direction only
    y = np.array([[0.5], [1.5]])
    with pytest.warns(RuntimeWarning, match="minimum-norm"):
        phi = constrained_fit(Z, np.ones(2), y, np.array([2.0]))
    assert phi.sum() == pytest.approx(2.0, abs=1e-12)


# ----------------------------------------------------------------------------- LIME
def test_lime_recovers_a_linear_model():
    p = 5
    rng = np.random.default_rng(3)
    w = rng.normal(size=p)
    x, background = data(p)
    ex = lime(lambda X: X @ w + 1.0, x, background, n_samples=20, width=0.75 * math.sqrt(p), rng=0)
    np.testing.assert_allclose(ex.values, w * (x - background.mean(axis=0)), rtol=0, atol=1e-10)
    np.testing.assert_allclose(ex.base_values, (background @ w + 1.0).mean(), rtol=0, atol=1e-10)


def test_lime_breaks_efficiency_on_a_nonlinear_model():
    p = 6
    f = nonlinear_model(p)
    x, background = data(p)
    shap_ex = kernel_shap(f, x, background, n_samples=full_budget(p))
    lime_ex = lime(f, x, background, n_samples=full_budget(p), width=0.75 * math.sqrt(p))
    gap = f(x[None, :])[0] - shap_ex.base_values
    assert abs(lime_ex.values.sum() - gap) > 1e-3
    assert lime_ex.values.shape == (p,)


def test_lime_with_a_flat_kernel_is_ordinary_least_squares_over_all_coalitions():
    p = 4
    f = nonlinear_model(p)
    x, background = data(p)
    ex = lime(f, x, background, n_samples=full_budget(p), width=1e6)
    game = marginal_game(f, x, background)
    from companion.game import coalition_masks

    Z = coalition_masks(np.arange(2**p), p)
    design = np.column_stack([np.ones(2**p), Z])
    coef = np.linalg.lstsq(design, game(Z), rcond=None)[0]
    np.testing.assert_allclose(ex.values, coef[1:], rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    f = nonlinear_model(3)
    x, background = data(3)
    with pytest.raises(ValueError, match="columns but x has 3 features"):
        kernel_shap(f, x, background[:, :2], n_samples=6)
    with pytest.raises(ValueError, match="empty"):
        kernel_shap(f, x, np.zeros((0, 3)), n_samples=6)
    with pytest.raises(ValueError, match="below the minimum"):
        kernel_shap(nonlinear_model(6), np.zeros(6), np.ones((4, 6)), n_samples=6)
    with pytest.raises(TypeError, match="n_samples must be an int"):
        kernel_shap(f, x, background, n_samples=10.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        kernel_shap(lambda X: np.full(len(X), np.nan), x, background, n_samples=6)
    with pytest.raises(ValueError, match="NaN or inf"):
        kernel_shap(f, np.array([1.0, np.inf, 0.0]), background, n_samples=6)
    with pytest.raises(TypeError, match="callable"):
        kernel_shap("model", x, background, n_samples=6)
    with pytest.raises(ValueError, match="feature_names"):
        kernel_shap(f, x, background, n_samples=6, feature_names=["a"])
    with pytest.raises(TypeError, match="rng"):
        kernel_shap(nonlinear_model(6), np.zeros(6), np.ones((4, 6)), n_samples=20, rng="seed")


def test_lime_bad_inputs():
    f = nonlinear_model(3)
    x, background = data(3)
    with pytest.raises(ValueError, match="width"):
        lime(f, x, background, n_samples=6, width=0.0)
    with pytest.raises(ValueError, match="columns but x has 3 features"):
        lime(f, x, background[:, :1], n_samples=6, width=1.0)
    with pytest.raises(ValueError, match="below the minimum"):
        lime(nonlinear_model(8), np.zeros(8), np.ones((2, 8)), n_samples=5, width=1.0)


def test_design_refuses_a_non_integer_number_of_features():
    with pytest.raises(TypeError, match="p must be an int number of features"):
        coalition_design(2.0, 4)
    with pytest.raises(ValueError, match="p must be at least 1"):
        coalition_design(0, 4)
