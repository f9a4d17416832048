"""The checks of the appendix "Choosing coalitions" can fail on the errors its prose names.

Each test takes a check the page makes (the thresholds are read from the page itself, so
the two cannot drift apart), shows that it passes on the page's setup, and that it
rejects a planted error of the size the prose says it detects.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from chapter4_models import ten_feature_network

import companion

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "book" / "appendix_coalitions.md").read_text(encoding="utf-8")


def _page_number(pattern: str) -> float:
    match = re.search(pattern, PAGE)
    assert match, f"the page no longer has {pattern!r}"
    return float(match.group(1))


# ------------------------------------------------------- the 3-additive demonstration
def _three_additive(p: int, fifth: float, triples: bool = True):
    rng = np.random.default_rng(0)
    a, A = rng.normal(size=p), np.triu(rng.normal(size=(p, p)), 1)
    terms = [(1, 2, 3, 0.8), (4, 5, 7, -0.6), (0, 3, 6, 0.5)] if triples else []

    def f(X):
        X = np.asarray(X, dtype=float)
        out = X @ a + np.einsum("ri,ij,rj->r", X, A, X)
        for i, j, k, c in terms:
            out = out + c * X[:, i] * X[:, j] * X[:, k]
        return out + fifth * X[:, :5].prod(axis=1)

    exact = a + 0.5 * (A.sum(axis=0) + A.sum(axis=1))
    for *members, c in terms:
        exact[members] += c / 3
    exact[:5] += fifth / 5
    return f, exact


def _demo_errors(f, exact, p=8):
    budget = int(_page_number(r"demo_budget = (\d+)"))
    return {
        design: np.abs(
            companion.kernel_shap(
                f, np.ones(p), np.zeros((1, p)), n_samples=budget, rng=1, design=design
            ).values
            - exact
        ).max()
        for design in ("auto", "paired", "unpaired")
    }


def test_three_additive_demonstration_can_fail():
    """The page's checks: the default within 1e-8, the other two off by more than 1e-3.
    A planted order-5 term of 0.3 breaks the first; a game without triples (order two
    at most) breaks the second, since pairs and pair terms then hold it exactly."""
    tol = _page_number(r'assert err3\["auto"\] < ([0-9.e-]+)')
    gap = _page_number(r'assert min\(err3\["paired"\], err3\["unpaired"\]\) > ([0-9.e-]+)')
    err = _demo_errors(*_three_additive(8, 0.0))
    assert err["auto"] < tol and min(err["paired"], err["unpaired"]) > gap
    err = _demo_errors(*_three_additive(8, 0.3))
    assert not err["auto"] < tol
    err = _demo_errors(*_three_additive(8, 0.0, triples=False))
    assert not min(err["paired"], err["unpaired"]) > gap


def test_window_demonstration_can_fail(monkeypatch):
    """Inside the window the default must be exact within the page's 1e-8: with pairs
    forced at the same budget (the design the window replaces) the check fails."""
    tol = _page_number(r'assert err3\["auto, window"\] < ([0-9.e-]+)')
    budget = int(_page_number(r"window_budget = (\d+)"))
    f, exact = _three_additive(8, 0.0)

    def error():
        est = companion.kernel_shap(
            f, np.ones(8), np.zeros((1, 8)), n_samples=budget, rng=1
        ).values
        return np.abs(est - exact).max()

    assert error() < tol
    monkeypatch.setattr(companion.kernel, "auto_pairs", lambda p, n: True)
    assert not error() < tol


def test_calibrated_ends_demonstration_can_fail():
    """The unanimity demo: the default exact within 1e-12, the straight line off by more
    than 0.1. Two unanimity terms of different sizes (one shape no longer fits every
    feature) break the first; an additive game (the line is exact) breaks the second."""
    p = 8
    ones, zero = np.ones(p), np.zeros((1, p))
    T, U = np.zeros(p, bool), np.zeros(p, bool)
    T[[0, 2, 5, 6]], U[[1, 3]] = True, True

    def two_terms(X):
        X = np.asarray(X) > 0.5
        return X[:, T].all(axis=1) + 2.0 * X[:, U].all(axis=1)

    exact = T / T.sum() + 2.0 * U / U.sum()
    ends = companion.kernel_shap(two_terms, ones, zero, n_samples=2 * p, rng=0).values
    assert not np.abs(ends - exact).max() < 1e-12
    w = np.arange(1.0, p + 1)
    line = companion.kernel_shap(
        lambda X: np.asarray(X, float) @ w, ones, zero, n_samples=2 * p, rng=0,
        design="paired",
    ).values
    assert not np.abs(line - w).max() > 0.1


# ----------------------------------------------------------------------- error bars
def test_error_std_is_inf_only_while_part_of_the_game_is_unseen():
    """The page's inf check: at 2p coalitions nothing is sampled (inf); from the first
    budget at which every size group has a coalition (here p = 6: 16) the error bar is
    finite, so the check tells the two apart."""
    from companion.coalitions import coalition_design

    p = 6

    def f(X):
        return np.asarray(X, dtype=float).prod(axis=1)

    ones, zero = np.ones(p), np.zeros((1, p))
    only_ends = companion.kernel_shap(f, ones, zero, n_samples=2 * p, rng=0)
    assert np.all(np.isinf(only_ends.error_std))
    first = next(n for n in range(2 * p, 2**p) if coalition_design(p, n, 0)
                 .visits_every_size)
    assert first == 16
    seen = companion.kernel_shap(f, ones, zero, n_samples=first, rng=0)
    assert not np.any(np.isinf(seen.error_std))
    one_pair = companion.kernel_shap(f, ones, zero, n_samples=2 * p + 2, rng=0)
    assert np.all(np.isinf(one_pair.error_std))   # a size group still unseen


def _ten_feature_network():
    """Chapter 4's ten-feature tanh network, as the page builds it."""
    f10, x10, background10 = ten_feature_network()
    exact = companion.shapley_values(companion.marginal_game(f10, x10, background10))
    return f10, x10, background10, exact


