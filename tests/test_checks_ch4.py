"""The checks of chapter 4 can fail: each rejects the planted error the text says it detects.

Every function ``*_check`` below is the chapter's assertion, written once more with the
chapter's tolerance. Each test rebuilds the chapter's setting (the ten-feature numpy
network ``f10`` with all its coalitions, the seeded disk network and its background, the
step model) and shows that the honest value passes and that an error of the size the
text names fails: an absolute tolerance is an absolute tolerance (``rtol=0``).
"""

from __future__ import annotations

import numpy as np
import pytest
from chapter4_models import N_BACKGROUND, X_DISK, disk_network

import companion
from companion.game import coalition_masks
from companion.kernel import constrained_fit
from companion.missing import marginal_game

TOL = 1e-6  # about the chapter's measured float32 tolerance 2 delta for the disk network


# ----------------------------------------------------------------------------- settings
@pytest.fixture(scope="module")
def ten():
    """The chapter's ten-feature model with all 2^10 coalitions and its exact values."""
    p = 10
    rng = np.random.default_rng(10)
    W, a = rng.normal(size=(p, 8)) / np.sqrt(p), rng.normal(size=8)

    def f10(X):
        return np.tanh(np.asarray(X, dtype=float) @ W) @ a

    background, x = rng.normal(size=(20, p)), rng.normal(size=p)
    game = marginal_game(f10, x, background)
    Z = coalition_masks(np.arange(2**p), p)
    v = game(Z)
    size = Z.sum(axis=1)
    inner = (size > 0) & (size < p)
    return {"p": p, "Z": Z[inner], "size": size[inner], "y": (v[inner] - v[0])[:, None],
            "delta": np.array([v[-1] - v[0]]), "exact": companion.shapley_values(game)}


@pytest.fixture(scope="module")
def disk_setting():
    """The chapter's disk network, background and explained point."""
    data, _, f = disk_network()
    x, background = X_DISK, data.X_train[:N_BACKGROUND]
    exact = companion.shapley_values(marginal_game(f, x, background))
    return {"data": data, "f": f, "x": x, "background": background, "exact": exact}


def fit(Z, w, y, delta):
    return constrained_fit(Z, w, y, delta)[0]


# ----------------------------------------------------------------------------- the checks
def step_check(phi, share_above):
    """phi_1 right and left of the step are 1 - phi_0 and -phi_0 (float64 rounding)."""
    np.testing.assert_allclose(phi, [1 - share_above, -share_above], rtol=0, atol=1e-12)


def correlation_check(x2, fx):
    """x2 and f are uncorrelated: |r| below three standard errors 1/sqrt(n)."""
    assert abs(np.corrcoef(x2, fx)[0, 1]) < 3 / np.sqrt(len(x2))


def same_minimiser_check(phi_a, phi_b):
    """Eliminating another unknown gives the same attributions (float64 rounding)."""
    np.testing.assert_allclose(phi_a, phi_b, rtol=0, atol=1e-12)


def float32_tolerance(f, rows):
    """The chapter's tolerance: 2 delta + 1e-12, delta the largest batch effect on a row.

    Every row is evaluated in four batch layouts (1, 7, 64 rows and all at once); delta is
    the largest spread of one row's outputs. The check: the tolerance stays below 1e-5.
    """
    batched = np.stack([np.concatenate([f(rows[s:s + b]) for s in range(0, len(rows), b)])
                        for b in (1, 7, 64, len(rows))])
    delta = np.ptp(batched, axis=0).max()
    tol = 2 * delta + 1e-12
    assert tol < 1e-5
    return delta, tol


def agreement_check(estimate, exact, tol):
    """An estimate of the disk's Shapley values equals the exact ones to the tolerance."""
    np.testing.assert_allclose(estimate, exact, rtol=0, atol=tol)


