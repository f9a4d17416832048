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
first), the rest is sampled without repeats, stratified by size. By default
(``design="auto"``, see :func:`kernel_shap` and the appendix "Choosing coalitions")
Kernel SHAP samples complementary pairs ``(S, N \ S)`` (Covert & Lee 2021; single
coalitions in a budget window, :func:`auto_pairs`) and fits a surrogate with a term per
feature, per pair and per triple of features (a 3-additive model, Pelegrina et al.
2023), its interaction terms shrunk by ridge regression with the strength chosen by
leave-one-pair-out error of the pair's difference; it reports the surrogate's Shapley
values plus an estimate of the residual's (regression-adjusted Monte Carlo, Witter et
al. 2025), shrunk toward zero where that estimate is mostly noise.
When the budget buys sizes 1 and p-1 only, it interpolates each feature's first and
last marginal contribution, calibrated by efficiency (:func:`calibrated_ends`).
``design="paired"`` is the classic linear fit on pairs, ``design="unpaired"`` single
coalitions and a 2-additive fit. Every design reports a standard error per attribution
from its own variance formula (:func:`fit_error_std`; for the default, with the residual
correction); the fits, the error bars and the correction live in
:mod:`companion.fits`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .checks import (
    as_float_array,
    as_rng,
    check_feature_names,
    check_int,
    check_model,
    check_positive,
)
from .coalitions import (
    CoalitionDesign,
    check_budget,
    coalition_design,
    default_budget,
)
from .fits import (
    DESIGNS,
    auto_order,
    calibrated_ends,
    constrained_fit,
    estimate,
    fit_error_std,
)
from .game import evaluate_game
from .missing import Model, as_background, as_row, marginal_game
from .weights import lime_kernel

__all__ = [
    "CoalitionDesign",
    "auto_order",
    "auto_pairs",
    "calibrated_ends",
    "coalition_design",
    "constrained_fit",
    "default_budget",
    "fit_error_std",
    "kernel_shap",
    "lime",
    "tolerance_budgets",
]


# ------------------------------------------------------------------------ shared steps
def _rows(x: object) -> tuple[np.ndarray, bool]:
    """Explained rows as ``(m, p)`` and whether the caller gave a single row."""
    arr = as_float_array(x, "x")
    if arr.ndim == 2 and arr.shape[0] == 0:
        raise ValueError(
            f"x has no rows (shape {arr.shape}); give one row (p,) or rows (m, p)"
        )
    if arr.ndim == 2:
        return np.stack([as_row(r, "x") for r in arr]), False
    return as_row(arr, "x")[None, :], True


def _masked_values(
    f: Model,
    X: np.ndarray,
    background: np.ndarray,
    masks: np.ndarray,
    cache: dict | None = None,
) -> np.ndarray:
    """``v(S)`` for ``[∅, N, masks...]`` and every row of ``X``: shape ``(m, k + 2)``.

    One batched (chunked) evaluation of the marginal game per explained row, of the
    coalitions not yet in ``cache`` (a dict from packed masks to values, filled here;
    a fresh one when ``None``): a coalition an earlier call evaluated is read back, and
    one that appears twice is evaluated once.
    """
    cache = {} if cache is None else cache
    p = X.shape[1]
    ends = np.stack([np.zeros(p, dtype=bool), np.ones(p, dtype=bool)])
    every = np.concatenate([ends, masks])
    keys = [row.tobytes() for row in np.packbits(every, axis=1)]
    first: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        if key not in cache:
            first.setdefault(key, i)
    new = list(first.values())
    if new:
        found = np.stack(
            [evaluate_game(marginal_game(f, x, background), every[new]) for x in X]
        )
        cache.update((keys[i], found[:, j]) for j, i in enumerate(new))
    return np.stack([cache[k] for k in keys], axis=1)


