"""Evaluate a classifier's predictions and summarise attributions by group (chapter 5).

* :func:`confusion_groups` splits the rows into true/false positives/negatives.
* :func:`mean_ci` gives the mean of each feature's attributions over a group and its
  Student-t confidence interval, with explicit answers for groups of 0 or 1 rows.
* :func:`bonferroni_z` is the critical value of a two-sided normal test repeated over many
  comparisons, used to turn Monte-Carlo standard errors into a tolerance.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

__all__ = ["confusion_groups", "MeanCI", "mean_ci", "bonferroni_z"]

GROUPS = ("TP", "TN", "FP", "FN")


def _labels(a: object, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of 0/1 labels, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    try:
        values = arr.astype(float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must hold 0/1 labels, got dtype {arr.dtype}") from None
    if not np.all(np.isin(values, (0.0, 1.0))):
        bad = np.unique(values[~np.isin(values, (0.0, 1.0))])[:5]
        raise ValueError(
            f"{name} must hold 0/1 labels only (threshold scores first), found {bad.tolist()}"
        )
    return values == 1.0


def confusion_groups(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, np.ndarray]:
    """Row indices of the true positives, true negatives, false positives and false negatives.

    TP: y = 1 and y_hat = 1; TN: y = 0 and y_hat = 0; FP: y = 0 and y_hat = 1;
    FN: y = 1 and y_hat = 0. Labels are 0/1 (or bool); every row lands in exactly one group.
    Returns ``{"TP": idx, "TN": idx, "FP": idx, "FN": idx}`` with sorted int arrays.
    """
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.shape[0]} labels but y_pred has {p.shape[0]}")
    masks = {"TP": t & p, "TN": ~t & ~p, "FP": ~t & p, "FN": t & ~p}
    return {name: np.flatnonzero(masks[name]) for name in GROUPS}


class MeanCI(NamedTuple):
    """Per-feature mean and confidence interval of a group (NaN where undefined)."""

    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int
    level: float
    note: str


def mean_ci(values: np.ndarray, level: float = 0.95) -> MeanCI:
    """Mean of each column and its Student-t confidence interval.

    For n rows with column mean m_i and sample standard deviation s_i (ddof = 1):
    m_i +- t_{(1 + level)/2, n - 1} * s_i / sqrt(n). The interval assumes the rows are
    independent draws; it describes the uncertainty of the group mean, not the spread.

    Groups too small for an interval are answered explicitly: n = 0 gives NaN means and
    intervals with ``note="n = 0, empty group"``; n = 1 gives the row itself as the mean
    and NaN bounds with ``note="n = 1, no interval"``. ``values`` is (n, p) or (n,).
    """
    arr = np.asarray(values, dtype=float)
    if arr.ndim not in (1, 2):
        raise ValueError(f"values must have shape (n, p) or (n,), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values contain NaN or inf; drop or fix those rows first")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0.0 < level < 1.0:
        raise ValueError(f"level must be a probability strictly between 0 and 1, got {level!r}")
    n = arr.shape[0]
    shape = arr.shape[1:]
    nan = np.full(shape, np.nan)
    if n == 0:
        return MeanCI(nan, nan.copy(), nan.copy(), 0, level, "n = 0, empty group")
    mean = arr.mean(axis=0)
    if n == 1:
        return MeanCI(mean, nan, nan.copy(), 1, level, "n = 1, no interval")
    half = stats.t.ppf((1.0 + level) / 2.0, df=n - 1) * arr.std(axis=0, ddof=1) / np.sqrt(n)
    return MeanCI(mean, mean - half, mean + half, n, level, f"n = {n}, {level:.0%} t-interval")


def bonferroni_z(n_comparisons: int, family_level: float = 0.01) -> float:
    """Two-sided normal critical value z with P(any |Z_j| > z) <= family_level over all comparisons.

    z = Phi^{-1}(1 - family_level / (2 * n_comparisons)). By Bonferroni's inequality this
    bounds the chance that at least one of ``n_comparisons`` standard-normal statistics
    exceeds z, whatever their dependence.
    """
    if isinstance(n_comparisons, bool) or not isinstance(n_comparisons, (int, np.integer)):
        raise TypeError(f"n_comparisons must be an int, not {type(n_comparisons).__name__}")
    if n_comparisons < 1:
        raise ValueError(f"n_comparisons must be at least 1, got {n_comparisons}")
    if not 0.0 < family_level < 1.0:
        raise ValueError(f"family_level must lie strictly between 0 and 1, got {family_level}")
    return float(stats.norm.isf(family_level / (2.0 * n_comparisons)))
