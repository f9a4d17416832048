"""Evaluate a classifier's predictions and summarise attributions by group (chapter 5).

* :func:`confusion_groups` splits the rows into true/false positives/negatives.
* :func:`mean_ci` gives the mean of each feature's attributions over a group and its
  Student-t confidence interval, with explicit answers for groups of 0 or 1 rows.
* :func:`bonferroni_z` is the critical value of a two-sided normal test repeated over many
  comparisons, used to turn Monte-Carlo standard errors into a tolerance.
* :func:`mean_z2_test` pools many standardised differences into one statistic, the mean of
  z^2, and compares it with its null distribution (a test with power against small
  systematic errors that no single |z| reveals).
* :func:`correlated_groups` and :func:`grouped_attributions` sum the attributions of
  strongly correlated features into one attribution per group.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from .checks import as_float_array

__all__ = ["confusion_groups", "MeanCI", "mean_ci", "bonferroni_z", "Z2Test", "mean_z2_test",
           "correlated_groups", "grouped_attributions"]

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


def _probability(value: object, name: str, zero_allowed: bool = False) -> float:
    """``value`` as a float in (0, 1) (``[0, 1)`` with ``zero_allowed``), or a
    ValueError naming ``name``; bools and text are refused, numpy scalars accepted."""
    numeric = (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numeric):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    value = float(value)
    if not (0.0 <= value if zero_allowed else 0.0 < value) or not value < 1.0:
        interval = "in [0, 1)" if zero_allowed else "strictly between 0 and 1"
        raise ValueError(f"{name} must be a number {interval}, got {value!r}")
    return value


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
    arr = as_float_array(values, "values")
    if arr.ndim not in (1, 2):
        raise ValueError(f"values must have shape (n, p) or (n,), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("values contain NaN or inf; drop or fix those rows first")
    level = _probability(level, "level")
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
    family_level = _probability(family_level, "family_level")
    return float(stats.norm.isf(family_level / (2.0 * n_comparisons)))


class Z2Test(NamedTuple):
    """Result of :func:`mean_z2_test`: the statistic, its critical value, p-value and dof."""

    statistic: float
    critical: float
    p_value: float
    dof: float
    level: float

    @property
    def rejected(self) -> bool:
        """True when the statistic exceeds the critical value."""
        return bool(self.statistic > self.critical)


def mean_z2_test(differences, se, correlations=None, level: float = 0.01) -> Z2Test:
    """Pooled test that many differences are pure noise: the mean of z^2 against its null.

    ``differences`` d and ``se`` are (m, p): m independent rows of p entries each, and
    z_ri = d_ri / se_ri. The statistic is T = (1 / (m p)) sum_r sum_i z_ri^2. Under the null
    hypothesis each row's z_r is normal with mean 0, unit variances and correlation matrix
    R_r (``correlations``, (m, p, p) or (p, p) for all rows; None means independent
    entries, R_r = I). Then E[T] = 1 and Var[T] = 2 sum_r tr(R_r^2) / (m p)^2 (each
    z_r^T z_r is a sum of chi^2_1 weighted by the eigenvalues of R_r). The null
    distribution is approximated by the scaled chi-square g chi^2_h with the same mean and
    variance (Satterthwaite): g = Var[T] / 2, h = 2 / Var[T]; exact when every R_r = I.
    The test rejects at ``level`` when T > g * chi2.ppf(1 - level, h).

    A systematic error that adds a bias delta_ri to the differences raises E[T] by
    mean(delta^2 / se^2); the test detects it when that excess is large against sqrt(Var[T]).
    """
    d = as_float_array(differences, "differences")
    s = as_float_array(se, "se")
    if d.ndim != 2:
        raise ValueError(f"differences must have shape (m, p), got {d.shape}")
    if s.shape != d.shape:
        raise ValueError(f"se must have the shape of differences {d.shape}, got {s.shape}")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(s))):
        raise ValueError("differences and se must be finite; drop or fix NaN/inf entries")
    if np.any(s <= 0):
        raise ValueError("se must be positive everywhere (a zero standard error has no z)")
    level = _probability(level, "level")
    m, p = d.shape
    if correlations is None:
        sum_tr = float(m * p)
    else:
        r = as_float_array(correlations, "correlations")
        if r.shape == (p, p):
            r = np.broadcast_to(r, (m, p, p))
        if r.shape != (m, p, p):
            raise ValueError(f"correlations must have shape ({m}, {p}, {p}) or ({p}, {p}), "
                             f"got {r.shape}")
        if not np.all(np.isfinite(r)):
            raise ValueError("correlations must be finite")
        if not np.allclose(np.diagonal(r, axis1=1, axis2=2), 1.0, rtol=0, atol=1e-8):
            raise ValueError("correlations must have ones on the diagonal (a correlation "
                             "matrix, not a covariance matrix)")
        if not np.allclose(r, np.swapaxes(r, 1, 2), rtol=0, atol=1e-8):
            raise ValueError("correlations must be symmetric (a correlation matrix)")
        if np.any(np.abs(r) > 1 + 1e-8):
            raise ValueError("correlations must lie between -1 and 1 (a correlation matrix)")
        if np.linalg.eigvalsh(r).min() < -1e-8:
            raise ValueError("correlations must be positive semi-definite (a correlation "
                             "matrix has no negative eigenvalue)")
        sum_tr = float(np.sum(r * r))  # sum_r tr(R_r^2) for symmetric R_r
    statistic = float(np.mean((d / s) ** 2))
    var = 2.0 * sum_tr / (m * p) ** 2
    g, h = var / 2.0, 2.0 / var
    critical = float(g * stats.chi2.ppf(1.0 - level, h))
    p_value = float(stats.chi2.sf(statistic / g, h))
    return Z2Test(statistic, critical, p_value, h, float(level))


def correlated_groups(X, threshold: float = 0.9) -> list[np.ndarray]:
    """Groups of features linked by strong correlation: connected components of a graph.

    Features i and j are joined when |r_ij| > ``threshold``, r the Pearson correlation over
    the rows of ``X`` (m, p); a group is a connected component (so two members of a group
    may correlate less than the threshold through a chain of strong links). Returns sorted
    int index arrays, ordered by their smallest member; singletons are groups too.
    """
    arr = as_float_array(X, "X")
    if arr.ndim != 2 or arr.shape[0] < 3:
        raise ValueError(f"X must be (m, p) with at least 3 rows, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("X contains NaN or inf; impute or drop those rows first")
    if np.any(arr.std(axis=0) == 0):
        raise ValueError("X has a constant column, whose correlation is undefined; drop it")
    threshold = _probability(threshold, "threshold", zero_allowed=True)
    linked = np.abs(np.corrcoef(arr, rowvar=False)) > threshold
    p = arr.shape[1]
    label = np.full(p, -1)
    for start in range(p):
        if label[start] >= 0:
            continue
        label[start], stack = start, [start]
        while stack:
            i = stack.pop()
            for j in np.flatnonzero(linked[i] & (label < 0)):
                label[j] = start
                stack.append(j)
    return [np.flatnonzero(label == g) for g in np.unique(label)]


def grouped_attributions(phi, groups) -> np.ndarray:
    """Attribution of each group of features: Phi_G = sum_{i in G} phi_i, shape (m, len(groups)).

    For path methods (integrated and expected gradients) the sum over a group is exactly
    the attribution the group receives when its features move together as one player along
    the same paths; it is also what efficiency keeps: sum_G Phi_G = sum_i phi_i when the
    groups partition the features. ``phi`` is (m, p) or (p,); ``groups`` a sequence of
    index arrays that must partition range(p).
    """
    arr = as_float_array(phi, "phi")
    if arr.ndim not in (1, 2):
        raise ValueError(f"phi must have shape (m, p) or (p,), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("phi must be finite; drop or fix NaN/inf attributions first")
    p = arr.shape[-1]
    idx = [np.asarray(g) for g in groups]
    if any(g.ndim != 1 or g.size == 0 or not np.issubdtype(g.dtype, np.integer) for g in idx):
        raise ValueError("groups must be non-empty 1-D arrays of int feature indices")
    together = np.sort(np.concatenate(idx)) if idx else np.array([], dtype=int)
    if not np.array_equal(together, np.arange(p)):
        raise ValueError(f"groups must partition the {p} features: every index 0..{p - 1} "
                         "exactly once")
    return np.stack([arr[..., g].sum(axis=-1) for g in idx], axis=-1)
