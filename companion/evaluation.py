"""Evaluate a classifier's predictions and summarise attributions by group (chapter 5).

* :func:`confusion_groups` splits the rows into true/false positives/negatives.
* :func:`mean_ci` gives the mean of each feature's attributions over a group and its
  Student-t confidence interval, with explicit answers for groups of 0 or 1 rows.
* :func:`bonferroni_z` is the critical value of a two-sided normal test repeated over many
  comparisons, used to turn Monte-Carlo standard errors into a tolerance.
* :func:`mean_z2_test` pools many standardised differences into one statistic, the mean of
  z^2, and compares it with its null distribution (a test with power against small
  systematic errors that no single |z| reveals); :func:`weighted_chi2_sf` is that null
  distribution's tail, exact.
* :func:`correlated_groups` and :func:`grouped_attributions` sum the attributions of
  strongly correlated features into one attribution per group.
"""

from __future__ import annotations

import functools
import warnings
from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize, stats

from .checks import as_float_array

__all__ = ["confusion_groups", "MeanCI", "mean_ci", "bonferroni_z", "Z2Test", "mean_z2_test",
           "weighted_chi2_sf", "correlated_groups", "grouped_attributions"]

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


#: Tails below this are reported by the Chernoff bound: the integral's rounding is of
#: this size.
TAIL_FLOOR = 1e-11
#: The levels :func:`mean_z2_test` accepts.
LEVEL_RANGE = (1e-8, 0.5)


def _check_weights(weights: object) -> tuple[np.ndarray, np.ndarray]:
    """The distinct positive weights and how often each occurs (rounding-level weights,
    below 1e-12 of the largest, dropped)."""
    w = as_float_array(weights, "weights")
    if w.ndim != 1:
        raise ValueError(f"weights must be 1-D, got shape {w.shape}")
    if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError("weights must be finite, non-negative and not all zero (the "
                         "eigenvalues of a covariance matrix, say)")
    return _distinct(w)