def _feature_names(feature_names, x, background, p: int) -> list[str] | None:
    """The names given, else a DataFrame's columns (``x``, then ``background``)."""
    if feature_names is None:
        for frame in (x, background):
            columns = getattr(frame, "columns", None)
            if columns is not None and len(columns) == p:
                return [str(c) for c in columns]
        return None
    return check_feature_names(feature_names, p)


def _checked(f, x, background, n_samples, rng, feature_names):
    """Every argument checked (before any model call): ``X, single, bg, names, budget,
    rng``."""
    check_model(f)
    X, single = _rows(x)
    p = X.shape[1]
    bg = as_background(background, p)
    names = _feature_names(feature_names, x, background, p)
    budget = check_budget(n_samples, p)
    return X, single, bg, names, budget, as_rng(rng)


def _prepare(f, x, background, n_samples, rng, feature_names):
    """Check every argument, then draw the paired design and evaluate ``v`` on it (every
    argument is validated before the first model call)."""
    X, single, bg, names, budget, rng = _checked(
        f, x, background, n_samples, rng, feature_names
    )
    design = coalition_design(X.shape[1], budget, rng, paired=True)
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


def auto_pairs(p: int, n_samples: int) -> bool:
    r"""Whether ``design="auto"`` spends ``n_samples`` coalitions on complementary pairs.

    Pairs, except in the window

    .. math::
        p + \binom{p}{2} + \binom{p}{3} \;\le\; n_{\text{samples}} \;<\;
        2\Big(p + \binom{p}{3}\Big) + 8

    (1350 to 2327 coalitions at ``p = 20``), where single coalitions determine every
    term of the 3-additive surrogate and pairs do not. The reason:
    :math:`\phi(v)` depends on ``v`` only through :math:`v(S) - v(N \setminus S)` (the
    Shapley value of ``v`` equals that of its dual
    :math:`v^*(S) = v(N) - v(N \setminus S)`), and a pair observes that difference
    once. Of a 3-additive game's terms, the difference keeps the odd ones (in the
    :math:`\pm 1` coding, degrees 1 and 3): :math:`p + \binom{p}{3}` unknowns from
    ``n/2`` pairs, where single coalitions see all
    :math:`p + \binom{p}{2} + \binom{p}{3}` unknowns from ``n`` rows. The edges are
    soft: the constraints, the enumerated sizes and the ridge strength's
    cross-validation (which cannot score a fit that a left-out unit would leave
    undetermined) cost either design a few coalitions, so near an edge a random
    3-additive game is recovered exactly in some draws and not in others. The margin
    ``8`` is where, on such games, pairs first recover the exact values at
    ``p = 10, 12, 16`` in the draws measured. At ``p = 8`` pairs need about 160
    coalitions, so from 136 to about 160 the default samples pairs although single
    coalitions would be exact. Below the window neither design determines the
    surrogate, and pairs, which cancel every even part of ``v`` exactly, are the
    better guess; above it pairs determine it too and are better again.
    """
    from math import comb

    p = check_int(p, "p", kind="an int number of features")
    n_samples = check_int(
        n_samples, "n_samples", minimum=0, kind="an int number of coalitions"
    )
    if auto_order(p, n_samples) < 3:
        return True
    odd = p + comb(p, 3)
    return not (odd + comb(p, 2) <= n_samples < 2 * odd + 8)


# -------------------------------------------------------------------------- explainers
#: With a ``tolerance``, :func:`kernel_shap` tries no budget below
#: ``TOLERANCE_START * p`` coalitions: at ``p = 10`` the appendix "Choosing coalitions"
#: measures near-nominal coverage of the error bars from 60 on, and too narrow bars a
#: few pairs above ``2p``.
TOLERANCE_START = 6


