"""The checks of chapter 3 can fail: each rejects the planted error the text says it
detects.

Chapter 3 asserts its claims in visible cells. These tests rebuild the chapter's setting
(the same data, network, seeds, background and patient) and run each check twice: on the
chapter's inputs, where it passes, and on inputs with one planted error of the size the
chapter says the check detects, where it must fail.

* the absolute tolerance of 1e-6 between the hand computation, the companion and
  ``shap``:
  background ages shifted by 0.01 years, one background row counted twice, a Shapley
  weight off by 1e-4, a baseline shifted by 0.01 years, ``shap``'s subsample drawn with
  another random state, k-means weights ignored;
* the conditional game of the patient: a wrong BP stratum, a kernel left out, and data
  in which blood pressure rises with age (the independence check); its standard error
  against shuffled flags, and a standard error without the covariance of the two
  shifts (the one the chapter used before), which the shuffles reject;
* the correlated Gaussian: a sampler whose conditional-mean correction is 5 % too large,
  against the exact standard deviations (the old tolerance 4 s1 / sqrt(m) let it pass
  the correlation sweep), and against ``shap.LinearExplainer``;
* the background-size law: backgrounds drawn with replacement, and the prediction
  without the finite-population correction.

The checks that hold by construction (efficiency, the null player's zero, phi_2 = 0 for
a model that ignores x_2) are demonstrations in the chapter and have no test here.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest
import torch

from companion import shapley_values
from companion.datasets import age_bp
from companion.game import coalition_masks
from companion.missing import (
    ConditionalGame,
    baseline_game,
    conditional_game,
    empirical_conditional_game,
    marginal_game,
)
from companion.models import AgeBPNet, predict_fn, train_classifier

shap = pytest.importorskip("shap")

TOL = 1e-6  # the chapter's absolute tolerance between computations of the same game
EMPTY = coalition_masks(np.array([0]), 2)
ALL4 = coalition_masks(np.arange(4), 2)


@pytest.fixture(scope="module")
def patient():
    """The chapter's network (2000 epochs, seeds 0), background and patient."""
    data = age_bp()
    X_train, y_train = data.X_train, data.y_train
    age_mean, age_sd = X_train[:, 0].mean(), X_train[:, 0].std()
    torch.manual_seed(0)
    model = AgeBPNet(shift=(age_mean, 0.0), scale=(age_sd, 1.0))
    train_classifier(model, X_train, y_train, epochs=2000, lr=1e-3, seed=0)
    rng = np.random.default_rng(0)
    background = X_train[rng.choice(len(X_train), size=200, replace=False)]
    return {
        "f": predict_fn(model, "probability"),
        "x": data.X_test[0],
        "X_train": X_train,
        "background": background,
    }


def close(a, b) -> bool:
    """The chapter's comparison: assert_allclose(a, b, rtol=0, atol=TOL) passes."""
    try:
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
    except AssertionError:
        return False
    return True


# ---------------------------------------------------------------------------- marginal
def phi_by_hand(v, weight=0.5):
    """The chapter's two-player formulas; weight 0.5 is the Shapley weight."""
    v_empty, v_age, v_bp, v_both = v
    return np.array(
        [
            weight * (v_age - v_empty) + (1 - weight) * (v_both - v_bp),
            weight * (v_bp - v_empty) + (1 - weight) * (v_both - v_age),
        ]
    )


def test_companion_kernel_exact_and_hand_agree_and_planted_errors_fail(patient):
    f, x, bg = patient["f"], patient["x"], patient["background"]
    phi = shapley_values(marginal_game(f, x, bg))
    kernel = shap.KernelExplainer(f, bg).shap_values(
        x[None], l1_reg=False, silent=True
    )[0]
    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    exact = shap.explainers.Exact(f, masker)(x[None], silent=True).values[0]
    hand = phi_by_hand(marginal_game(f, x, bg)(ALL4))
    assert close(phi, kernel) and close(phi, exact) and close(phi, hand)

    shifted = shapley_values(marginal_game(f, x, bg + np.array([0.01, 0.0])))
    assert not close(shifted, kernel)  # background ages + 0.01 years
    doubled = np.r_[2.0, np.ones(len(bg) - 1)]
    assert not close(shapley_values(marginal_game(f, x, bg, weights=doubled)), kernel)
    wrong_weight = phi_by_hand(marginal_game(f, x, bg)(ALL4), weight=0.5 + 1e-4)
    assert not close(wrong_weight, kernel)  # a Shapley weight off by 1e-4