def test_coverage_floor_rejects_error_bars_half_as_wide():
    """The page asks for coverage >= its floor (0.88) over 60 seeds at 300 coalitions; the
    same intervals with error_std halved (bars too narrow by half) fall below it."""
    floor = _page_number(r"EB_FLOOR = ([0-9.]+)")
    budget = int(_page_number(r"eb_budget, eb_seeds = (\d+), \d+"))
    seeds = int(_page_number(r"eb_budget, eb_seeds = \d+, (\d+)"))
    f10, x10, background10, exact = _ten_feature_network()
    errors, widths = [], []
    for s in range(seeds):
        ex = companion.kernel_shap(f10, x10, background10, n_samples=budget, rng=s)
        errors.append(np.abs(ex.values - exact))
        widths.append(ex.error_std)
    errors, widths = np.array(errors), np.array(widths)
    assert np.mean(errors <= 1.96 * widths) >= floor
    assert np.mean(errors <= 1.96 * widths / 2) < floor
    # the page's second assert (halved bars fall below the floor) fails when the bars
    # are twice too wide, since halving them then gives bars of the right width
    wide = 2 * widths
    assert not np.mean(errors <= 1.96 * wide / 2) < floor


# ------------------------------------------------------------------ the curves' checks
def _curve_checks(
    smooth_gain, ends_gain, mlp_svarm, soum_svarm, shap_svarm_soum, shap_svarm_mlp
):
    """The page's six asserts on the error-against-budget curves, as one boolean."""
    min_gain, min_gap, max_gap, min_flip = (
        _page_number(
            r"min_gain, min_gap, max_gap, min_flip = " + r"[0-9.]+, " * k + r"([0-9.]+)"
        )
        for k in range(4)
    )
    return (
        smooth_gain > min_gain
        and ends_gain > min_gain
        and mlp_svarm > min_gap
        and soum_svarm < max_gap
        and shap_svarm_soum > min_flip
        and shap_svarm_mlp < 1 / min_flip
    )


