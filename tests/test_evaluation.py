"""Tests of companion.evaluation (confusion groups, t-intervals, Bonferroni) and the chapter 5 figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from companion.evaluation import (bonferroni_z, confusion_groups, correlated_groups,
                                  grouped_attributions, mean_ci, mean_z2_test,
                                  weighted_chi2_sf)
from companion.plots import (confusion_matrix_figure, group_attribution_figure,
                             group_attribution_panels)


# ----------------------------------------------------------------------------- confusion_groups
def test_confusion_groups_small_example():
    y_true = np.array([1, 1, 0, 0, 1, 0])
    y_pred = np.array([1, 0, 0, 1, 1, 0])
    groups = confusion_groups(y_true, y_pred)
    assert list(groups) == ["TP", "TN", "FP", "FN"]
    assert groups["TP"].tolist() == [0, 4]
    assert groups["TN"].tolist() == [2, 5]
    assert groups["FP"].tolist() == [3]
    assert groups["FN"].tolist() == [1]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=40))
def test_confusion_groups_partition_the_rows(pairs):
    y_true = np.array([a for a, _ in pairs], dtype=bool)
    y_pred = np.array([b for _, b in pairs], dtype=bool)
    groups = confusion_groups(y_true.astype(float), y_pred)
    together = np.sort(np.concatenate(list(groups.values())))
    np.testing.assert_array_equal(together, np.arange(len(pairs)))
    assert np.all(y_true[groups["TP"]] & y_pred[groups["TP"]])
    assert np.all(~y_true[groups["FN"]] == y_pred[groups["FN"]])
    accuracy = (len(groups["TP"]) + len(groups["TN"])) / max(len(pairs), 1)
    assert accuracy == pytest.approx(np.mean(y_true == y_pred) if pairs else 0.0)


@pytest.mark.parametrize(
    "y_true, y_pred, error, match",
    [
        ([0, 1, 2], [0, 1, 1], ValueError, "0/1 labels only"),
        ([0, 1], [0.2, 0.9], ValueError, "threshold"),
        ([0, 1, 1], [0, 1], ValueError, "3 labels but y_pred has 2"),
        ([[0, 1]], [[0, 1]], ValueError, "1-D"),
        (["a", "b"], [0, 1], TypeError, "0/1 labels"),
    ],
)
def test_confusion_groups_bad_input(y_true, y_pred, error, match):
    with pytest.raises(error, match=match):
        confusion_groups(np.asarray(y_true), np.asarray(y_pred))


# ----------------------------------------------------------------------------- mean_ci
def test_mean_ci_matches_scipy():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(12, 3))
    ci = mean_ci(values, level=0.9)
    for j in range(3):
        lo, hi = stats.t.interval(0.9, df=11, loc=values[:, j].mean(), scale=stats.sem(values[:, j]))
        assert ci.lower[j] == pytest.approx(lo) and ci.upper[j] == pytest.approx(hi)
    assert ci.n == 12 and ci.level == 0.9 and "t-interval" in ci.note
    np.testing.assert_allclose(ci.mean, values.mean(axis=0))


def test_mean_ci_one_dimensional():
    ci = mean_ci(np.array([1.0, 2.0, 3.0]))
    half = stats.t.ppf(0.975, 2) * 1.0 / np.sqrt(3)
    assert ci.mean == pytest.approx(2.0)
    assert ci.lower == pytest.approx(2.0 - half) and ci.upper == pytest.approx(2.0 + half)


def test_mean_ci_small_groups_are_explicit():
    empty = mean_ci(np.zeros((0, 4)))
    assert empty.n == 0 and empty.note == "n = 0, empty group"
    assert np.all(np.isnan(empty.mean)) and np.all(np.isnan(empty.lower)) and empty.mean.shape == (4,)
    one = mean_ci(np.array([[1.0, -2.0]]))
    assert one.n == 1 and one.note == "n = 1, no interval"
    np.testing.assert_array_equal(one.mean, [1.0, -2.0])
    assert np.all(np.isnan(one.lower)) and np.all(np.isnan(one.upper))


def test_mean_ci_coverage_is_close_to_nominal():
    """Over 2000 normal samples of size 5, the 95 % interval covers the true mean ~95 % of the time."""
    rng = np.random.default_rng(1)
    samples = rng.normal(loc=3.0, size=(2000, 5))
    covered = [(lambda c: c.lower <= 3.0 <= c.upper)(mean_ci(s)) for s in samples]
    # binomial sd of the coverage: sqrt(.95 * .05 / 2000) = 0.0049; allow 4 sd
    assert abs(np.mean(covered) - 0.95) < 4 * 0.0049


@pytest.mark.parametrize(
    "values, level, match",
    [
        (np.zeros((2, 2, 2)), 0.95, "shape"),
        (np.array([1.0, np.nan]), 0.95, "NaN or inf"),
        (np.ones(3), 1.0, "level"),
        (np.ones(3), 0.0, "level"),
    ],
)
def test_mean_ci_bad_input(values, level, match):
    with pytest.raises(ValueError, match=match):
        mean_ci(values, level=level)


# ----------------------------------------------------------------------------- bonferroni_z
def test_bonferroni_z():
    assert bonferroni_z(1, 0.05) == pytest.approx(1.959964, abs=1e-6)
    assert bonferroni_z(100, 0.05) == pytest.approx(stats.norm.isf(0.05 / 200))
    assert bonferroni_z(1000) > bonferroni_z(10) > bonferroni_z(1)
    with pytest.raises(ValueError, match="at least 1"):
        bonferroni_z(0)
    with pytest.raises(TypeError, match="int"):
        bonferroni_z(2.0)
    with pytest.raises(ValueError, match="family_level"):
        bonferroni_z(3, 1.5)


# ----------------------------------------------------------------------------- figures
NAMES = [f"f{i}" for i in range(6)]


@pytest.mark.parametrize("n, title_part", [(0, "n = 0"), (1, "n = 1, no interval"), (7, "n = 7, 95% t-interval")])
def test_group_figure_handles_every_group_size(n, title_part):
    values = np.random.default_rng(n).normal(size=(n, 6))
    fig = group_attribution_figure(values, NAMES, "FP", top=4)
    ax = fig.axes[0]
    assert title_part in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    if n:
        shown = [t.get_text() for t in ax.get_yticklabels()]
        order = np.argsort(-np.abs(values.mean(axis=0)))[:4]
        assert shown == [NAMES[i] for i in order[::-1]]  # largest |mean| on top
    plt.close(fig)


def test_group_figure_bad_input():
    with pytest.raises(ValueError, match="feature names"):
        group_attribution_figure(np.zeros((3, 5)), NAMES, "TP")
    with pytest.raises(ValueError, match="top"):
        group_attribution_figure(np.zeros((3, 6)), NAMES, "TP", top=0)


def test_confusion_matrix_figure_counts():
    fig = confusion_matrix_figure([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["FN\n1", "FP\n1", "TN\n1", "TP\n2"]
    plt.close(fig)


# ----------------------------------------------------------------------------- mean_z2_test
def test_mean_z2_test_independent_entries_is_an_exact_chi_square():
    rng = np.random.default_rng(0)
    d, se = rng.normal(size=(20, 30)), np.ones((20, 30))
    result = mean_z2_test(d, se, level=0.01)
    assert result.dof == pytest.approx(600)
    assert result.critical == pytest.approx(stats.chi2.ppf(0.99, 600) / 600)
    assert result.statistic == pytest.approx(np.mean(d**2))
    assert result.p_value == pytest.approx(stats.chi2.sf(600 * result.statistic, 600))


def test_mean_z2_test_size_and_power_with_correlated_entries():
    """Rejects about `level` of honest draws; rejects a 10 % bias of the size the text uses."""
    rng = np.random.default_rng(1)
    m, p = 20, 10
    a = rng.normal(size=(p, p))
    cov = a @ a.T + p * np.eye(p)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    chol = np.linalg.cholesky(corr)
    rejected = [mean_z2_test(rng.normal(size=(m, p)) @ chol.T, np.ones((m, p)), corr,
                             level=0.05).rejected for _ in range(400)]
    assert 0.02 < np.mean(rejected) < 0.09  # nominal 0.05 (400 draws)
    shifted = rng.normal(size=(m, p)) @ chol.T + 1.5
    assert mean_z2_test(shifted, np.ones((m, p)), corr, level=0.01).rejected


def test_weighted_chi2_sf_matches_closed_forms():
    """Equal weights: the chi-square (through the integral too, with a weight nudged by
    1e-9); two weights: a direct convolution of the two chi-square(1) laws."""
    for k in (1, 2, 5, 40):
        for x in (0.3, k, 3 * k + 10):
            assert weighted_chi2_sf(x, 2 * np.ones(k)) == pytest.approx(
                stats.chi2.sf(x / 2, k), abs=1e-12)
            nudged = np.r_[np.ones(k - 1), 1 + 1e-9]
            assert weighted_chi2_sf(x, nudged) == pytest.approx(stats.chi2.sf(x, k),
                                                                abs=1e-8)
    a, b = 1.0, 0.3
    for x in (1.3e-8, 1.3e-6, 1e-2, 0.5, 2.0, 8.0, 20.0, 30.0):
        below = integrate.quad(  # P(a X1 + b X2 <= x)
            lambda t: stats.chi2.pdf(t, 1) * stats.chi2.cdf((x - a * t) / b, 1),
            0, x / a, limit=200, epsabs=1e-16, epsrel=1e-12)[0]
        assert weighted_chi2_sf(x, [a, b, 0.0]) == pytest.approx(1 - below, abs=1e-11)
    assert weighted_chi2_sf(-1.0, [1.0, 2.0]) == 1.0
    assert 0 <= weighted_chi2_sf(1e6, [a, b]) <= 1e-11  # the Chernoff bound, no error


def test_weighted_chi2_sf_on_many_unequal_weights():
    """600 weights, the eigenvalues of 20 random 30 x 30 correlation matrices (as chapter
    5's test has): the tail at three points against 200 000 draws, within 4 binomial
    standard errors."""
    rng = np.random.default_rng(4)
    corr = []
    for _ in range(20):
        a = rng.normal(size=(30, 3))
        cov = a @ a.T + 0.05 * np.eye(30)
        sd = np.sqrt(np.diag(cov))
        corr.append(cov / np.outer(sd, sd))
    weights = np.linalg.eigvalsh(np.array(corr)).ravel() / 600
    draws = np.concatenate([(rng.standard_normal((20_000, 600)) ** 2) @ weights
                            for _ in range(10)])
    for x in np.quantile(draws, [0.5, 0.9, 0.99]):
        tail = np.mean(draws > x)
        assert abs(weighted_chi2_sf(float(x), weights) - tail) < 4 * np.sqrt(
            tail * (1 - tail) / draws.size)


@pytest.mark.parametrize("x, weights, error, match", [
    (1.0, [], ValueError, "weights"),
    (1.0, [1.0, -0.5], ValueError, "non-negative"),
    (1.0, [0.0, 0.0], ValueError, "not all zero"),
    (1.0, [1.0, np.nan], ValueError, "finite"),
    (np.nan, [1.0], ValueError, "x must be finite"),
    ("1", [1.0], TypeError, "x must be a number"),
    (True, [1.0], TypeError, "x must be a number"),
    (1.0, [[1.0, 2.0]], ValueError, "1-D"),
])
def test_weighted_chi2_sf_bad_input(x, weights, error, match):
    with pytest.raises(error, match=match):
        weighted_chi2_sf(x, weights)


def test_mean_z2_test_critical_value_is_the_exact_quantile():
    """On ten strongly correlated entries, honest statistics exceed the critical value at
    the level (1e6 simulated draws of the exact law: within 4 binomial standard errors);
    the two-moment scaled chi-square's quantile, below it, fails that check."""
    rng = np.random.default_rng(3)
    p, level = 10, 0.01
    a = rng.normal(size=(p, 3))
    cov = a @ a.T + 0.1 * np.eye(p)
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    test = mean_z2_test(np.zeros((1, p)), np.ones((1, p)), corr, level=level)
    weights = np.linalg.eigvalsh(corr) / p
    draws = (rng.standard_normal((1_000_000, p)) ** 2) @ weights
    tolerance = 4 * np.sqrt(level * (1 - level) / draws.size)
    assert abs(np.mean(draws > test.critical) - level) < tolerance
    shortcut = stats.chi2.isf(level, test.dof) / test.dof
    assert shortcut < test.critical
    assert np.mean(draws > shortcut) - level > tolerance  # would reject too often


@pytest.mark.parametrize(
    "d, se, corr, level, match",
    [
        (np.zeros(3), np.ones(3), None, 0.01, "shape"),
        (np.zeros((2, 3)), np.ones((3, 2)), None, 0.01, "se must have"),
        (np.zeros((2, 3)), np.zeros((2, 3)), None, 0.01, "positive"),
        (np.full((2, 3), np.nan), np.ones((2, 3)), None, 0.01, "finite"),
        (np.zeros((2, 3)), np.ones((2, 3)), np.ones((2, 2)), 0.01, "correlations"),
        (np.zeros((2, 3)), np.ones((2, 3)), 2 * np.eye(3), 0.01, "diagonal"),
        (np.zeros((2, 3)), np.ones((2, 3)), None, 1.5, "level"),
        (np.zeros((2, 3)), np.ones((2, 3)), None, 1e-12, "level must lie between"),
        (np.zeros((2, 3)), np.ones((2, 3)), None, 0.9, "level must lie between"),
    ],
)
def test_mean_z2_test_bad_input(d, se, corr, level, match):
    with pytest.raises(ValueError, match=match):
        mean_z2_test(d, se, corr, level=level)


# ----------------------------------------------------------------------------- groups of features
def test_correlated_groups_are_connected_components():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(500, 3))
    X = np.column_stack([base[:, 0], base[:, 1], base[:, 0] + 0.05 * rng.normal(size=500),
                         base[:, 2], base[:, 1] + 0.05 * rng.normal(size=500)])
    groups = correlated_groups(X, threshold=0.9)
    assert [g.tolist() for g in groups] == [[0, 2], [1, 4], [3]]