def test_default_masker_is_shap_sample_and_another_subsample_fails(patient):
    f, x, bg = patient["f"], patient["x"], patient["background"]
    default = shap.explainers.Exact(f, shap.maskers.Independent(bg))(
        x[None], silent=True
    )
    kept = shapley_values(marginal_game(f, x, shap.sample(bg, 100)))
    assert close(default.values[0], kept)
    other = shapley_values(marginal_game(f, x, shap.sample(bg, 100, random_state=1)))
    assert not close(default.values[0], other)


def test_baseline_game_matches_shap_and_a_shifted_baseline_fails(patient):
    f, x, X_train = patient["f"], patient["x"], patient["X_train"]
    train_mean = X_train.mean(axis=0)
    one_row = train_mean[None, :]
    kernel = shap.KernelExplainer(f, one_row).shap_values(
        x[None], l1_reg=False, silent=True
    )[0]
    assert close(shapley_values(baseline_game(f, x, train_mean)), kernel)
    shifted = shapley_values(baseline_game(f, x, train_mean + np.array([0.01, 0.0])))
    assert not close(shifted, kernel)


def test_kmeans_summary_needs_its_weights(patient):
    f, x, bg = patient["f"], patient["x"], patient["background"]
    summary = shap.kmeans(bg, 10)
    kernel = shap.KernelExplainer(f, summary).shap_values(
        x[None], l1_reg=False, silent=True
    )[0]
    weighted = shapley_values(
        marginal_game(f, x, summary.data, weights=summary.weights)
    )
    assert close(weighted, kernel)
    assert not close(shapley_values(marginal_game(f, x, summary.data)), kernel)


# ------------------------------------------------------------------------- conditional
def patient_conditional_check(f, x, X, bp_of_stratum=None, bandwidth=None):
    """The chapter's two checks of the patient's conditional game.

    Returns (hand computation agrees, independence check passes). ``bp_of_stratum`` and
    ``bandwidth`` plant errors in the companion's game only.
    """
    n = len(X)
    h_age = 1.06 * X[:, 0].std(ddof=1) * n ** (-1 / 5)
    x_game = x if bp_of_stratum is None else np.array([x[0], bp_of_stratum])
    game = empirical_conditional_game(f, x_game, X, bandwidth=bandwidth or [h_age, 0.0])
    v = game(ALL4)
    kern = np.exp(-0.5 * ((X[:, 0] - x[0]) / h_age) ** 2)
    q_near = np.average(X[:, 1], weights=kern)
    f0, f1 = f(np.array([[x[0], 0.0], [x[0], 1.0]]))
    stratum = X[X[:, 1] == x[1]]
    hand = [
        (1 - q_near) * f0 + q_near * f1,
        f(np.c_[stratum[:, 0], np.full(len(stratum), x[1])]).mean(),
    ]
    hand_ok = close(v[1:3], hand)

    game_cond = empirical_conditional_game(f, x, X, bandwidth=[h_age, 0.0])
    phi_c, phi_m = shapley_values(game_cond), shapley_values(marginal_game(f, x, X))
    q_all = X[:, 1].mean()
    omega = kern / kern.sum()
    g = f(np.c_[X[:, 0], np.zeros(n)])  # the chapter's patient has normal BP
    a = (f1 - f0) * (omega - 1 / n) + (g - g.mean()) / len(stratum)
    se_dphi = 0.5 * np.sqrt(q_all * (1 - q_all) * np.sum(a**2))
    independent_ok = np.abs(phi_c - phi_m).max() < 3 * se_dphi
    return hand_ok, bool(independent_ok)


def test_patient_conditional_game_checks_pass(patient):
    assert patient_conditional_check(
        patient["f"], patient["x"], patient["X_train"]
    ) == (True, True)


def test_patient_conditional_planted_errors_fail_the_hand_check(patient):
    f, x, X = patient["f"], patient["x"], patient["X_train"]
    assert not patient_conditional_check(f, x, X, bp_of_stratum=1.0)[0]  # wrong stratum
    assert not patient_conditional_check(f, x, X, bandwidth=[np.inf, 0.0])[
        0
    ]  # no kernel


def test_dependence_between_age_and_bp_fails_the_independence_check(patient):
    """A clinic where high blood pressure becomes likelier with age (about +1 in logit
    per 10 years): the conditional game moves the credit by many standard errors."""
    f, x, X = patient["f"], patient["x"], patient["X_train"]
    rng = np.random.default_rng(5)
    p_high = 1 / (1 + np.exp(-(X[:, 0] - 45.0) / 10.0))
    dependent = np.c_[X[:, 0], rng.binomial(1, p_high).astype(float)]
    assert patient_conditional_check(f, x, dependent)[1] is False


