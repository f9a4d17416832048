r"""Kernel SHAP and LIME as weighted regressions on masked samples (chapter 4).

Both methods explain ``f`` at a row ``x`` the same way: pick coalitions ``S`` of the ``p``
features (binary vectors ``z'`` with ``z'_i = 1`` when feature ``i`` is present), compute
``v(S)`` through the marginal game of chapter 3 (features outside ``S`` taken from a
background set), and fit a linear model ``g(z') = phi0 + sum_i phi_i z'_i`` to those
values by weighted least squares. They differ only in the weight a coalition gets:

* Kernel SHAP uses the Shapley kernel
  :math:`\pi(s) = (p-1) / (\binom{p}{s} s (p-s))`, infinite at ``s = 0`` and ``s = p``.
  The two infinite weights become constraints, ``phi0 = v(∅)`` and
  ``sum_i phi_i = v(N) - v(∅)``; with them the fit over all ``2**p`` coalitions returns
  the Shapley values exactly.
* LIME uses an exponential kernel of the distance between ``z'`` and the explained row's
  own vector ``1``, with a free intercept and no constraint.

The coalitions come from :func:`companion.coalitions.coalition_design`: whole coalition
sizes are enumerated while their kernel share of the budget covers them (sizes 1 and p-1
first), the rest is sampled in complementary pairs ``(S, N \ S)`` (Covert & Lee 2021),
stratified by size.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .coalitions import CoalitionDesign, _kernel_table, coalition_design, default_budget
from .game import evaluate_game
from .missing import Model, _check_model, as_background, as_row, marginal_game
from .weights import lime_kernel

__all__ = ["CoalitionDesign", "coalition_design", "constrained_fit", "default_budget", "kernel_shap", "lime"]


# ----------------------------------------------------------------------------- shared steps
def _rows(x: object) -> tuple[np.ndarray, bool]:
    """Explained rows as ``(m, p)`` and whether the caller gave a single row."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 2 and arr.shape[0] >= 1:
        return np.stack([as_row(r, "x") for r in arr]), False
    return as_row(arr, "x")[None, :], True