def lime_p2_check(phi_lime_constrained, exact):
    """(a) at p = 2: LIME's kernel with the constraints is Shapley, to the float32 TOL."""
    np.testing.assert_allclose(phi_lime_constrained, exact, rtol=0, atol=TOL)


def lime_p10_checks(gaps, errors):
    """Rows: Kernel SHAP, (a) LIME kernel + constraints, (b) LIME, as in the chapter."""
    assert max(gaps[:2]) < 1e-12       # Kernel SHAP and (a) are efficient
    assert errors[1] > 1e-3            # (a) is not Shapley at p = 10
    assert gaps[2] > 1e-3              # (b) is not efficient


def shortcut_check(shortcut_best, eliminated):
    """The big-M shortcut is at least 100 times less accurate than elimination."""
    assert shortcut_best > 100 * eliminated


def rounding_check(float64_error, exact_arithmetic_error):
    """At the largest M, float64 misses by over 1000 times what exact arithmetic does."""
    assert float64_error > 1000 * exact_arithmetic_error


def background_check(phi1, n_rows, spread, n_random=100):
    """Each background's phi_1 within 4 sd of the random backgrounds' mean: the sd of
    the difference, from the background's own sd (scaled to its size) and that of the
    mean of the random backgrounds."""
    sd = spread.std(ddof=1)
    sd_rows = np.hypot(sd * np.sqrt(n_random / np.asarray(n_rows)), sd / np.sqrt(len(spread)))
    z = (np.asarray(phi1) - spread.mean()) / sd_rows
    assert np.abs(z).max() < 4


# ----------------------------------------------------------------------------- step
def test_step_check_rejects_an_error_beyond_float64_rounding():
    draws = np.abs(np.random.default_rng(2).normal(size=(1000, 1)))
    lopsided = np.concatenate([draws[:600], -draws[600:]])

    def step(X):
        return (np.asarray(X, dtype=float)[:, 0] > 0).astype(float)

    phi = companion.kernel_shap(step, np.array([[1.0], [-1.0]]), lopsided).values[:, 0]
    share = (lopsided[:, 0] > 0).mean()
    step_check(phi, share)
    with pytest.raises(AssertionError):
        step_check(phi + np.array([1e-11, 0.0]), share)
    with pytest.raises(AssertionError):      # one background row more above the step
        step_check(phi, share + 1 / len(lopsided))


# ----------------------------------------------------------------------------- big M
def test_shortcut_check_fails_when_the_shortcut_is_as_good_as_elimination():
    shortcut_check(3e-12, 8e-15)
    with pytest.raises(AssertionError):
        shortcut_check(3e-12, 1e-13)


def test_rounding_check_fails_when_float64_is_as_good_as_exact_arithmetic():
    # chapter 4's sizes at M = 1e14: float64 misses by about 1e-10 (2e-10 on another
    # processor), exact arithmetic by 9e-17; a solve that lost no more than a few
    # hundred units of roundoff to the conditioning would be rejected
    rounding_check(1.5e-10, 9.3e-17)
    with pytest.raises(AssertionError):
        rounding_check(9e-14, 9.3e-17)


# ----------------------------------------------------------------------------- disk
def test_correlation_check_passes_the_disk_and_rejects_a_correlated_model(disk_setting):
    X = disk_setting["data"].X_test
    fx = disk_setting["f"](X)
    correlation_check(X[:, 1], fx)
    sd_f = fx.std()
    limit = 3 / np.sqrt(len(X))
    # a model that adds a linear term in x2, big enough for a correlation of 2 * limit
    planted = fx + 2.2 * limit * sd_f * X[:, 1] / X[:, 1].std()
    assert np.corrcoef(X[:, 1], planted)[0, 1] > limit
    with pytest.raises(AssertionError):
        correlation_check(X[:, 1], planted)


def disk_rows(setting):
    """The model rows behind the four coalitions of the disk point, as the chapter builds."""
    game = marginal_game(setting["f"], setting["x"], setting["background"])
    return game.fill(coalition_masks(np.arange(4), 2)).reshape(-1, 2)


