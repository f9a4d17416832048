"""The checks of chapter 5 can fail: each rejects the planted error the text says it detects.

Chapter 5 checks the companion's expected gradients against ``shap`` and captum with two
assertions per pair of libraries (every |z| below a Bonferroni bound, and the mean of z^2
below the critical value of :func:`companion.evaluation.mean_z2_test`), and checks
completeness with a pooled mean of z^2 over rows and seeds. These tests rebuild the
chapter's setting (same data, network, background, rows, pilot run) and show that

* honest reruns with other seeds pass both agreement checks;
* a 10 % scale error and a different background of 100 training rows fail them;
* the completeness check rejects estimators that scale their terms by a random factor in
  [0.2, 1], rejects a bias of the root-mean-square size the text states with the stated
  90 % power, and cannot see an error that leaves each row's sum unchanged (as the text
  says).
"""

from __future__ import annotations

import numpy as np
import pytest
import shap
import torch

from companion.datasets import breast_cancer
from companion.evaluation import bonferroni_z, mean_z2_test
from companion.gradient import gradient_shap, gradient_shap_samples
from companion.models import BinaryClassification, predict_fn, train_classifier

N_ROWS, N_BG, N_CHECK, N_PILOT = 20, 100, 1000, 4000
PAIRS = 3  # companion-shap, companion-captum, shap-captum


@pytest.fixture(scope="module")
def setting():
    """The chapter's network, background, rows, pilot run and shap's estimate."""
    data = breast_cancer(test_size=0.3, seed=0)
    torch.manual_seed(0)
    model = BinaryClassification(data.p)
    train_classifier(model, data.X_train, data.y_train, epochs=100, batch_size=32,
                     lr=1e-3, seed=0)
    rng = np.random.default_rng(1)
    bg = data.X_train[rng.choice(len(data.X_train), N_BG, replace=False)]
    rows = data.X_test[:N_ROWS]
    pilot = gradient_shap_samples(model, rows, bg, n_samples=N_PILOT, seed=1)
    se = pilot.std(axis=1, ddof=1) / np.sqrt(N_CHECK)
    corr = np.stack([np.corrcoef(terms, rowvar=False) for terms in pilot])
    explainer = shap.GradientExplainer(model, torch.tensor(bg, dtype=torch.float32))
    shap_values = explainer.shap_values(torch.tensor(rows, dtype=torch.float32),
                                        nsamples=N_CHECK, rseed=3)[..., 0]
    return {"data": data, "model": model, "bg": bg, "rows": rows, "pilot": pilot,
            "se": se, "corr": corr, "shap": shap_values}


def agreement(a, b, s):
    """The chapter's two assertions for one pair: (max-|z| passes, pooled passes)."""
    diff = a - b
    sd = np.sqrt(2) * s["se"]
    z_crit = bonferroni_z(PAIRS * diff.size, family_level=0.01)
    single = bool(np.all(np.abs(diff) <= z_crit * sd))
    pooled = not mean_z2_test(diff, sd, s["corr"], level=0.01 / PAIRS).rejected
    return single, pooled


def explain(s, seed, background=None):
    bg = s["bg"] if background is None else background
    return gradient_shap(s["model"], s["rows"], bg, n_samples=N_CHECK, seed=seed).values


def test_honest_reruns_pass(setting):
    for seed in range(100, 106):
        assert agreement(explain(setting, seed), setting["shap"], setting) == (True, True)


def test_a_ten_percent_scale_error_is_rejected(setting):
    single, pooled = agreement(1.1 * explain(setting, 2), setting["shap"], setting)
    assert not pooled  # the pooled statistic sees it ...
    assert single      # ... where the largest single |z| does not: why both checks


def test_a_different_background_is_rejected(setting):
    data = setting["data"]
    other = data.X_train[np.random.default_rng(99).choice(len(data.X_train), N_BG,
                                                          replace=False)]
    _, pooled = agreement(explain(setting, 2, other), setting["shap"], setting)
    assert not pooled


# ----------------------------------------------------------------------------- completeness
def completeness_test(setting, totals, n):
    """The chapter's completeness check: gaps of (seeds, rows) row sums, mean of z^2."""
    model, rows, bg = setting["model"], setting["rows"], setting["bg"]
    f = predict_fn(model, "logit")
    target = f(rows) - f(bg).mean()
    sd_sum = setting["pilot"].sum(axis=2).std(axis=1, ddof=1)
    gaps = totals - target
    se = np.broadcast_to(sd_sum / np.sqrt(n), gaps.shape)
    return mean_z2_test(gaps, se, level=0.01 / 4)


SEEDS = [5, 6, 7, 8, 9]


@pytest.fixture(scope="module")
def terms_200(setting):
    return [gradient_shap_samples(setting["model"], setting["rows"], setting["bg"],
                                  n_samples=200, seed=s) for s in SEEDS]


def test_completeness_accepts_the_honest_estimator(setting, terms_200):
    totals = np.array([c.sum(axis=2).mean(axis=1) for c in terms_200])
    assert not completeness_test(setting, totals, 200).rejected


@pytest.mark.parametrize("per", ["draw", "row"])
def test_completeness_rejects_a_random_factor(setting, terms_200, per):
    rng = np.random.default_rng(0)
    totals = []
    for c in terms_200:
        shape = (c.shape[0], c.shape[1], 1) if per == "draw" else (c.shape[0], 1, 1)
        totals.append((c * rng.uniform(0.2, 1.0, size=shape)).sum(axis=2).mean(axis=1))
    assert completeness_test(setting, np.array(totals), 200).rejected


def test_completeness_cannot_see_a_sum_preserving_error(setting, terms_200):
    """Swapping two features' attributions leaves every sum, hence the check, unchanged."""
    totals = []
    for c in terms_200:
        phi = c.mean(axis=1)
        phi[:, [0, 1]] = phi[:, [1, 0]]
        totals.append(phi.sum(axis=1))
    assert not completeness_test(setting, np.array(totals), 200).rejected


def _detectable_rms(m, level=0.01 / 4, power=0.9):
    """The rms bias (in standard errors) rejected with ``power``, as the text says."""
    from scipy import optimize, stats

    crit = stats.chi2.ppf(1 - level, m)
    lam = optimize.brentq(lambda x: stats.ncx2.sf(crit, m, x) - power, 1e-6, 1e4)
    return np.sqrt(lam / m)


def test_completeness_power_matches_the_claimed_detectable_bias():
    """A bias of the size the text states (rms in standard errors, 100 gaps) is rejected
    in about 90 % of noisy runs; half of it is rejected far less often."""
    m = 100  # 20 rows x 5 seeds, as in the chapter
    c = _detectable_rms(m)
    rng = np.random.default_rng(0)
    se = np.ones((5, 20))
    signs = np.where(rng.random((5, 20)) < 0.5, -1.0, 1.0)

    def rate(shift, runs=1000):
        hits = [mean_z2_test(rng.standard_normal((5, 20)) + shift * signs, se,
                             level=0.01 / 4).rejected for _ in range(runs)]
        return np.mean(hits)

    assert abs(rate(c) - 0.9) < 0.035         # binomial sd about 0.0095
    assert rate(c / 2) < 0.3


def test_completeness_rejects_a_bias_of_twice_the_detectable_size(setting, terms_200):
    totals = np.array([c.sum(axis=2).mean(axis=1) for c in terms_200])
    sd_sum = setting["pilot"].sum(axis=2).std(axis=1, ddof=1) / np.sqrt(200)
    biased = totals + 2 * _detectable_rms(totals.size) * sd_sum  # same sign every row
    assert completeness_test(setting, biased, 200).rejected