def kernel_shap(
    f: Model,
    x,
    background,
    n_samples: int | None = None,
    rng=None,
    feature_names: Sequence[str] | None = None,
    design: str = "auto",
    tolerance: float | None = None,
):
    r"""Kernel SHAP values of ``f`` at ``x`` with the marginal game over ``background``.

    Solves

    .. math::
        \min_{g} \sum_{S} \pi(|S|)\,\Big(v(S) - v(\varnothing) - g(S)\Big)^2
        \quad\text{s.t.}\quad g(N) = v(N) - v(\varnothing) = f(x) - \phi_0,

    with :math:`\pi(s) = (p-1)/(\binom{p}{s}\,s\,(p-s))`,
    :math:`v(S) = \frac1{N_b}\sum_j f(x_S, b^{(j)}_{\bar S})` and
    :math:`\phi_0 = v(\varnothing)`, the mean of ``f`` over the background; the
    attributions are the Shapley values of the fitted ``g``. The sum runs over the
    coalitions of :func:`coalition_design`: all of them when ``n_samples >= 2**p - 2``
    (then ``g`` is linear and the result is the exact Shapley value), otherwise
    enumerated sizes plus sampled coalitions. ``n_samples=None`` uses ``2p + 2048``.
    ``design`` picks the coalitions and the surrogate ``g``:

    * ``"auto"`` (default): complementary pairs ``(S, N \ S)`` (single coalitions
      in the budget window of :func:`auto_pairs`, where they determine the surrogate
      and pairs do not) and a ``k``-additive
      :math:`g(S) = \sum_{T \subseteq S, |T| \le k} a_T` with
      ``k = auto_order(p, n_samples)`` (3 up to ``p = 20`` at budgets below about
      15 000: terms for features, pairs and triples), its interaction
      terms shrunk by ridge regression with the strength chosen by leave-one-pair-out
      error of the pair's difference ``v(S) - v(N \ S)`` (:mod:`companion.fits`);
      :math:`\phi_i = \sum_{T \ni i} a_T/|T|`, plus
      the Shapley value of the residual ``v - g`` estimated from the coalitions
      (regression-adjusted; shrunk by one factor per explained row,
      to zero where it is mostly noise). Where the surrogate falls back to the linear
      fit (order 1, beyond ``p = 55``, or when the coalitions do not determine it)
      there is no correction. With only sizes 1 and p-1 in the budget (``n_samples`` of ``2p`` or
      ``2p + 1``), the first and last marginal contributions are interpolated,
      calibrated by efficiency (:func:`calibrated_ends`);
    * ``"surrogate"``: the same coalitions and surrogate without the residual
      correction, to measure what the correction adds;
    * ``"paired"``: complementary pairs and the linear ``g(S) = sum_{i in S} phi_i``,
      the classic Kernel SHAP fit (Lundberg & Lee 2017), exact for games without
      interactions above order two;
    * ``"unpaired"``: single coalitions and a 2-additive ``g`` (linear terms plus one
      ridge-shrunk term per pair of features), whose Shapley values are
      :math:`\phi_i = a_i + \frac12\sum_j a_{ij}`.

    The appendix "Choosing coalitions" compares them. ``x`` is one row ``(p,)`` or
    several ``(m, p)``; several rows share one design, and ``.values`` is then
    ``(m, p)``. ``.error_std`` holds a standard error per attribution from the
    design's variance formula (:func:`fit_error_std`, or the correction's own for the
    default's corrected answer). It measures the sampling
    variation only, not an error that every draw of the design shares: it is zero when
    the result is exact, and ``inf`` when nothing is sampled but the result is not
    exact (for example ``n_samples = 2p``: sizes 1 and p-1 only) or when some size has
    no coalition at all (every budget below ``2p``, and above it until the draws reach
    every size: ``n_samples = 28`` at ``p = 10``, 66 at ``p = 20`` with pairs), since
    such a design cannot measure its own error there. With only a pair or two per size
    the bars are finite but too narrow (the appendix "Choosing coalitions" measures
    their coverage). ``feature_names`` defaults to the columns of ``x`` (or
    ``background``) when it is a pandas DataFrame.

    ``tolerance``: sample until every ``error_std`` is at most ``tolerance``. The
    budgets of :func:`tolerance_budgets` are tried in turn (halving down from
    ``n_samples``, or all coalitions, to no less than ``6p``; smallest first), each a
    fresh design from the same ``rng``; coalitions
    an earlier budget evaluated are read back, not evaluated again, so the model sees
    fewer than ``2 n_samples`` coalitions besides the empty and the full one. The first budget whose bars all meet
    the tolerance is returned; if none does, the last, with a ``UserWarning``.
    Stopping when the estimated standard error first comes out small favours draws
    that underestimate it: the ``error_std`` returned then covers a little less often
    than nominal, so read ``tolerance`` as a target, not a guarantee (the appendix
    measures how often the error exceeds 1.96 tolerances).

    Every argument is checked before ``f`` is first called. Returns a
    ``shap.Explanation``.
    """
    if not isinstance(design, str) or design not in DESIGNS:
        raise ValueError(
            f"design must be one of {', '.join(map(repr, DESIGNS))}, got {design!r}"
        )
    if tolerance is not None:
        tolerance = check_positive(
            tolerance, "tolerance", "; the largest error_std to accept, or None"
        )
    X, single, bg, names, budget, rng = _checked(
        f, x, background, n_samples, rng, feature_names
    )
    p = X.shape[1]
    paired = None if design in ("auto", "surrogate") else design == "paired"
    cache: dict = {}
    for n in [budget] if tolerance is None else tolerance_budgets(p, budget):
        chosen = coalition_design(
            p, n, rng, paired=auto_pairs(p, n) if paired is None else paired
        )
        values = _masked_values(f, X, bg, chosen.masks, cache)
        phi, error_std = estimate(chosen, values, design)
        if tolerance is None or np.all(error_std <= tolerance):
            break
    else:
        warnings.warn(
            f"tolerance={tolerance:g} not reached within n_samples={budget}: the "
            f"largest error_std is {error_std.max():.3g}; raise n_samples (at most "
            f"2**p - 2 = {2**p - 2}, which is exact)",
            UserWarning,
            stacklevel=2,
        )
    return _explanation(phi, values[:, 0], X, single, names, error_std)