def test_float32_tolerance_follows_the_batch_effect_and_rejects_a_large_one(disk_setting):
    f, rows = disk_setting["f"], disk_rows(disk_setting)
    delta, tol = float32_tolerance(f, rows)
    assert 0 <= delta and tol == 2 * delta + 1e-12

    def jittery(X):  # a model whose output moves by 5e-6 with the batch size
        return f(X) + 5e-6 * (len(X) % 2)

    with pytest.raises(AssertionError):
        float32_tolerance(jittery, rows)


def test_agreement_check_passes_the_methods_and_rejects_three_times_delta(disk_setting):
    f, x, bg, exact = (disk_setting[k] for k in ("f", "x", "background", "exact"))
    delta, tol = float32_tolerance(f, disk_rows(disk_setting))
    ours = companion.kernel_shap(f, x, bg).values
    agreement_check(ours, exact, tol)
    # an error of three times delta exceeds the worst case 2 delta of float32 batching;
    # the smallest planted error is 1e-9, in case delta is zero on this machine
    planted = max(3 * delta, 1e-9)
    with pytest.raises(AssertionError):
        agreement_check(ours + np.array([planted, -planted]), exact, tol)


def test_same_minimiser_check_rejects_a_different_minimiser(disk_setting, ten):
    Z = ten["Z"]
    pi = companion.kernel_weight(ten["size"], ten["p"])
    last = fit(Z, pi, ten["y"], ten["delta"])
    first = fit(Z[:, ::-1], pi, ten["y"], ten["delta"])[::-1]
    same_minimiser_check(first, last)
    with pytest.raises(AssertionError):
        same_minimiser_check(first + 1e-11, last)
    # an unconstrained fit (free intercept) is a different minimiser
    design = np.column_stack([np.ones(len(Z)), Z])
    root = np.sqrt(pi)
    free = np.linalg.lstsq(root[:, None] * design, root * ten["y"][:, 0], rcond=None)[0]
    with pytest.raises(AssertionError):
        same_minimiser_check(free[1:], last)


def test_lime_p2_check_passes_lime_with_constraints_and_rejects_unequal_weights(
        disk_setting):
    f, x, bg, exact = (disk_setting[k] for k in ("f", "x", "background", "exact"))
    v_1 = f(np.column_stack([np.full(len(bg), x[0]), bg[:, 1]])).mean()
    v_2 = f(np.column_stack([bg[:, 0], np.full(len(bg), x[1])])).mean()
    phi0, f_x = f(bg).mean(), f(x[None])[0]
    Z = np.array([[True, False], [False, True]])
    y = np.array([[v_1 - phi0], [v_2 - phi0]])
    w_lime = companion.lime_kernel(np.sqrt(2 - Z.sum(axis=1)), 0.75 * np.sqrt(2))
    lime_p2_check(fit(Z, w_lime, y, np.array([f_x - phi0])), exact)
    with pytest.raises(AssertionError):            # an error ten times the tolerance
        lime_p2_check(fit(Z, w_lime, y, np.array([f_x - phi0])) + 10 * TOL, exact)
    with pytest.raises(AssertionError):            # a kernel that weighs the two unequally
        lime_p2_check(fit(Z, np.array([1.0, 2.0]), y, np.array([f_x - phi0])), exact)