def test_correlated_groups_bad_input():
    with pytest.raises(ValueError, match="constant"):
        correlated_groups(np.column_stack([np.arange(5.0), np.ones(5)]))
    with pytest.raises(ValueError, match="threshold"):
        correlated_groups(np.random.default_rng(0).normal(size=(9, 3)), threshold=1.0)
    with pytest.raises(ValueError, match="at least 3 rows"):
        correlated_groups(np.zeros((2, 3)))


def test_grouped_attributions_sum_and_keep_the_total():
    phi = np.arange(12.0).reshape(2, 6)
    groups = [np.array([0, 3]), np.array([1]), np.array([2, 4, 5])]
    out = grouped_attributions(phi, groups)
    np.testing.assert_allclose(out, [[3, 1, 11], [15, 7, 29]], rtol=0, atol=0)
    np.testing.assert_allclose(out.sum(axis=1), phi.sum(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(grouped_attributions(phi[0], groups), out[0], rtol=0, atol=0)


@pytest.mark.parametrize("groups", [[np.array([0, 1])], [np.array([0, 1]), np.array([1, 2])],
                                    [np.array([0.0, 1.0, 2.0])]])
def test_grouped_attributions_must_partition(groups):
    with pytest.raises(ValueError, match="partition|int"):
        grouped_attributions(np.zeros((2, 3)), groups)


def test_group_panels_same_order_and_individual_points():
    rng = np.random.default_rng(3)
    values = {"TP": rng.normal(size=(20, 6)), "TN": rng.normal(size=(30, 6)),
              "FP": rng.normal(size=(3, 6)), "FN": np.zeros((0, 6))}
    fig = group_attribution_panels(values, NAMES, [4, 0, 2], level=0.99)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    for ax in axes[::2]:
        assert [t.get_text() for t in ax.get_yticklabels()] == ["f4", "f0", "f2"][::-1] or \
            [t.get_text() for t in ax.get_yticklabels()] == ["f4", "f0", "f2"]
    assert "99% interval" in axes[0].get_title() and "each row" in axes[2].get_title()
    plt.close(fig)
    fig = group_attribution_panels(values, NAMES, [4, 0, 2], level=1 - 0.05 / 20)
    assert "99.75% interval" in fig.axes[0].get_title()
    assert len(fig.legends) == 1
    plt.close(fig)


def test_group_panels_bad_input():
    with pytest.raises(ValueError, match="distinct int"):
        group_attribution_panels({"TP": np.zeros((3, 6))}, NAMES, [0, 0])
    with pytest.raises(ValueError, match="must be"):
        group_attribution_panels({"TP": np.zeros((3, 5))}, NAMES, [0])
    with pytest.raises(ValueError, match="non-empty dict"):
        group_attribution_panels({}, NAMES, [0])


def test_numpy_scalars_are_accepted_where_numbers_are():
    """Issue 14.11: np.float32(0.95) is a level like 0.95 (and a bool is not)."""
    values = np.random.default_rng(0).normal(size=(12, 3))
    ref = mean_ci(values, level=0.95)
    for level in (np.float32(0.95), np.float64(0.95)):
        got = mean_ci(values, level=level)
        np.testing.assert_allclose(got.lower, ref.lower, rtol=1e-6)
        assert isinstance(got.level, float)
    for bad in (True, "0.95", None):
        with pytest.raises(ValueError, match="level"):
            mean_ci(values, level=bad)
    with pytest.raises(TypeError, match="values"):
        mean_ci(np.array([["a", "b"]]))
    assert bonferroni_z(np.int64(4), np.float32(0.01)) == pytest.approx(bonferroni_z(4, 0.01))


def test_evaluation_inputs_are_checked_with_a_message_naming_them():
    """No raw numpy error, no silent answer for a matrix that is not a correlation
    matrix, no NaN out; numpy scalars are numbers."""
    d, se = np.ones((3, 2)), np.ones((3, 2))
    not_corr = {"entries above 1": np.array([[1.0, 2.0], [2.0, 1.0]]),
                "asymmetric": np.array([[1.0, 0.5], [-0.5, 1.0]]),
                "not positive semi-definite": np.array([[1.0, 0.9, -0.9],
                                                        [0.9, 1.0, 0.9],
                                                        [-0.9, 0.9, 1.0]])}
    for label, r in not_corr.items():
        k = r.shape[0]
        with pytest.raises(ValueError, match="correlations must"):
            mean_z2_test(np.ones((3, k)), np.ones((3, k)), correlations=r)
    with pytest.raises(TypeError, match="differences"):
        mean_z2_test([["a", "b"]], [[1.0, 1.0]])
    assert mean_z2_test(d, se, level=np.float32(0.01)).level == pytest.approx(0.01)
    with pytest.raises(TypeError, match="X"):
        correlated_groups([["a"], ["b"], ["c"]])
    with pytest.raises(TypeError, match="phi"):
        grouped_attributions([["a", "b"]], [[0, 1]])
    with pytest.raises(ValueError, match="phi must be finite"):
        grouped_attributions([[np.nan, 1.0]], [[0, 1]])