def test_patient_conditional_se_matches_shuffled_flags_and_rss_does_not(patient):
    """The chapter's standard error of the change of phi, with the covariance of the
    two shifts, matches the spread over shuffled BP flags; adding the two shifts'
    standard errors in quadrature (ignoring that they share the flags) overstates it
    by about 30 % and fails the same check."""
    f, x, X = patient["f"], patient["x"], patient["X_train"]
    n = len(X)
    h_age = 1.06 * X[:, 0].std(ddof=1) * n ** (-1 / 5)
    kern = np.exp(-0.5 * ((X[:, 0] - x[0]) / h_age) ** 2)
    omega = kern / kern.sum()
    f0, f1 = f(np.array([[x[0], 0.0], [x[0], 1.0]]))
    q = X[:, 1].mean()
    n0 = int(np.sum(X[:, 1] == x[1]))
    g = f(np.c_[X[:, 0], np.zeros(n)])
    a = (f1 - f0) * (omega - 1 / n) + (g - g.mean()) / n0
    se = 0.5 * np.sqrt(q * (1 - q) * np.sum(a**2))
    se_rss = 0.5 * np.hypot(
        abs(f1 - f0) * np.sqrt(q * (1 - q) * np.sum((omega - 1 / n) ** 2)),
        g.std(ddof=1) * np.sqrt(1 / n0 - 1 / n),
    )
    rng = np.random.default_rng(7)
    changes = []
    for _ in range(200):
        shuffled = np.c_[X[:, 0], rng.permutation(X[:, 1])]
        changes.append(
            shapley_values(
                empirical_conditional_game(f, x, shuffled, bandwidth=[h_age, 0.0])
            )[0]
            - shapley_values(marginal_game(f, x, shuffled))[0]
        )
    sd = np.std(changes, ddof=1)
    se_sd = sd / np.sqrt(2 * 199)
    assert abs(sd - se) <= 3 * se_sd
    assert abs(sd - se_rss) > 3 * se_sd


# ---------------------------------------------------------------------------- Gaussian
MU, S1, S2, RHO, M_DRAWS = np.zeros(2), 1.0, 2.0, 0.8, 100_000
X_CORR = np.array([1.0, 2.0])


def cov_of(rho):
    return np.array([[S1**2, rho * S1 * S2], [rho * S1 * S2, S2**2]])


def f_lin(X):
    return X[:, 0]


def sd_phi_cond(rho, n_draws):
    """The chapter's exact sd of (phi_1, phi_2) for f = x1."""
    return np.array(
        [
            S1 * np.sqrt((1 - 0.75 * rho**2) / n_draws),
            abs(rho) * S1 / (2 * np.sqrt(n_draws)),
        ]
    )


def closed_form(rho):
    phi2 = 0.5 * rho * S1 / S2 * (X_CORR[1] - MU[1])
    return np.array([X_CORR[0] - MU[0] - phi2, phi2])


class BiasedConditionalGame(ConditionalGame):
    """A planted sampler error: the conditional-mean correction 5 % too large."""

    def fill(self, masks):
        filled = super().fill(masks)
        correction = filled - self.samples[None]
        return np.where(masks[:, None, :], filled, self.samples + 1.05 * correction)


def phis(game_cls, rho, n_draws, rng):
    game = game_cls(f_lin, X_CORR, MU, cov_of(rho), n_samples=n_draws, rng=rng)
    return shapley_values(game)


def test_biased_sampler_fails_the_exact_sd_check():
    sd = sd_phi_cond(RHO, M_DRAWS)
    honest = phis(ConditionalGame, RHO, M_DRAWS, 2)
    assert np.all(np.abs(honest - closed_form(RHO)) <= 4 * sd)
    biased = phis(BiasedConditionalGame, RHO, M_DRAWS, 2)
    assert not np.all(np.abs(biased - closed_form(RHO)) <= 4 * sd)


def test_biased_sampler_fails_the_rho_sweep_but_passed_the_old_tolerance():
    rhos, t_sweep = np.linspace(-0.9, 0.9, 13), 20_000
    closed = np.array([closed_form(r)[1] for r in rhos])
    sd = np.array([sd_phi_cond(r, t_sweep)[1] for r in rhos])
    honest = np.array([phis(ConditionalGame, r, t_sweep, 3)[1] for r in rhos])
    biased = np.array([phis(BiasedConditionalGame, r, t_sweep, 3)[1] for r in rhos])
    assert np.all(np.abs(honest - closed) <= 4 * sd + 1e-12)
    assert not np.all(np.abs(biased - closed) <= 4 * sd + 1e-12)
    # the bound the chapter used before, 4 s1 / sqrt(m), about 10 sd for phi_2: blind
    assert np.all(np.abs(biased - closed) <= 4 * S1 / np.sqrt(t_sweep))