def test_curve_checks_reject_each_comparison_turned_around():
    """Measured on the page: gains 31 and 12, SVARM gaps 298 and 2.2, flip 4.3 and
    1/143. Each check fails when its comparison is lost: no gain from the default's
    surrogate or its calibrated ends (1.0), SVARM as good as the paired fit on the
    network (1.0) or far behind on the unanimity game (10), and no flip (1.0)."""
    measured = {
        "smooth_gain": 31.0,
        "ends_gain": 12.0,
        "mlp_svarm": 298.0,
        "soum_svarm": 2.2,
        "shap_svarm_soum": 4.3,
        "shap_svarm_mlp": 1 / 143,
    }
    assert _curve_checks(**measured)
    for name, planted in [
        ("smooth_gain", 1.0),
        ("ends_gain", 1.0),
        ("mlp_svarm", 1.0),
        ("soum_svarm", 10.0),
        ("shap_svarm_soum", 1.0),
        ("shap_svarm_mlp", 1.0),
    ]:
        assert not _curve_checks(**{**measured, name: planted}), name


def test_default_gain_on_the_network_is_measured_not_built_in():
    """The gain check on the page's network games at 500 coalitions passes with the
    default against the paired linear fit, and fails when both arms are the paired
    linear fit (the surrogate buys nothing)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.games import make_game

    p = 10
    games = [make_game("mlp", p, 500, r) for r in range(3)]

    def median_mse(design):
        mse = []
        for r, g in enumerate(games):
            for s in range(2):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = companion.kernel_shap(
                        g.as_model(),
                        np.ones(p),
                        np.zeros((1, p)),
                        n_samples=498,
                        rng=500 + 10 * r + s,
                        design=design,
                    ).values
                mse.append(np.mean((est - g.exact) ** 2))
        return float(np.median(mse))

    min_gain = _page_number(r"min_gain, min_gap, max_gap, min_flip = ([0-9.]+)")
    paired = median_mse("paired")
    assert paired / median_mse("auto") > min_gain
    assert not paired / median_mse("paired") > min_gain


# --------------------------------------------------------- the residual correction
@functools.lru_cache(maxsize=1)
def _adjustment_runs():
    """The page's games: per family, the estimates without and with the correction
    (``design="surrogate"`` and the default) and the exact values."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.games import make_game

    runs = {}
    for family in ("soum", "mlp"):
        p, budget = (
            int(v) for v in re.search(rf'\("{family}", (\d+), (\d+)\)', PAGE).groups()
        )
        out = []
        for r in range(10):
            game = make_game(family, p, 700, r)
            for s in range(2):
                plain, auto = (
                    companion.kernel_shap(
                        game.as_model(), np.ones(p), np.zeros((1, p)),
                        n_samples=budget - 2, rng=s, design=design,
                    ).values
                    for design in ("surrogate", "auto")
                )
                out.append((plain, auto, game.exact))
        runs[family] = out
    return runs


def _adjustment_checks(scale: float = 1.0):
    """The page's four checks on the page's games, the correction scaled by ``scale``
    (1: as the companion makes it; the correction is the default's answer minus
    ``design="surrogate"``'s). True when all four pass."""
    numbers = r"adj_gain_max, adj_worst_max, adj_min_opened = ([0-9.]+), ([0-9.]+), (\d+)"
    gain_max, worst_max, min_opened = (
        float(v) for v in re.search(numbers, PAGE).groups()
    )
    stats = {
        family: np.array([
            [np.mean((plain + scale * (auto - plain) - exact) ** 2),
             np.mean((plain - exact) ** 2)]
            for plain, auto, exact in runs
        ])
        for family, runs in _adjustment_runs().items()
    }
    soum, net = stats["soum"], stats["mlp"]
    opened = soum[:, 0] != soum[:, 1]
    if opened.sum() < min_opened:
        return False
    return bool(
        soum[opened, 0].sum() / soum[opened, 1].sum() < gain_max
        and (soum[opened, 0] / soum[opened, 1]).max() < worst_max
        and net[:, 0].sum() / net[:, 1].sum() < 1
    )


def test_adjustment_checks_reject_a_correction_twice_the_right_size():
    """The page's checks pass on the companion's correction, and fail when the
    correction is doubled (a wrong size of it that leaves the error where it was)."""
    assert _adjustment_checks(1.0)
    assert not _adjustment_checks(2.0)


