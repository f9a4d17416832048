"""Tests of companion.evaluation (confusion groups, t-intervals, Bonferroni) and the chapter 5 figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from companion.evaluation import bonferroni_z, confusion_groups, mean_ci
from companion.plots import confusion_matrix_figure, group_attribution_figure


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
