r"""Kernel SHAP and LIME as weighted regressions on masked samples (chapter 4).

Both methods explain ``f`` at a row ``x`` the same way: pick coalitions ``S`` of the
``p`` features (binary vectors ``z'`` with ``z'_i = 1`` when feature ``i`` is present),
compute ``v(S)`` through the marginal game of chapter 3 (features outside ``S`` taken
from a background set), and fit a model of ``v`` to those values by weighted least
squares. They differ in the weight a coalition gets:

* Kernel SHAP uses the Shapley kernel
  :math:`\pi(s) = (p-1) / (\binom{p}{s} s (p-s))`, infinite at ``s = 0`` and ``s = p``.
  The two infinite weights become constraints, ``phi0 = v(∅)`` and
  ``sum_i phi_i = v(N) - v(∅)``; with them the fit over all ``2**p`` coalitions
  returns the Shapley values exactly.
* LIME uses an exponential kernel of the distance between ``z'`` and the explained row's
  own vector ``1``, with a free intercept and no constraint.

The coalitions come from :func:`companion.coalitions.coalition_design`: whole coalition
sizes are enumerated while their kernel share of the budget covers them (sizes 1 and p-1
first), the rest is sampled without repeats, stratified by size. Kernel SHAP picks one
of two designs by the budget ``B`` (see :func:`kernel_shap` and the appendix "Choosing
coalitions"): below ``2p(p+1)`` coalitions, complementary pairs ``(S, N \ S)`` (Covert &
Lee 2021) and the linear fit; from there on, single coalitions and a 2-additive fit
(Pelegrina et al. 2023) with its interaction terms shrunk by ridge regression, the
shrinkage chosen by leave-one-out error. Both report a standard error per attribution
from the design's own variance formula (:func:`fit_error_std`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .coalitions import (
    CoalitionDesign,
    _check_budget,
    _kernel_table,
    coalition_design,
    default_budget,
)
from .game import _as_rng, as_float_array, evaluate_game
from .missing import Model, _check_model, as_background, as_row, marginal_game
from .weights import lime_kernel

__all__ = [
    "CoalitionDesign",
    "coalition_design",
    "constrained_fit",
    "default_budget",
    "fit_error_std",
    "kernel_shap",
    "lime",
    "unpaired_threshold",
]


# ------------------------------------------------------------------------ shared steps
def _rows(x: object) -> tuple[np.ndarray, bool]:
    """Explained rows as ``(m, p)`` and whether the caller gave a single row."""
    arr = as_float_array(x, "x")
    if arr.ndim == 2 and arr.shape[0] >= 1:
        return np.stack([as_row(r, "x") for r in arr]), False
    return as_row(arr, "x")[None, :], True


def _masked_values(
    f: Model, X: np.ndarray, background: np.ndarray, masks: np.ndarray
) -> np.ndarray:
    """``v(S)`` for ``[∅, N, masks...]`` and every row of ``X``: shape ``(m, k + 2)``.

    One batched (chunked) evaluation of the marginal game per explained row.
    """
    p = X.shape[1]
    ends = np.stack([np.zeros(p, dtype=bool), np.ones(p, dtype=bool)])
    every = np.concatenate([ends, masks])
    return np.stack([evaluate_game(marginal_game(f, x, background), every) for x in X])


def _feature_names(feature_names, x, background, p: int) -> list[str] | None:
    """The names given, else a DataFrame's columns (``x``, then ``background``)."""
    if feature_names is None:
        for frame in (x, background):
            columns = getattr(frame, "columns", None)
            if columns is not None and len(columns) == p:
                return [str(c) for c in columns]
        return None
    if isinstance(feature_names, (str, bytes)) or not hasattr(feature_names, "__len__"):
        raise TypeError(
            f"feature_names must be a list of {p} names, "
            f"got {type(feature_names).__name__}"
        )
    names = list(feature_names)
    if len(names) != p:
        raise ValueError(
            f"feature_names has {len(names)} names for {p} features; "
            "give one per column"
        )
    return [str(n) for n in names]