@functools.lru_cache(maxsize=None)
def _coverage_estimates(family: str, budget: int):
    """The page's coverage cell for one family at one budget: every estimate's absolute
    errors and error bars, ``(rows * seeds, p)`` each (computed once per test run)."""
    from benchmarks.games import make_game

    p = int(_page_number(r"p_cov, cov_n = (\d+),"))
    rows, seeds = (int(_page_number(r"cov_rows, cov_seeds = (\d+), \d+")),
                   int(_page_number(r"cov_rows, cov_seeds = \d+, (\d+)")))
    errors, bars = [], []
    for r in range(rows):
        game = make_game(family, p, 900, r)
        for s in range(seeds):
            ex = companion.kernel_shap(game.as_model(), np.ones(p), np.zeros((1, p)),
                                       n_samples=budget, rng=s)
            assert np.all(np.isfinite(ex.error_std))
            errors.append(np.abs(ex.values - game.exact))
            bars.append(ex.error_std)
    return np.array(errors), np.array(bars)


def _coverage_by_budget(budget, scales):
    """The page's coverage cell at one budget, with every error bar times each of
    ``scales``: the coverage of each family's (finite) bars, per scale."""
    out = {scale: [] for scale in scales}
    for family in ("mlp", "soum"):
        errors, bars = _coverage_estimates(family, budget)
        for scale in scales:
            out[scale].append(float(np.mean(errors <= 1.96 * scale * bars)))
    return out


def _lowest_coverage_z(scale: float) -> float:
    """The page's ``cov_low_z`` with every error bar times ``scale``: the lowest coverage
    from cov_from on, in standard errors (from the estimates' own coverage) below 95 %."""
    budgets = [int(n) for n in re.search(r"p_cov, cov_n = \d+, \(([0-9, ]+)\)", PAGE)
               .group(1).split(",")]
    large = [n for n in budgets if n >= _page_number(r"cov_mid, cov_from = \d+, (\d+)")]
    cells = []
    for family in ("mlp", "soum"):
        for n in large:
            errors, bars = _coverage_estimates(family, n)
            per_estimate = np.mean(errors <= 1.96 * scale * bars, axis=1)
            cells.append((per_estimate.mean(),
                          per_estimate.std(ddof=1) / np.sqrt(len(per_estimate))))
    coverage, se = min(cells)
    return (0.95 - coverage) / se


def test_narrow_bars_claim_rejects_bars_a_fifth_wider():
    """The page says the lowest coverage from cov_from on hints at bars slightly too
    narrow (its assert: more than 1.96 rough standard errors below 95 %). Bars a fifth
    wider than the companion's would make that claim false, and the check fails."""
    assert "assert cov_low_z > 1.96" in PAGE
    assert _lowest_coverage_z(1.0) > 1.96    # as on the page
    assert _lowest_coverage_z(1.2) <= 1.96   # bars a fifth wider: the check fails


def test_coverage_by_budget_checks_reject_bars_of_the_wrong_width():
    """The page asks the bars to be too narrow where they first turn finite (coverage
    below its floor) and to cover at least the floor from cov_from on: bars twice as
    wide pass the first budget's floor, so the first check fails for them, and bars half
    as wide fall below the floor at the large budgets, so the second fails."""
    from companion.coalitions import coalition_design

    floor = _page_number(r"EB_FLOOR = ([0-9.]+)")
    assert 'cov_table.loc[large, "coverage"].min().min() >= EB_FLOOR' in PAGE
    p = int(_page_number(r"p_cov, cov_n = (\d+),"))
    first = next(n for n in range(2 * p, 2**p) if coalition_design(p, n, 0)
                 .visits_every_size)
    at_first = _coverage_by_budget(first, (1.0, 2.0))
    assert max(at_first[1.0]) < floor      # as on the page
    assert max(at_first[2.0]) >= floor     # bars twice as wide: the check fails
    large = int(_page_number(r"cov_mid, cov_from = \d+, (\d+)"))
    at_large = _coverage_by_budget(large, (1.0, 0.5))
    assert min(at_large[1.0]) >= floor     # as on the page
    assert min(at_large[0.5]) < floor      # bars half as wide: the check fails