def test_linear_explainer_cross_check_catches_a_biased_sampler():
    n_orderings = 20_000
    np.random.seed(0)
    impute = shap.maskers.Impute({"mean": MU, "cov": cov_of(RHO)}, method="linear")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        linear = shap.LinearExplainer(
            (np.array([1.0, 0.0]), 0.0), impute, nsamples=n_orderings
        )
    phi_linear = linear.shap_values(X_CORR[None])[0]
    sd_linear = abs(closed_form(RHO)[1]) / np.sqrt(n_orderings)
    bound = 4 * np.hypot(sd_linear, sd_phi_cond(RHO, M_DRAWS))
    assert np.all(np.abs(phi_linear - phis(ConditionalGame, RHO, M_DRAWS, 2)) <= bound)
    biased = phis(BiasedConditionalGame, RHO, M_DRAWS, 2)
    assert not np.all(np.abs(phi_linear - biased) <= bound)


def test_marginal_closed_form_check_catches_a_shifted_background():
    bg = np.random.default_rng(1).multivariate_normal(MU, cov_of(RHO), size=1000)
    exact = np.array([X_CORR[0] - bg[:, 0].mean(), 0.0])
    np.testing.assert_allclose(
        shapley_values(marginal_game(f_lin, X_CORR, bg)), exact, rtol=0, atol=1e-12
    )
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(
            shapley_values(marginal_game(f_lin, X_CORR, bg + 1e-9)),
            exact,
            rtol=0,
            atol=1e-12,
        )


# --------------------------------------------------------------------- background size
SIZES, N_SEEDS = (10, 50, 200, 1000), 400


def background_size_check(f, x, X, replace=False, corrected=True):
    """The chapter's check: measured sd over seeds within 4 se of the prediction, and
    the measured ratio sd(10) / sd(1000) within 4 se of the corrected one, which 4 se
    separate from the uncorrected one."""
    n = len(X)
    f_b = f(X)
    f_age_b = f(np.c_[np.full(n, x[0]), X[:, 1]])
    f_bp_b = f(np.c_[X[:, 0], np.full(n, x[1])])
    f_x = f(x[None])[0]
    per_row = np.c_[
        f_b,
        0.5 * (f_age_b - f_b) + 0.5 * (f_x - f_bp_b),
        0.5 * (f_bp_b - f_b) + 0.5 * (f_x - f_age_b),
    ]

    def explain_with(bg):
        g = marginal_game(f, x, bg)
        return np.array([g(EMPTY)[0], *shapley_values(g)])

    results = {
        K: np.array(
            [
                explain_with(
                    X[np.random.default_rng(seed).choice(n, K, replace=replace)]
                )
                for seed in range(N_SEEDS)
            ]
        )
        for K in SIZES
    }
    measured = np.array([results[K].std(axis=0, ddof=1) for K in SIZES])
    sigma = per_row.std(axis=0)
    K_col = np.array(SIZES)[:, None]
    factor = np.sqrt((n - K_col) / (n - 1)) if corrected else 1.0
    predicted = sigma / np.sqrt(K_col) * factor
    kurt = np.array(
        [((r - r.mean(0)) ** 4).mean(0) / r.var(0) ** 2 for r in results.values()]
    )
    se = measured * np.sqrt((kurt - 1) / (4 * N_SEEDS))
    per_size_ok = bool(np.all(np.abs(measured - predicted) <= 4 * se))
    ratio = measured[0, 1] / measured[-1, 1]
    ratio_se = ratio * np.hypot(se[0, 1] / measured[0, 1], se[-1, 1] / measured[-1, 1])
    ratio_pred = predicted[0, 1] / predicted[-1, 1]
    ratio_naive = np.sqrt(SIZES[-1] / SIZES[0])
    ratio_ok = (
        abs(ratio - ratio_pred) <= 4 * ratio_se < abs(ratio_pred - ratio_naive)
        if corrected
        else abs(ratio - ratio_pred) <= 4 * ratio_se
    )
    return per_size_ok, bool(ratio_ok)


def test_background_size_law_holds(patient):
    assert background_size_check(patient["f"], patient["x"], patient["X_train"]) == (
        True,
        True,
    )


def test_background_drawn_with_replacement_fails(patient):
    per_size_ok, ratio_ok = background_size_check(
        patient["f"], patient["x"], patient["X_train"], replace=True
    )
    assert not per_size_ok and not ratio_ok


def test_prediction_without_the_correction_fails(patient):
    per_size_ok, ratio_ok = background_size_check(
        patient["f"], patient["x"], patient["X_train"], corrected=False
    )
    assert not per_size_ok and not ratio_ok