def tolerance_budgets(p: int, n_samples: int | None = None) -> list[int]:
    r"""The budgets :func:`kernel_shap` tries, smallest first, when given a ``tolerance``.

    The largest is :math:`n_{\max} = \min(n_{\text{samples}},\ 2^p - 2)`
    (``n_samples`` defaults to ``2p + 2048``); each smaller one is half the next,
    :math:`n_{j} = \lfloor n_{j+1} / 2 \rfloor`, down to the last that is still at
    least :data:`TOLERANCE_START` :math:`\cdot p` coalitions (at ten features the
    appendix "Choosing coalitions" measures near-nominal coverage of the error bars
    from there on; a few pairs above ``2p`` they are too narrow). The budgets sum to
    less than :math:`2 n_{\max}`, so the model is asked for fewer than
    :math:`2 n_{\max}` coalitions besides the empty and the full one. An ``n_samples`` below ``6p`` is tried
    alone, although its bars may be too narrow.
    """
    p = check_int(p, "p", kind="an int number of features")
    budgets = [min(check_budget(n_samples, p), 2**p - 2)]
    while budgets[-1] // 2 >= TOLERANCE_START * p:
        budgets.append(budgets[-1] // 2)
    return budgets[::-1]


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
    width = check_positive(
        width, "width", "; the kernel width, LIME's tabular default is 0.75 * sqrt(p)"
    )
    X, single, design, values, names = _prepare(
        f, x, background, n_samples, rng, feature_names
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
        warnings.warn(
            f"LIME's kernel with width={width:g} leaves too few coalitions with usable "
            f"weight to determine the {p + 1} coefficients (rank {rank}); returning "
            f"the minimum-norm solution. Raise width (LIME's default is "
            f"0.75 * sqrt(p) = {0.75 * np.sqrt(p):.3g})",
            RuntimeWarning,
            stacklevel=2,
        )
    return _explanation(coef[1:].T, coef[0], X, single, names)