def _masked_values(f: Model, X: np.ndarray, background: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``v(S)`` for ``[∅, N, masks...]`` and every row of ``X``: shape ``(m, k + 2)``.

    One batched (chunked) evaluation of the marginal game per explained row.
    """
    p = X.shape[1]
    ends = np.stack([np.zeros(p, dtype=bool), np.ones(p, dtype=bool)])
    every = np.concatenate([ends, masks])
    return np.stack([evaluate_game(marginal_game(f, x, background), every) for x in X])


def _prepare(f, x, background, n_samples, rng):
    _check_model(f)
    X, single = _rows(x)
    bg = as_background(background, X.shape[1])
    design = coalition_design(X.shape[1], n_samples, rng)
    values = _masked_values(f, X, bg, design.masks)
    return X, single, design, values


def _explanation(values, base_values, X, single, feature_names):
    import shap

    if feature_names is not None:
        feature_names = list(feature_names)
        if len(feature_names) != X.shape[1]:
            raise ValueError(f"feature_names has {len(feature_names)} names for {X.shape[1]} features")
    if single:
        values, base_values, X = values[0], float(base_values[0]), X[0]
    return shap.Explanation(values=values, base_values=base_values, data=X, feature_names=feature_names)


def _solve(A: np.ndarray, b: np.ndarray, G: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Solve the normal equations ``A beta = b``; fall back to min-norm least squares if singular.

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
    warnings.warn(
        "the sampled coalitions do not determine every attribution (singular normal "
        "equations); returning the minimum-norm solution. Raise n_samples to at least 2p",
        RuntimeWarning,
        stacklevel=3,
    )
    return np.linalg.lstsq(G, t, rcond=None)[0]


def constrained_fit(Z: np.ndarray, w: np.ndarray, y: np.ndarray, delta: np.ndarray) -> np.ndarray:
    r"""Weighted least squares for ``phi`` subject to ``sum(phi) = delta``, per column of ``y``.

    Minimises :math:`\sum_r w_r\,(y_r - z_r \cdot \phi)^2` with :math:`\sum_i \phi_i = \Delta`
    by eliminating the last attribution, :math:`\phi_p = \Delta - \sum_{i<p} \phi_i`:

    .. math::
        y_r - z_{rp}\Delta = \sum_{i<p} (z_{ri} - z_{rp})\,\phi_i ,

    an ordinary weighted regression with ``p - 1`` unknowns. ``Z`` is ``(k, p)``, ``w``
    ``(k,)``, ``y`` ``(k, m)`` (one column per explained row), ``delta`` ``(m,)``.
    Returns ``phi`` of shape ``(m, p)``; every row sums to its ``delta`` up to rounding.
    """
    Z = np.asarray(Z, dtype=float)
    p = Z.shape[1]
    if p == 1:
        return np.asarray(delta, dtype=float)[:, None].copy()
    X = Z[:, :-1] - Z[:, -1:]
    t = y - Z[:, -1:] * delta[None, :]
    WX = w[:, None] * X
    root = np.sqrt(w)[:, None]
    beta = _solve(X.T @ WX, WX.T @ t, root * X, root * t)
    phi = np.empty((len(delta), p))
    phi[:, :-1] = beta.T
    phi[:, -1] = delta - beta.sum(axis=0)
    return phi


# ----------------------------------------------------------------------------- explainers
def kernel_shap(
    f: Model,
    x,
    background,
    n_samples: int | None = None,
    rng=None,
    feature_names: Sequence[str] | None = None,
):
    r"""Kernel SHAP values of ``f`` at ``x`` with the marginal game over ``background``.

    Solves

    .. math::
        \min_{\phi} \sum_{S} \pi(|S|)\,\Big(v(S) - \phi_0 - \sum_{i \in S} \phi_i\Big)^2
        \quad\text{s.t.}\quad \phi_0 = v(\varnothing),\;
        \sum_{i=1}^{p} \phi_i = v(N) - v(\varnothing) = f(x) - \phi_0,

    with :math:`\pi(s) = (p-1)/(\binom{p}{s}\,s\,(p-s))` and
    :math:`v(S) = \frac1N\sum_j f(x_S, b^{(j)}_{\bar S})`. The two constraints replace the
    infinite weights of ``S = ∅`` and ``S = N``; the second is imposed exactly by
    eliminating one unknown (:func:`constrained_fit`). ``phi0`` is the mean of ``f`` over
    the background. The sum runs over the coalitions of :func:`coalition_design`: all of
    them (exact Shapley values) when ``n_samples >= 2**p - 2``, otherwise enumerated
    sizes plus sampled complementary pairs. ``n_samples=None`` uses ``2p + 2048``.

    ``x`` is one row ``(p,)`` or several ``(m, p)``; several rows share one design and
    one factorisation, and ``.values`` is then ``(m, p)``. Each row's coalitions go
    through ``f`` in one batched, chunked evaluation. Returns a ``shap.Explanation``.
    """
    X, single, design, values = _prepare(f, x, background, n_samples, rng)
    v0, vN, vS = values[:, 0], values[:, 1], values[:, 2:]
    w = _kernel_table(X.shape[1])[design.sizes] * design.factor
    phi = constrained_fit(design.masks, w, (vS - v0[:, None]).T, vN - v0)
    return _explanation(phi, v0, X, single, feature_names)


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
    squares with a free intercept and no constraint, over ``∅``, ``N`` and the coalitions
    of :func:`coalition_design` (same ``n_samples`` and ``rng`` give the same coalitions
    as :func:`kernel_shap`), each weighted by LIME's kernel

    .. math::
        \pi(z') = \exp\!\big(-D(z')^2/\sigma^2\big),\qquad D(z') = \lVert \mathbf 1 - z' \rVert_2
        = \sqrt{p - |z'|},

    the Euclidean distance from ``z'`` to the explained row's own vector ``1``, times the
    design's sampling factor (so sampled size groups stand for their whole group).
    ``width`` is :math:`\sigma`; LIME's tabular default is ``0.75 * sqrt(p)``.
    ``base_values`` holds the intercept :math:`\beta_0`. Nothing ties
    :math:`\sum_i \phi_i` to ``f(x) - v(∅)``: LIME's attributions break efficiency.
    """
    X, single, design, values = _prepare(f, x, background, n_samples, rng)
    p = X.shape[1]
    Z = np.concatenate([np.zeros((1, p)), np.ones((1, p)), design.masks]).astype(float)
    factor = np.concatenate([[1.0, 1.0], design.factor])
    w = lime_kernel(np.sqrt(p - Z.sum(axis=1)), width) * factor
    root = np.sqrt(w)[:, None]
    design_matrix = np.concatenate([np.ones((len(Z), 1)), Z], axis=1)
    coef = np.linalg.lstsq(root * design_matrix, root * values.T, rcond=None)[0]
    return _explanation(coef[1:].T, coef[0], X, single, feature_names)