def _prepare(f, x, background, n_samples, rng, feature_names, paired=None):
    """Check every argument, then pick the design and evaluate ``v`` on it.

    Every argument is validated before the first model call. ``paired=None`` lets the
    budget choose the design (:func:`unpaired_threshold`).
    """
    _check_model(f)
    X, single = _rows(x)
    p = X.shape[1]
    bg = as_background(background, p)
    names = _feature_names(feature_names, x, background, p)
    budget = _check_budget(n_samples, p)
    rng = _as_rng(rng)
    if paired is None:
        paired = budget < unpaired_threshold(p)
    design = coalition_design(p, budget, rng, paired=paired)
    values = _masked_values(f, X, bg, design.masks)
    return X, single, design, values, names


def _explanation(values, base_values, X, single, feature_names, error_std=None):
    import shap

    if single:
        values, base_values, X = values[0], float(base_values[0]), X[0]
        error_std = None if error_std is None else error_std[0]
    return shap.Explanation(
        values=values,
        base_values=base_values,
        data=X,
        feature_names=feature_names,
        error_std=error_std,
    )


def _singular_warning(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)


def _solve(A: np.ndarray, b: np.ndarray, G: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Solve ``A beta = b``; fall back to min-norm least squares if singular.

    ``A = G^T G`` is positive semi-definite; a Cholesky pivot below ``1e-10`` of the
    largest diagonal entry (relative) marks it singular: then the coalitions do not
    determine every attribution and ``lstsq(G, t)`` returns the minimum-norm solution.
    """
    try:
        L = np.linalg.cholesky(A)
        if np.min(np.diag(L)) ** 2 > 1e-10 * np.max(np.diag(A)):
            return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        pass
    _singular_warning(
        "the sampled coalitions do not determine every attribution (singular normal "
        "equations); returning the minimum-norm solution. Raise n_samples to at "
        "least 2p"
    )
    return np.linalg.lstsq(G, t, rcond=None)[0]


def _reduced(Z: np.ndarray, y: np.ndarray, delta: np.ndarray):
    """Linear columns with the last attribution eliminated, and the shifted targets.

    ``x_ri = z_ri - z_rp`` for ``i < p`` and ``t_r = y_r - z_rp * delta``.
    """
    Z = np.asarray(Z, dtype=float)
    return Z[:, :-1] - Z[:, -1:], y - Z[:, -1:] * delta[None, :]


def constrained_fit(
    Z: np.ndarray, w: np.ndarray, y: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    r"""Weighted least squares for ``phi``, ``sum(phi) = delta``, per column of ``y``.

    Minimises :math:`\sum_r w_r\,(y_r - z_r \cdot \phi)^2` with
    :math:`\sum_i \phi_i = \Delta` by eliminating the last attribution,
    :math:`\phi_p = \Delta - \sum_{i<p} \phi_i`:

    .. math::
        y_r - z_{rp}\Delta = \sum_{i<p} (z_{ri} - z_{rp})\,\phi_i ,

    an ordinary weighted regression with ``p - 1`` unknowns. ``Z`` is ``(k, p)``, ``w``
    ``(k,)``, ``y`` ``(k, m)`` (one column per explained row), ``delta`` ``(m,)``.
    Returns ``phi`` of shape ``(m, p)``; every row sums to its ``delta`` up to rounding.
    """
    return _linear_fit(Z, w, y, np.asarray(delta, dtype=float))[0]


def _linear_fit(Z, w, y, delta):
    """:func:`constrained_fit` plus what the variance needs: ``(phi, fit)``."""
    p = np.shape(Z)[1]
    m = len(delta)
    if p == 1:
        phi = np.asarray(delta, dtype=float)[:, None].copy()
        return phi, None
    X, t = _reduced(Z, y, delta)
    WX = w[:, None] * X
    root = np.sqrt(w)[:, None]
    A = X.T @ WX
    beta = _solve(A, WX.T @ t, root * X, root * t)
    phi = np.empty((m, p))
    phi[:, :-1] = beta.T
    phi[:, -1] = delta - beta.sum(axis=0)
    A_pinv = np.linalg.pinv(A, hermitian=True)
    return phi, (
        X,
        t - X @ beta,
        np.broadcast_to(A_pinv, (m,) + A.shape),
        np.eye(p - 1),
    )


# -------------------------------------------------------------------------- 2-additive
#: Ridge strengths tried for the interaction terms, relative to the largest squared
#: singular value of the (weighted, linear part projected out) interaction columns;
#: ``inf`` drops the interactions (the linear fit).
RIDGE_GRID = (0.0, 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, np.inf)


def unpaired_threshold(p: int) -> int:
    """The budget ``2p(p+1)`` from which :func:`kernel_shap` fits the 2-additive model.

    Four times the ``p(p+1)/2`` unknowns of a 2-additive fit. Below it the fit is
    under-determined or noisy, and complementary pairs do better: paired samples make
    the linear fit exact for every game with interactions of order at most two.
    """
    return 2 * p * (p + 1)


def _pair_columns(p: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(p, 1)


def _two_additive_fit(Z, w, y, delta):
    r"""Fit :math:`g(S) = \sum_{i \in S} a_i + \sum_{\{i,j\} \subseteq S} a_{ij}` to
    ``y = v(S) - v(∅)`` with ``g(N) = delta``, and return its Shapley values
    :math:`\phi_i = a_i + \frac12 \sum_{j \ne i} a_{ij}`.

    The interaction coefficients get a ridge penalty ``lam * sum a_ij^2`` (the linear
    ones none); ``lam`` is picked per explained row from :data:`RIDGE_GRID` by the
    leave-one-out error :math:`\sum_r (e_r / (1 - h_{rr}))^2` of the weighted fit.
    Because the linear terms are not penalised, the residual is orthogonal to every
    linear function: with all coalitions the result is the exact Shapley value for every
    ``lam``.
    """
    Z = np.asarray(Z, dtype=float)
    k, p = Z.shape
    m = len(delta)
    ii, jj = _pair_columns(p)
    Xl, t = _reduced(Z, y, delta)
    Xi = Z[:, ii] * Z[:, jj] - Z[:, -1:]
    root = np.sqrt(w)[:, None]
    A, B, b = root * Xl, root * Xi, root * t
    Qa, Ra = np.linalg.qr(A)
    if np.min(np.abs(np.diag(Ra))) <= 1e-10 * np.max(np.abs(np.diag(Ra))):
        return None  # the linear part alone is undetermined: the caller falls back
    Bp = B - Qa @ (Qa.T @ B)
    bp = b - Qa @ (Qa.T @ b)
    h_lin = np.einsum("ij,ij->i", Qa, Qa)
    U, sv, Vt = np.linalg.svd(Bp, full_matrices=False)
    keep = sv > 1e-10 * sv[0] if sv.size else np.zeros(0, bool)
    U, sv, Vt = U[:, keep], sv[keep], Vt[keep]
    Ub = U.T @ bp
    best_score = np.full(m, np.inf)
    best_c, best_lam = np.zeros((B.shape[1], m)), np.full(m, np.inf)
    for rel in RIDGE_GRID:
        if np.isinf(rel) or not sv.size:
            c, e, h = np.zeros((B.shape[1], m)), bp, h_lin
            lam = np.inf
        else:
            lam = rel * sv[0] ** 2
            shrink = sv / (sv**2 + lam)
            c = Vt.T @ (shrink[:, None] * Ub)
            e = bp - U @ ((sv * shrink)[:, None] * Ub)
            h = h_lin + (U**2) @ (sv * shrink)
        score = ((e / np.clip(1.0 - h, 1e-9, None)[:, None]) ** 2).sum(axis=0)
        better = score < best_score
        best_score[better], best_c[:, better], best_lam[better] = (
            score[better],
            c[:, better],
            lam,
        )
    a = np.linalg.solve(Ra, Qa.T @ (b - B @ best_c))
    half = np.zeros((p - 1, len(ii)))
    for col, (i, j) in enumerate(zip(ii, jj)):
        if i < p - 1:
            half[i, col] = 0.5
        if j < p - 1:
            half[j, col] = 0.5
    L = np.concatenate([np.eye(p - 1), half], axis=1)
    theta = np.concatenate([a, best_c])
    phi = np.empty((m, p))
    phi[:, :-1] = (L @ theta).T
    phi[:, -1] = delta - phi[:, :-1].sum(axis=1)
    X = np.concatenate([Xl, Xi], axis=1)
    G = X.T @ (w[:, None] * X)
    A_inv = np.empty((m,) + G.shape)
    for col in range(m):
        pen = np.zeros(G.shape[0])
        if np.isinf(best_lam[col]):
            pen[p - 1 :] = 0.0
            sub = np.linalg.pinv(G[: p - 1, : p - 1], hermitian=True)
            A_inv[col] = 0.0
            A_inv[col][: p - 1, : p - 1] = sub
        else:
            pen[p - 1 :] = best_lam[col]
            A_inv[col] = np.linalg.pinv(G + np.diag(pen), hermitian=True)
    return phi, (X, t - X @ theta, A_inv, L)


# ---------------------------------------------------------------------------- variance
_HC_POWER = 0.5


def _unit_totals(contrib: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Sum the rows of ``contrib`` ``(k, ...)`` sharing a unit id: ``(units, ...)``."""
    ids, inverse = np.unique(unit, return_inverse=True)
    out = np.zeros((len(ids),) + contrib.shape[1:])
    np.add.at(out, inverse, contrib)
    return out


def fit_error_std(design: CoalitionDesign, w: np.ndarray, fit) -> np.ndarray:
    r"""Standard error of each attribution under the design's own sampling, ``(m, p)``.

    The fit solves the estimating equations
    :math:`\sum_r w_r x_r (t_r - x_r^\top\theta) = 0` (plus a fixed ridge term), with
    :math:`w_r = \pi(|S_r|) \cdot` factor. Linearised at the estimate (Covert & Lee 2021
    take the same route for paired Kernel SHAP),

    .. math::
        \operatorname{Var}\hat\theta \approx A^{-1} V A^{-1},\qquad
        V = \sum_h n_h\Big(1 - \frac{n_h}{N_h}\Big)\,
            \widehat{\operatorname{Cov}}_h(y_u),

    where :math:`y_u = \sum_{r \in u} w_r x_r e_r` sums the rows of sampling unit ``u``
    (a complementary pair, or one coalition), :math:`e_r` is the residual, stratum ``h``
    (a size group) had ``n_h`` of its ``N_h`` units drawn without replacement, and
    enumerated rows add no variance. Strata with a single unit are pooled (collapsed
    strata, no finite-population correction: conservative). The attributions are
    :math:`\phi_{<p} = L\hat\theta` and :math:`\phi_p = \Delta - \sum_{i<p}\phi_i`.
    A design that samples nothing yet is not exact has an error the design cannot
    measure: the result is then ``inf``.
    """
    p = design.masks.shape[1]
    if fit is None or design.exact:
        m = 1 if fit is None else fit[1].shape[1]
        return np.zeros((m, p))
    X, e, A_inv, L = fit
    m = e.shape[1]
    sampled = design.stratum >= 0
    if not sampled.any():
        return np.full((m, p), np.inf)
    rows = np.flatnonzero(sampled)
    Xs = X[rows]
    lever = w[rows, None] * np.einsum("ri,mij,rj->rm", Xs, A_inv, Xs)
    e = e[rows] / np.clip(1.0 - lever, 1e-3, None) ** _HC_POWER
    contrib = (w[rows, None, None] * Xs[:, :, None]) * e[:, None, :]  # (k, d, m)
    V = np.zeros((m, X.shape[1], X.shape[1]))
    lonely = []
    for h, N_h in enumerate(design.population):
        in_h = design.stratum[rows] == h
        y = _unit_totals(contrib[in_h], design.unit[rows][in_h])
        n_h = len(y)
        if n_h < 2:
            lonely.append(y)
            continue
        dev = y - y.mean(axis=0)
        V += n_h * (1 - n_h / N_h) / (n_h - 1) * np.einsum("uim,ujm->mij", dev, dev)
    if lonely:
        y = np.concatenate(lonely)
        if len(y) < 2:
            y = np.concatenate(
                [y, np.zeros_like(y)]
            )  # one lone unit: bounded by y_u^2 * 2
        dev = y - y.mean(axis=0)
        V += len(y) / (len(y) - 1) * np.einsum("uim,ujm->mij", dev, dev)
    cov_theta = A_inv @ V @ A_inv
    cov_head = L @ cov_theta @ L.T  # (m, p-1, p-1)
    var = np.empty((m, p))
    var[:, :-1] = np.diagonal(cov_head, axis1=1, axis2=2)
    var[:, -1] = cov_head.sum(axis=(1, 2))
    return np.sqrt(np.clip(var, 0.0, None))


# -------------------------------------------------------------------------- explainers
def kernel_shap(
    f: Model,
    x,
    background,
    n_samples: int | None = None,
    rng=None,
    feature_names: Sequence[str] | None = None,
    design: str = "auto",
):
    r"""Kernel SHAP values of ``f`` at ``x`` with the marginal game over ``background``.

    Solves

    .. math::
        \min_{g} \sum_{S} \pi(|S|)\,\Big(v(S) - v(\varnothing) - g(S)\Big)^2
        \quad\text{s.t.}\quad g(N) = v(N) - v(\varnothing) = f(x) - \phi_0,

    with :math:`\pi(s) = (p-1)/(\binom{p}{s}\,s\,(p-s))`,
    :math:`v(S) = \frac1N\sum_j f(x_S, b^{(j)}_{\bar S})` and
    :math:`\phi_0 = v(\varnothing)`, the mean of ``f`` over the background; the
    attributions are the Shapley values of the fitted ``g``. The sum runs over the
    coalitions of :func:`coalition_design`: all of them when ``n_samples >= 2**p - 2``
    (then the result is the exact Shapley value), otherwise enumerated sizes plus
    sampled coalitions. ``n_samples=None`` uses ``2p + 2048``. The budget picks the
    design:

    * ``n_samples < 2p(p+1)`` (:func:`unpaired_threshold`): complementary pairs and a
      linear ``g(S) = sum_{i in S} phi_i``, the classic Kernel SHAP fit (Lundberg & Lee
      2017), exact for games without interactions above order two;
    * from there on: single coalitions and a 2-additive ``g`` (linear terms plus one
      term per pair of features, ridge-shrunk, :func:`_two_additive_fit`), whose Shapley
      values are :math:`\phi_i = a_i + \frac12\sum_j a_{ij}`.

    ``x`` is one row ``(p,)`` or several ``(m, p)``; several rows share one design, and
    ``.values`` is then ``(m, p)``. ``.error_std`` holds a standard error per
    attribution from the design's variance formula (:func:`fit_error_std`). It measures
    the sampling variation only, not an error that every draw of the design shares: it
    is zero when the result is exact, and ``inf`` when nothing is sampled but the result
    is not exact (for example ``n_samples = 2p``: sizes 1 and p-1 only), since such a
    design cannot measure its own bias. ``design="paired"`` or ``"unpaired"`` forces one
    of the two (the appendix "Choosing coalitions" compares them); ``"auto"`` lets the
    budget choose. ``feature_names`` defaults to the columns of ``x`` (or
    ``background``) when it is a pandas DataFrame. Every argument is checked before
    ``f`` is first called. Returns a ``shap.Explanation``.
    """
    if design not in ("auto", "paired", "unpaired"):
        raise ValueError(
            f"design must be 'auto', 'paired' or 'unpaired', got {design!r}"
        )
    paired = None if design == "auto" else design == "paired"
    X, single, design, values, names = _prepare(
        f, x, background, n_samples, rng, feature_names, paired=paired
    )
    v0, vN, vS = values[:, 0], values[:, 1], values[:, 2:]
    p = X.shape[1]
    w = _kernel_table(p)[design.sizes] * design.factor
    y, delta = (vS - v0[:, None]).T, vN - v0
    fit = None
    if not design.paired and not design.exact and p > 2:
        fit = _two_additive_fit(design.masks, w, y, delta)
    if fit is None:
        phi, fit = _linear_fit(design.masks, w, y, delta)
    else:
        phi, fit = fit
    error_std = fit_error_std(design, w, fit)
    if fit is None:
        error_std = np.zeros((len(X), p))
    return _explanation(phi, v0, X, single, names, error_std)


def _check_width(width: object) -> float:
    if isinstance(width, (bool, np.bool_)) or not isinstance(
        width, (int, float, np.number)
    ):
        raise TypeError(
            f"width must be a positive number (the kernel width), got {width!r}"
        )
    width = float(width)
    if not np.isfinite(width) or width <= 0:
        raise ValueError(
            f"width must be a positive finite number, got {width}; LIME's tabular "
            f"default is 0.75 * sqrt(p)"
        )
    return width


def lime(
    f: Model,
    x,
    background,
    n_samples: int | None,
    width: float,
    rng=None,
    feature_names: Sequence[str] | None = None,
):
    r"""LIME's fit on the same masked samples as :func:`kernel_shap`, for comparison.

    Fits :math:`g(z') = \beta_0 + \sum_i \phi_i z'_i` to ``v(S)`` by weighted least
    squares with a free intercept and no constraint, over ``∅``, ``N`` and the paired
    coalitions of :func:`coalition_design` (the same ``n_samples`` and ``rng`` give the
    same coalitions as :func:`kernel_shap` below its unpaired threshold), each weighted
    by LIME's kernel

    .. math::
        \pi(z') = \exp\!\big(-D(z')^2/\sigma^2\big),\qquad
        D(z') = \lVert \mathbf 1 - z' \rVert_2 = \sqrt{p - |z'|},

    the Euclidean distance from ``z'`` to the explained row's own vector ``1``, times
    the design's sampling factor (so sampled size groups stand for their whole group).
    ``width`` is :math:`\sigma`; LIME's tabular default is ``0.75 * sqrt(p)``.
    ``base_values`` holds the intercept :math:`\beta_0`. Nothing ties
    :math:`\sum_i \phi_i` to ``f(x) - v(∅)``: LIME's attributions break efficiency.
    A width so small that the kernel leaves fewer than ``p + 1`` coalitions with usable
    weight cannot determine the fit: the minimum-norm solution is returned with a
    ``RuntimeWarning``, as :func:`kernel_shap` does.
    """
    width = _check_width(width)
    X, single, design, values, names = _prepare(
        f, x, background, n_samples, rng, feature_names, paired=True
    )
    p = X.shape[1]
    Z = np.concatenate([np.zeros((1, p)), np.ones((1, p)), design.masks]).astype(float)
    factor = np.concatenate([[1.0, 1.0], design.factor])
    w = lime_kernel(np.sqrt(p - Z.sum(axis=1)), width) * factor
    root = np.sqrt(w)[:, None]
    design_matrix = np.concatenate([np.ones((len(Z), 1)), Z], axis=1)
    coef, _, rank, _ = np.linalg.lstsq(
        root * design_matrix, root * values.T, rcond=None
    )
    if rank < p + 1:
        _singular_warning(
            f"LIME's kernel with width={width:g} leaves too few coalitions with usable "
            f"weight to determine the {p + 1} coefficients (rank {rank}); returning "
            f"the minimum-norm solution. Raise width (LIME's default is "
            f"0.75 * sqrt(p) = {0.75 * np.sqrt(p):.3g})"
        )
    return _explanation(coef[1:].T, coef[0], X, single, names)