def _distinct(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = w[w > 1e-12 * w.max()]
    values, counts = np.unique(w, return_counts=True)
    return values, counts.astype(float)


def _quad(f, a: float, b: float, **options) -> float:
    """``scipy.integrate.quad``, its accuracy warnings turned into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        try:
            if "weight" in options:  # Fourier integrals: up to 1000 cycles
                options["limlst"] = 1000
            return integrate.quad(f, a, b, limit=1000, epsabs=1e-11, epsrel=1e-13,
                                  **options)[0]
        except integrate.IntegrationWarning as warning:
            raise ArithmeticError(
                f"the tail of a weighted chi-square sum could not be integrated: "
                f"{str(warning).splitlines()[0]}"
            ) from None


def _chernoff(x: float, w: np.ndarray, c: np.ndarray) -> float:
    r"""Chernoff's bound :math:`\min_t e^{-tx} \prod_j (1 - 2 t w_j)^{-c_j/2}` on
    :math:`P(Q > x)`, for ``x`` above the mean."""
    top = 0.5 / w.max()

    def log_bound(t: float) -> float:
        return -t * x - 0.5 * float(np.sum(c * np.log1p(-2 * t * w)))

    best = optimize.minimize_scalar(log_bound, bounds=(0.0, top * (1 - 1e-12)),
                                    method="bounded", options={"xatol": 1e-12 * top})
    return float(np.exp(min(best.fun, 0.0)))


def _sf(x: float, w: np.ndarray, c: np.ndarray) -> float:
    """:func:`weighted_chi2_sf` on distinct positive weights ``w``, counts ``c``."""
    if x <= 0:
        return 1.0
    if w.size == 1:  # equal weights: a scaled chi-square
        return float(stats.chi2.sf(x / w[0], c[0]))
    scale = float(np.sum(c * w))
    w, x = w / scale, x / scale  # mean 1
    if x > 1:
        bound = _chernoff(x, w, c)
        if bound < TAIL_FLOOR:
            return bound

    def phase(u):  # theta(u) + x u / 2
        return 0.5 * np.sum(c * np.arctan(w * u))

    def log_envelope(u):  # log of 1 / (u rho(u)), decreasing
        return -0.25 * np.sum(c * np.log1p((w * u) ** 2)) - np.log(u)

    def integrand(u):
        return np.sin(phase(u) - 0.5 * x * u) * np.exp(log_envelope(u))

    # [0, 1]; then, up to half a period of the oscillation (split = pi / x), a plain
    # integral in s = log u (the envelope decays like a power of u); beyond, where
    # sin(phase - x u / 2) = sin(phase) cos(x u / 2) - cos(phase) sin(x u / 2) with
    # smooth amplitudes, QUADPACK's Fourier integrals (QAWF), unless the amplitude
    # there is too small to matter: |tail| <= amplitude(split) * 2 pi / x.
    split = max(1.0, np.pi / x)
    near = _quad(integrand, 0.0, 1.0)
    if split > 1.0:
        near += _quad(lambda t: integrand(np.exp(t)) * np.exp(t), 0.0, np.log(split))

    def negligible_beyond(u):
        return log_envelope(u) + np.log(2 * np.pi / x) < np.log(1e-14)

    far = 0.0
    if not negligible_beyond(split):
        try:
            far = _quad(lambda u: np.sin(phase(u)) * np.exp(log_envelope(u)), split,
                        np.inf, weight="cos", wvar=0.5 * x) - _quad(
                lambda u: np.cos(phase(u)) * np.exp(log_envelope(u)), split, np.inf,
                weight="sin", wvar=0.5 * x)
        except ArithmeticError:  # an envelope that falls fast (many weights): a
            end = 2 * split  # plain integral up to where the rest is negligible
            while not negligible_beyond(end):
                end *= 2
            far = _quad(integrand, split, end)
    return float(min(max(0.5 + (near + far) / np.pi, 0.0), 1.0))


def weighted_chi2_sf(x: float, weights) -> float:
    r"""Upper tail :math:`P(Q > x)` of :math:`Q = \sum_j w_j \chi^2_{1,j}`, independent.

    Imhof's (1961) inversion of the characteristic function, one numerical integral:

    .. math::
        P(Q > x) = \frac12 + \frac1\pi \int_0^\infty
        \frac{\sin\theta(u)}{u\,\rho(u)}\,du,\quad
        \theta(u) = \tfrac12 \sum_j \arctan(w_j u) - \tfrac12 x u,\quad
        \rho(u) = \prod_j (1 + w_j^2 u^2)^{1/4},

    accurate to about ``1e-10`` absolute (an ``ArithmeticError`` if the integrator
    cannot reach its tolerance). A tail below :data:`TAIL_FLOOR` is returned as
    Chernoff's upper bound :math:`\min_t e^{-tx} \prod_j (1 - 2 t w_j)^{-1/2}` instead
    (the true tail is smaller still). ``weights``: a 1-D array of :math:`w_j \ge 0` (zeros, and weights
    below ``1e-12`` of the largest, dropped); equal weights give the scaled chi-square
    :math:`w\,\chi^2_k` directly. A quadratic form :math:`z^\top A z` of a standard
    normal ``z`` has this law with ``w`` the eigenvalues of ``A``.
    """
    w, c = _check_weights(weights)
    if isinstance(x, (bool, np.bool_)) or not isinstance(
        x, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"x must be a number, got {x!r}")
    if not np.isfinite(x):
        raise ValueError(f"x must be finite, got {x!r}")
    return _sf(float(x), w, c)


def _isf(level: float, w: np.ndarray, c: np.ndarray) -> float:
    """The ``x`` with :func:`weighted_chi2_sf` ``= level``, by bracketing; the last few
    answers are remembered (a test repeated on the same correlations)."""
    w = np.ascontiguousarray(w, dtype=float)
    c = np.ascontiguousarray(c, dtype=float)
    return _isf_cached(float(level), w.tobytes(), c.tobytes())


@functools.lru_cache(maxsize=32)
def _isf_cached(level: float, w_key: bytes, c_key: bytes) -> float:
    w, c = np.frombuffer(w_key, dtype=float), np.frombuffer(c_key, dtype=float)
    if w.size == 1:
        return float(w[0] * stats.chi2.isf(level, c[0]))
    mean = float(np.sum(c * w))
    high = mean + 10 * np.sqrt(2 * np.sum(c * w * w))  # mean + 10 sd
    while _sf(high, w, c) > level:
        high *= 2
    return float(optimize.brentq(lambda x: _sf(x, w, c) - level, 0.0, high,
                                 xtol=1e-12 * mean, rtol=1e-10))


class Z2Test(NamedTuple):
    """Result of :func:`mean_z2_test`: the statistic, its critical value, p-value, the
    effective degrees of freedom ``2 / Var[T]`` and the level."""

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
    entries, R_r = I). Then z_r^T z_r is a sum of independent chi^2_1 weighted by the
    eigenvalues of R_r, so T = sum_j w_j chi^2_1 with w the eigenvalues of every R_r
    divided by m p: E[T] = 1, Var[T] = 2 sum_r tr(R_r^2) / (m p)^2. The test rejects at
    ``level`` when T exceeds the exact 1 - ``level`` quantile of that law
    (:func:`weighted_chi2_sf`; with every R_r = I, chi^2_{mp} / (m p)); the p-value is
    its tail at T. ``dof`` reports h = 2 / Var[T], the degrees of freedom of the scaled
    chi-square g chi^2_h with the same mean and variance (g = 1 / h): how many
    independent squares the mean is worth. (That two-moment match, Satterthwaite's, puts
    the critical value too low at small levels when the weights are unequal: the weighted
    sum is more skewed than the matched chi-square. Near level 0.05 and above it can err
    the other way, slightly.) ``level`` must lie in :data:`LEVEL_RANGE`; an
    ``ArithmeticError`` says the tail could not be integrated (not seen in the tests).

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
    if not LEVEL_RANGE[0] <= level <= LEVEL_RANGE[1]:
        raise ValueError(f"level must lie between {LEVEL_RANGE[0]:g} and "
                         f"{LEVEL_RANGE[1]:g} (the tail is computed to about 1e-10), "
                         f"got {level:g}")
    m, p = d.shape
    if correlations is None:
        weights = np.full(m * p, 1.0 / (m * p))
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
        eig = np.linalg.eigvalsh(r)
        if eig.min() < -1e-8:
            raise ValueError("correlations must be positive semi-definite (a correlation "
                             "matrix has no negative eigenvalue)")
        weights = np.clip(eig, 0.0, None).ravel() / (m * p)
    statistic = float(np.mean((d / s) ** 2))
    h = 1.0 / float(np.sum(weights * weights))  # 2 / Var[T], Var[T] = 2 sum w^2
    w, c = _distinct(weights)
    return Z2Test(statistic, _isf(level, w, c), _sf(statistic, w, c), h, level)


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