def test_lime_p10_checks_reject_the_shapley_kernel_and_a_broken_efficiency(ten):
    p, Z, y, delta, exact = (ten[k] for k in ("p", "Z", "y", "delta", "exact"))
    pi = companion.kernel_weight(ten["size"], p)
    w_lime = companion.lime_kernel(np.sqrt(p - ten["size"]), 0.75 * np.sqrt(p))
    shapley, lime_constrained = fit(Z, pi, y, delta), fit(Z, w_lime, y, delta)
    design = np.column_stack([np.ones(len(Z)), Z])
    root = np.sqrt(w_lime)
    free = np.linalg.lstsq(root[:, None] * design, root * y[:, 0], rcond=None)[0][1:]

    def table(rows):
        gaps = [abs(phi.sum() - delta[0]) for phi in rows]
        errors = [np.abs(phi - exact).max() for phi in rows]
        return gaps, errors

    lime_p10_checks(*table([shapley, lime_constrained, free]))
    with pytest.raises(AssertionError):   # (a) computed with the Shapley kernel is exact
        lime_p10_checks(*table([shapley, shapley, free]))
    with pytest.raises(AssertionError):   # (a) off efficiency by 1e-11
        broken = lime_constrained + np.r_[1e-11, np.zeros(p - 1)]
        lime_p10_checks(*table([shapley, broken, free]))
    with pytest.raises(AssertionError):   # (b) replaced by an efficient fit
        lime_p10_checks(*table([shapley, lime_constrained, lime_constrained]))


def test_background_check_rejects_a_background_from_another_distribution(disk_setting):
    f, x, data = disk_setting["f"], disk_setting["x"], disk_setting["data"]
    rng = np.random.default_rng(0)
    n_train = len(data.X_train)
    spread = np.array([
        companion.kernel_shap(f, x, data.X_train[rng.choice(n_train, 100, replace=False)])
        .values[0] for _ in range(20)])
    honest = {1000: np.random.default_rng(2020).normal(size=(1000, 2)),
              50: data.X_train[:50], 100: data.X_train[:100]}
    phi1 = [companion.kernel_shap(f, x, bg).values[0] for bg in honest.values()]
    background_check(phi1, list(honest), spread)
    # x2 drawn with twice the spread: fewer background rows near the disk's centre line
    wide = np.random.default_rng(5).normal(size=(1000, 2)) * np.array([1.0, 2.0])
    phi1_wide = companion.kernel_shap(f, x, wide).values[0]
    with pytest.raises(AssertionError):
        background_check([*phi1, phi1_wide], [*honest, 1000], spread)
    # and a planted shift of 5 standard deviations of a 100-row background
    with pytest.raises(AssertionError):
        background_check([phi1[2] + 5 * spread.std(ddof=1)], [100], spread)


# ----------------------------------------------------------------------------- appendix
def rate_check(m, errors):
    """The performance appendix's check of permutation sampling's 1/sqrt(m) rate.

    ``errors`` is (fits, budgets): one row per explained row and seed. A line is fitted to
    log error against log m per row; the mean slope must lie within three standard errors
    of -1/2, and three standard errors must stay below 1/4.
    """
    slopes = np.array([np.polyfit(np.log(m), np.log(e), 1)[0] for e in errors])
    slope, slope_se = slopes.mean(), slopes.std(ddof=1) / np.sqrt(len(slopes))
    assert abs(slope + 0.5) < 3 * slope_se
    assert 3 * slope_se < 0.25


def synthetic_errors(rate, fits=18, seed=0):
    """Relative errors like the appendix's: c m^-rate times log-normal noise.

    The noise (sd 0.45 in log) makes the slopes scatter as much as the appendix's own do
    (a standard error of about 0.05 over 18 fits), at the appendix's orderings m.
    """
    rng = np.random.default_rng(seed)
    m = np.array([8, 18, 36, 72, 144])
    return m, 0.3 * m ** -rate * np.exp(0.45 * rng.normal(size=(fits, len(m))))


@pytest.mark.parametrize("seed", range(5))
def test_rate_check_accepts_the_square_root_rate(seed):
    rate_check(*synthetic_errors(0.5, seed=seed))


@pytest.mark.parametrize("rate", [0.25, 0.75])
def test_rate_check_rejects_a_quarter_and_three_quarters(rate):
    for seed in range(5):
        with pytest.raises(AssertionError):
            rate_check(*synthetic_errors(rate, seed=seed))
