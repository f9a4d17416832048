r"""The fits behind Kernel SHAP (chapter 4): from ``v`` on a coalition design to ``phi``.

:func:`companion.kernel.kernel_shap` evaluates the game on the coalitions of a
:class:`~companion.coalitions.CoalitionDesign` and hands the values here.
:func:`estimate` turns them into attributions and a standard error per attribution:

* the constrained weighted regression of chapter 4 (:func:`constrained_fit`): the
  linear :math:`g(S) = \sum_{i \in S} \phi_i` fitted to :math:`v(S) - v(\varnothing)`
  with the Shapley kernel's weights and :math:`\sum_i \phi_i = v(N) - v(\varnothing)`;
* the ``k``-additive surrogate :math:`g(S) = \sum_{T \subseteq S,\ |T| \le k} a_T`
  of ``design="auto"`` (interaction terms shrunk by ridge regression, the strength chosen
  by leave-one-unit-out error), whose Shapley values are
  :math:`\phi_i = \sum_{T \ni i} a_T / |T|`, plus the residual correction (the Shapley
  value of :math:`v - g` estimated from the coalitions, shrunk where it is mostly noise);
* :func:`calibrated_ends` when the budget buys sizes 1 and p-1 only;
* the design's variance formula for each (:func:`fit_error_std`).
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
import warnings

import numpy as np

from .checks import as_float_array, check_int
from .coalitions import CoalitionDesign

__all__ = [
    "DESIGNS",
    "auto_order",
    "calibrated_ends",
    "constrained_fit",
    "estimate",
    "fit_error_std",
    "residual_shapley",
]


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries (found once: it is slow)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread():
    """A context in which numpy's BLAS runs on one thread (same bits on any core count)."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _singular_warning(message: str) -> None:
    """A RuntimeWarning attributed to the first caller outside the companion package
    (the fits are reached through several of its functions)."""
    package = os.path.dirname(os.path.abspath(__file__))
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.dirname(
        os.path.abspath(frame.f_code.co_filename)
    ) == package:
        level, frame = level + 1, frame.f_back
    warnings.warn(message, RuntimeWarning, stacklevel=level)


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
    Z, w, y, delta = _check_fit_inputs(Z, w, y, delta)
    return _linear_fit(Z, w, y, delta)[0]


def _check_fit_inputs(Z, w, y, delta):
    """``constrained_fit``'s arguments as float arrays of matching shapes, or an error
    naming the argument."""
    Z = as_float_array(Z, "Z")
    if Z.ndim != 2 or Z.shape[0] == 0 or Z.shape[1] == 0:
        raise ValueError(f"Z must be a (k, p) array of 0/1 coalitions, got shape {Z.shape}")
    if not np.all((Z == 0) | (Z == 1)):
        raise ValueError("Z must hold 0/1 (or boolean) coalition indicators")
    k = Z.shape[0]
    w = as_float_array(w, "w")
    if w.shape != (k,):
        raise ValueError(f"w must hold one weight per row of Z, shape ({k},), got {w.shape}")
    if np.any(np.isinf(w)):
        raise ValueError(
            "w has infinite weights (the Shapley kernel at the empty and the full "
            "coalition): leave those two rows out; constrained_fit imposes them as "
            "constraints through delta"
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("w must be finite and non-negative")
    y = as_float_array(y, "y")
    if y.ndim != 2 or y.shape[0] != k:
        raise ValueError(
            f"y must have shape ({k}, m): one column per explained row, the targets "
            f"v(S) - v(empty set); got {y.shape} (use y[:, None] for one row)"
        )
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite (check the model's outputs)")
    delta = as_float_array(delta, "delta")
    if delta.shape != (y.shape[1],):
        raise ValueError(
            f"delta must hold one v(N) - v(empty set) per column of y, shape "
            f"({y.shape[1]},), got {delta.shape}"
        )
    if not np.all(np.isfinite(delta)):
        raise ValueError("delta must be finite")
    return Z, w, y, delta


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
    Xw = root * X
    XA = Xw @ A_pinv  # (k, p - 1): M = XA^T maps weighted targets to phi_{<p}
    return phi, (root * (t - X @ beta), [(np.arange(m), XA.T, XA, Xw)])


# ------------------------------------------------------------------ k-additive surrogate
#: Ridge strengths tried for the interaction terms, relative to the largest squared
#: singular value of the (weighted, linear part projected out) interaction columns;
#: ``inf`` drops the interactions (the linear fit).
RIDGE_GRID = (
    0.0,
    1e-8,
    1e-6,
    1e-4,
    1e-3,
    3e-3,
    1e-2,
    3e-2,
    1e-1,
    0.3,
    1.0,
    10.0,
    np.inf,
)
#: The smallest relative strength tried when the coalitions do not determine every
#: interaction term (fewer independent rows than terms): leave-one-out cannot judge a
#: fit that nearly interpolates, and prefers it wrongly.
MIN_RIDGE_UNDETERMINED = 1e-2


#: The largest number of interaction terms (pairs, triples) ``design="auto"`` fits.
MAX_INTERACTION_TERMS = 1500
#: The largest design matrix (coalitions x interaction terms) ``design="auto"`` builds:
#: 2e7 entries, 160 MB of float64 per copy.
MAX_FIT_ENTRIES = 20_000_000


def auto_order(p: int, n_coalitions: int = 0) -> int:
    r"""The order of the surrogate ``design="auto"`` fits for ``p`` features.

    3 (terms for single features, pairs and triples) while
    :math:`\binom{p}{2} + \binom{p}{3}` stays within
    :data:`MAX_INTERACTION_TERMS` (``p <= 20``), else 2 while :math:`\binom{p}{2}` does
    (``p <= 55``), else 1 (the linear fit); lowered further while ``n_coalitions`` times
    the number of terms exceeds :data:`MAX_FIT_ENTRIES` (a budget so large that the
    linear fit on pairs is already accurate, and the surrogate would not fit in memory).
    """
    from math import comb

    p = check_int(p, "p", kind="an int number of features")
    n_coalitions = check_int(
        n_coalitions, "n_coalitions", minimum=0, kind="an int number of coalitions"
    )

    def terms(order: int) -> int:
        return sum(comb(p, k) for k in range(2, order + 1))

    order = 3
    while order > 1 and (
        terms(order) > MAX_INTERACTION_TERMS
        or n_coalitions * terms(order) > MAX_FIT_ENTRIES
    ):
        order -= 1
    return order


def _interaction_sets(p: int, order: int) -> list[np.ndarray]:
    """Index arrays ``(count, k)`` of every feature set of size ``k = 2..order``."""
    return [
        np.array(list(itertools.combinations(range(p), k)), dtype=np.int64).reshape(
            -1, k
        )
        for k in range(2, min(order, p) + 1)
    ]


def _complement_pairs(Z: np.ndarray):
    """Rows ``(r1, r2)`` holding complementary coalitions, and the rows left single."""
    masks = np.asarray(Z) > 0.5
    keys = {row.tobytes(): r for r, row in enumerate(masks)}
    partner = np.array([keys.get((~row).tobytes(), -1) for row in masks])
    idx = np.arange(len(masks))
    first = partner > idx
    return idx[first], partner[first], idx[partner < 0]


def _cv_score(e, diag, r1, r2, pair, single, w):
    r"""Leave-one-unit-out error: a complementary pair is left out as a whole.

    For a unit ``u`` of rows, the weighted residual it would have if left out is
    :math:`((I - H)_{uu})^{-1} e_u` (``H`` the ridge hat matrix; ``diag`` and ``pair``
    hold the entries of ``I - H`` on the diagonal and between the two rows of each
    pair; ``w`` the rows' weights). The score sums, over single coalitions, the squared
    left-out weighted residual and, over pairs :math:`(S, N \setminus S)`,

    .. math::
        \tfrac12\,\bar w\,\big(c_1/\sqrt{w_1} - c_2/\sqrt{w_2}\big)^2,
        \qquad \bar w = (w_1 + w_2)/2,

    with :math:`c_1, c_2` the pair's left-out weighted residuals: the error of the
    difference :math:`v(S) - v(N \setminus S)`, the only part of the game the Shapley
    value depends on (``v`` has the Shapley values of its dual game
    :math:`v(N) - v(N \setminus S)`), while the pair's sum only informs terms that
    cancel from it. (The two weights are equal except at budgets between ``p + 1`` and
    ``2p``, where size 1 is enumerated and size ``p - 1`` sampled. The half makes a pair
    with opposite residuals, a purely odd error, weigh as its two coalitions:
    :math:`\tfrac12 (c - (-c))^2 = c^2 + c^2`.) A pair leaves together because its
    two coalitions inform each other's fit (one is the other's complement), which makes
    single-row leave-one-out optimistic. A fit that interpolates a unit (``I - H``
    singular there) cannot be scored: ``inf``.
    """
    tiny = 1e-9
    d1, d2 = diag[r1], diag[r2]
    det = d1 * d2 - pair**2
    if np.any(diag[single] < tiny) or np.any(det < tiny * tiny):
        return np.full(e.shape[1], np.inf)
    score = ((e[single] / diag[single, None]) ** 2).sum(axis=0)
    e1, e2 = e[r1], e[r2]
    c1 = (d2[:, None] * e1 - pair[:, None] * e2) / det[:, None]
    c2 = (d1[:, None] * e2 - pair[:, None] * e1) / det[:, None]
    w1, w2 = w[r1, None], w[r2, None]
    # sqrt(w1) (c1/sqrt(w1) - c2/sqrt(w2)), written so that equal weights give exactly
    # c1 - c2 and a factor of exactly 1/2
    diff = c1 - c2 * np.sqrt(w1 / w2)
    return score + (0.25 * (w1 + w2) / w1 * diff**2).sum(axis=0)


def _thin_svd(B: np.ndarray):
    """``U, s, Vt`` of ``B`` with singular values below ``1e-7 s_max`` dropped.

    From the eigen-decomposition of the smaller Gram matrix (``B B^T`` or ``B^T B``):
    several times faster than an SVD of a wide or tall ``B``; the cut-off keeps only the
    singular values the squared matrix resolves.
    """
    k, d = B.shape
    if min(k, d) == 0:
        return np.zeros((k, 0)), np.zeros(0), np.zeros((0, d))
    if k <= d:
        ev, U = np.linalg.eigh(B @ B.T)
    else:
        ev, V = np.linalg.eigh(B.T @ B)
    ev = ev[::-1]
    keep = ev > (1e-7) ** 2 * max(ev[0], 0.0)
    s = np.sqrt(ev[keep])
    if k <= d:
        U = U[:, ::-1][:, keep]
        return U, s, (U.T @ B) / s[:, None]
    V = V[:, ::-1][:, keep]
    return (B @ V) / s[None, :], s, V.T


def _k_additive_fit(Z, w, y, delta, order: int = 3):
    r"""Fit a ``order``-additive surrogate to ``y = v(S) - v(∅)`` with ``g(N) = delta``.

    :math:`g(S) = \sum_{T \subseteq S,\ 1 \le |T| \le k} a_T` (``k = order``), and its
    Shapley values :math:`\phi_i = \sum_{T \ni i} a_T / |T|`. The interaction
    coefficients (``|T| >= 2``) get a ridge penalty ``lam * sum a_T^2`` (the linear
    ones none); ``lam`` is picked per explained row from :data:`RIDGE_GRID` by the
    leave-one-unit-out error of :func:`_cv_score` (a complementary pair left out as a
    whole; ``lam = inf``: the linear fit), strengths below
    :data:`MIN_RIDGE_UNDETERMINED` skipped when the coalitions do not determine every
    term. Because the linear terms are not penalised, the
    residual is orthogonal to every linear function: with all coalitions the result is
    the exact Shapley value for every ``lam``. Returns ``(phi, fit)`` for
    :func:`fit_error_std`, or ``None`` when the linear part alone is undetermined.
    """
    Z = np.asarray(Z, dtype=float)
    k, p = Z.shape
    m = len(delta)
    sets = _interaction_sets(p, order)
    Xl, t = _reduced(Z, y, delta)
    Xi = (
        np.concatenate(
            [np.prod(Z[:, T], axis=2) for T in sets] + [np.zeros((k, 0))], axis=1
        )
        - Z[:, -1:]
    )
    root = np.sqrt(w)[:, None]
    A, B, b = root * Xl, root * Xi, root * t
    Qa, Ra = np.linalg.qr(A)
    if np.min(np.abs(np.diag(Ra))) <= 1e-10 * np.max(np.abs(np.diag(Ra))):
        return None  # the linear part alone is undetermined: the caller falls back
    Bp = B - Qa @ (Qa.T @ B)
    bp = b - Qa @ (Qa.T @ b)
    h_lin = np.einsum("ij,ij->i", Qa, Qa)
    U, sv, Vt = _thin_svd(Bp)
    Ub = U.T @ bp
    r1, r2, single = _complement_pairs(Z)
    # I - H = P + U diag(lam / (s^2 + lam)) U^T, with P the projector off the span of
    # the linear columns and U: written so, a nearly interpolating fit keeps its
    # leave-one-out residuals accurate (no 0/0 from e and 1 - h computed apart)
    e_off = bp - U @ Ub
    U2, U12 = U**2, U[r1] * U[r2]  # the same for every strength: computed once
    p_diag = np.clip(1.0 - h_lin - U2.sum(axis=1), 0.0, None)
    p_pair = -np.einsum("ij,ij->i", Qa[r1], Qa[r2]) - np.einsum(
        "ij,ij->i", U[r1], U[r2]
    )
    best_score = np.full(m, np.inf)
    best_c, best_lam = np.zeros((B.shape[1], m)), np.full(m, np.inf)
    determined = sv.size == B.shape[1]
    for rel in RIDGE_GRID:
        if not determined and rel < MIN_RIDGE_UNDETERMINED:
            continue
        if np.isinf(rel) or not sv.size:
            lam, kept = np.inf, np.ones(sv.size)
            c = np.zeros((B.shape[1], m))
        else:
            lam = rel * sv[0] ** 2
            kept = lam / (sv**2 + lam)
            c = Vt.T @ ((sv / (sv**2 + lam))[:, None] * Ub)
        e = e_off + U @ (kept[:, None] * Ub)
        diag = p_diag + U2 @ kept
        pair = p_pair + U12 @ kept
        score = _cv_score(e, diag, r1, r2, pair, single, w)
        better = score < best_score
        best_score[better], best_c[:, better], best_lam[better] = (
            score[better],
            c[:, better],
            lam,
        )
    a = np.linalg.solve(Ra, Qa.T @ (b - B @ best_c))
    share = [np.zeros((p - 1, len(T))) for T in sets]
    for S, T in zip(share, sets):
        cols = np.repeat(np.arange(len(T)), T.shape[1])
        rows = T.reshape(-1)
        inside = rows < p - 1
        S[rows[inside], cols[inside]] = 1.0 / T.shape[1]
    L_B = np.concatenate(share + [np.zeros((p - 1, 0))], axis=1)
    phi = np.empty((m, p))
    phi[:, :-1] = (a + L_B @ best_c).T
    phi[:, -1] = delta - phi[:, :-1].sum(axis=1)
    E = b - A @ a - B @ best_c
    # phi_{<p} = M b with M = Ra^-1 Qa^T + (L_B - Ra^-1 Qa^T B) V D U^T,
    # D = diag(s / (s^2 + lam)); the hat matrix is F F^T, F = [Qa, U sqrt(s^2/(s^2+lam))]
    base = np.linalg.solve(Ra, Qa.T)
    KV = (L_B - base @ B) @ Vt.T
    groups = []
    for lam in np.unique(best_lam):
        cols = np.flatnonzero(best_lam == lam)
        if np.isinf(lam):
            groups.append((cols, base, Qa, Qa))
            continue
        D = sv / (sv**2 + lam)
        F = np.concatenate([Qa, U * np.sqrt(sv * D)], axis=1)
        groups.append((cols, base + (KV * D) @ U.T, F, F))
    return phi, (E, groups)


# ---------------------------------------------------------------- first and last only
def _ends_only(design: CoalitionDesign) -> bool:
    """True when the design holds sizes 1 and p-1 and nothing else (not exact)."""
    p = design.masks.shape[1]
    # coalition_design enumerates sizes 1 and p-1 (2p coalitions) before anything else
    return not design.exact and len(design.masks) == design.n_enumerated == 2 * p


def _ends_arrays(a, b, delta) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` as finite ``(m, p)`` arrays matching ``delta``'s ``m``, or an error."""
    out = []
    for name, value in (("a", a), ("b", b)):
        arr = as_float_array(value, name)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] < 1:
            raise ValueError(
                f"{name} must be (p,) or (m, p): one marginal contribution per feature "
                f"(and explained row), got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} holds NaN or inf; pass finite contributions")
        out.append(arr)
    a, b = out
    d = np.atleast_1d(as_float_array(delta, "delta"))
    if a.shape != b.shape or d.shape != (a.shape[0],) or not np.all(np.isfinite(d)):
        raise ValueError(
            f"a {a.shape}, b {b.shape} and delta {d.shape} do not match: give a and b "
            "the same shape (m, p) and delta m finite values v(N) - v(empty set)"
        )
    return a, b


def calibrated_ends(a: np.ndarray, b: np.ndarray, delta: np.ndarray) -> np.ndarray:
    r"""Shapley values from each player's first and last marginal contribution only.

    With sizes 1 and p-1 alone, player ``i``'s mean marginal contribution is known at
    the first position, :math:`a_i = v(\{i\}) - v(\varnothing)`, and at the last,
    :math:`b_i = v(N) - v(N \setminus \{i\})`; the Shapley value is its average over
    all ``p`` positions. Suppose every player's curve has one shape ``h`` between its
    two ends: then :math:`\phi_i = a_i + \lambda (b_i - a_i)` with one
    :math:`\lambda` (the mean of ``h``), and efficiency, :math:`\sum_i \phi_i =
    \Delta = v(N) - v(\varnothing)`, measures it:

    .. math::
        \hat\lambda = \frac{\Delta - \sum_i a_i}{\sum_i (b_i - a_i)},\qquad
        \kappa = \frac{|\sum_i (b_i - a_i)|}{\sum_i |b_i - a_i|},\qquad
        \lambda = \tfrac12 + \kappa^2\big(\operatorname{clip}(\hat\lambda, 0, 1)
        - \tfrac12\big),

    .. math::
        \phi_i = a_i + \lambda\,(b_i - a_i)
        + \frac1p\Big(\Delta - \sum_j a_j - \lambda \sum_j (b_j - a_j)\Big).

    :math:`\lambda = 1/2` (a straight line between the ends, then the efficiency gap
    split equally) is what the Kernel SHAP regression returns on these coalitions.
    :math:`\hat\lambda` is trusted in proportion to :math:`\kappa^2`, the
    coherence of the gaps :math:`b_i - a_i` (when they cancel in the sum, efficiency
    says little about each curve). The result is exact for additive games, games with
    interactions of order at most two (:math:`\hat\lambda = 1/2`), and a single
    unanimity game :math:`[T \subseteq S]` or "any of ``T``" game
    :math:`[T \cap S \ne \varnothing]` of any size (:math:`\hat\lambda = 1/|T|`
    and :math:`1 - 1/|T|`, :math:`\kappa = 1`). ``a`` and ``b`` are ``(m, p)`` (or
    ``(p,)`` for one row), ``delta`` ``(m,)``; returns ``(m, p)``, every row summing to
    its ``delta``. Shapes that do not match, or NaN/inf, raise a ValueError.
    """
    a, b = _ends_arrays(a, b, delta)
    delta = np.atleast_1d(as_float_array(delta, "delta"))
    d = b - a
    total, spread = d.sum(axis=1), np.abs(d).sum(axis=1)
    scale = np.maximum(np.abs(delta), np.abs(a).sum(axis=1)) + spread
    coherent = spread > 1e-12 * np.maximum(scale, 1e-300)
    safe_total = np.where(np.abs(total) > 0, total, 1.0)
    lam_hat = np.where(
        coherent & (np.abs(total) > 0), (delta - a.sum(axis=1)) / safe_total, 0.5
    )
    kappa = np.where(coherent, np.abs(total) / np.where(coherent, spread, 1.0), 0.0)
    lam = 0.5 + kappa**2 * (np.clip(lam_hat, 0.0, 1.0) - 0.5)
    gap = delta - a.sum(axis=1) - lam * total
    return a + lam[:, None] * d + (gap / a.shape[1])[:, None]


# ---------------------------------------------------------------------------- variance
def _unit_totals(contrib: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Sum the rows of ``contrib`` ``(k, ...)`` sharing a unit id: ``(units, ...)``."""
    ids, inverse = np.unique(unit, return_inverse=True)
    out = np.zeros((len(ids),) + contrib.shape[1:])
    np.add.at(out, inverse, contrib)
    return out


def _unit_blocks(F, G, unit) -> list:
    r"""The sampling units ``u`` of the rows given, grouped by their number of rows ``s``.

    One ``(members (n_s, s), inverses (n_s, s, s))`` per size: ``members`` holds each
    unit's row positions, ``inverses`` its :math:`(I - H_{uu})^{-1}`, where
    ``H_uu = F_u G_u^T`` is the unit's block of the (weighted) hat matrix; a leverage so
    close to 1 that the fit interpolates the unit is held at ``1 - 1e-3``.
    """
    order = np.argsort(unit, kind="stable")
    _, start, count = np.unique(unit[order], return_index=True, return_counts=True)
    out = []
    for s in np.unique(count):
        members = order[start[count == s][:, None] + np.arange(s)]
        I_H = np.eye(s) - np.einsum("uia,uja->uij", F[members], G[members])
        I_H = (I_H + I_H.transpose(0, 2, 1)) / 2
        lift = np.maximum(1e-3 - np.linalg.eigvalsh(I_H)[:, 0], 0.0)
        out.append((members, np.linalg.inv(I_H + lift[:, None, None] * np.eye(s))))
    return out


def _stratified_cov(pull, design: CoalitionDesign, rows) -> np.ndarray:
    """``V``: the design's covariance of the summed pulls (see :func:`fit_error_std`)."""
    d = pull.shape[1]
    V = np.zeros((d, d))
    lonely = []
    for h, N_h in enumerate(design.population):
        in_h = design.stratum[rows] == h
        y = _unit_totals(pull[in_h], design.unit[rows][in_h])
        n_h = len(y)
        if n_h < 2:
            lonely.append(y)
            continue
        dev = y - y.mean(axis=0)
        V += n_h * (1 - n_h / N_h) / (n_h - 1) * (dev.T @ dev)
    if lonely:
        y = np.concatenate(lonely)
        if len(y) < 2:  # one lone unit: its variance taken as y_u^2
            y = np.concatenate([y, np.zeros_like(y)])
        dev = y - y.mean(axis=0)
        V += len(y) / (len(y) - 1) * (dev.T @ dev)
    return V


def _sampled_blocks(design: CoalitionDesign, fit) -> list:
    """Per group of ``fit``: :func:`_unit_blocks` of the sampled rows, computed once."""
    rows = np.flatnonzero(design.stratum >= 0)
    return [_unit_blocks(F[rows], G[rows], design.unit[rows]) for _, _, F, G in fit[1]]


def _loo_residuals(design: CoalitionDesign, fit, blocks: list) -> np.ndarray:
    r"""The fit's weighted residuals ``(k, m)``, each sampled row's with its unit left out.

    For unit ``u`` (a complementary pair, or one coalition) the weighted residuals
    :math:`\tilde e_u = W_u^{1/2} e_u` become :math:`(I - H_{uu})^{-1}\tilde e_u`
    (``blocks`` from :func:`_sampled_blocks`); enumerated rows keep their own.
    """
    E, groups = fit
    out = np.array(E, dtype=float)
    rows = np.flatnonzero(design.stratum >= 0)
    for (cols, *_), group in zip(groups, blocks):
        cols = np.asarray(cols)
        for members, inverse in group:
            at = (rows[members][:, :, None], cols[None, None, :])  # (units, s, columns)
            out[at] = np.einsum("uij,ujc->uic", inverse, E[at])
    return out


def _full_map(M: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``M``'s columns ``rows`` for all ``p`` attributions, ``phi_p = Delta - sum``."""
    out = np.empty((M.shape[0] + 1, rows.size))
    out[:-1] = M[:, rows]
    out[-1] = -out[:-1].sum(axis=0)  # phi_p = Delta - sum_{i<p} phi_i
    return out


def fit_error_std(design: CoalitionDesign, w: np.ndarray, fit) -> np.ndarray:
    r"""Standard error of each attribution under the design's own sampling, ``(m, p)``.

    Every fit here (the linear one, or a surrogate with ridge-shrunk interaction
    terms at a fixed strength) is linear in the weighted targets
    :math:`b_r = \sqrt{w_r}\,t_r`, :math:`w_r = \pi(|S_r|) \cdot` factor:
    :math:`\hat\phi_{<p} = M b`. Linearised at the estimate (Covert & Lee 2021 take
    the same route for paired Kernel SHAP),

    .. math::
        \operatorname{Var}\hat\phi_{<p} \approx
        \sum_h n_h\Big(1 - \frac{n_h}{N_h}\Big)\,\widehat{\operatorname{Cov}}_h(y_u),
        \qquad y_u = \sum_{r \in u} M_{\cdot r}\,\tilde e_r,

    where :math:`y_u` sums the rows of sampling unit ``u`` (a complementary pair, or
    one coalition), :math:`\tilde e_r` is the row's weighted residual when its whole
    unit is left out of the fit (:func:`_loo_residuals`; the plain residual understates the
    error of a fit with many terms, which pulls its own points close, and the two
    coalitions of a pair inform each other's fit), stratum ``h`` (a size group) had
    ``n_h`` of its ``N_h`` units drawn without replacement, and enumerated rows add no
    variance. Strata with a single unit are pooled (collapsed strata, no
    finite-population correction: conservative). The last attribution,
    :math:`\phi_p = \Delta - \sum_{i<p}\phi_i`, has the variance of the sum.
    A design that samples nothing yet is not exact, or that leaves a size without a
    single coalition (:attr:`CoalitionDesign.visits_every_size`), has an error the
    design cannot measure: the result is then ``inf``.
    """
    p = design.masks.shape[1]
    if fit is None or design.exact:
        m = 1 if fit is None else fit[0].shape[1]
        return np.zeros((m, p))
    m = fit[0].shape[1]
    rows = np.flatnonzero(design.stratum >= 0)
    if not rows.size or not design.visits_every_size:
        return np.full((m, p), np.inf)
    loo = _loo_residuals(design, fit, _sampled_blocks(design, fit))
    var = np.empty((m, p))
    for cols, M, _, _ in fit[1]:
        L = _full_map(M, rows)
        for col in cols:  # one explained row at a time
            pull = loo[rows, col][:, None] * L.T
            var[col] = np.diagonal(_stratified_cov(pull, design, rows))
    return np.sqrt(np.clip(var, 0.0, None))


def _size_cells(Z: np.ndarray, sizes: np.ndarray):
    """Per coalition size: its rows ``at``, their masks and, per feature, the number of
    them holding it (``n_in``) and not (``n_out``), at least 1, and whether both occur.
    """
    for size in np.unique(sizes):
        at = np.flatnonzero(sizes == size)
        Zs = Z[at].astype(float)
        n_in = Zs.sum(axis=0)
        n_out = len(at) - n_in
        both = (n_in > 0) & (n_out > 0)
        yield at, Zs, np.maximum(n_in, 1), np.maximum(n_out, 1), both


def residual_shapley(design: CoalitionDesign) -> np.ndarray:
    r"""``Q (p, k)``: the Shapley values of a residual game from its values on the design.

    For any game ``r`` with ``r(∅) = r(N) = 0`` (a fit's residual, the fit meeting both
    constraints), :math:`\phi_i(r) = \frac1p \sum_{l=1}^{p-1}
    \big(\bar r_l^{\,i \in S} - \bar r_l^{\,i \notin S}\big)`, where
    :math:`\bar r_l^{\,i \in S}` is the mean of ``r(S)`` over all coalitions of size
    ``l`` that hold ``i`` (and likewise without ``i``). ``Q @ r``, with ``r`` one value
    per row of ``design``, replaces each mean by the mean over the design's coalitions
    of that size holding (or not holding) ``i``: exact for an enumerated size,
    post-stratified for a sampled one. A size that drew no coalition with, or none
    without, ``i`` leaves its term for ``phi_i`` out (a bias the design variance does
    not see; it happens at small budgets, for sizes with few coalitions drawn). Each
    column is then centred over the features, so that ``sum_i (Q r)_i = 0``, as
    :math:`\sum_i \phi_i(r) = r(N) - r(∅) = 0`.
    """
    if not isinstance(design, CoalitionDesign):
        raise TypeError(
            "design must be a CoalitionDesign (from companion.coalition_design), got "
            f"{type(design).__name__}"
        )
    Z, sizes = design.masks, design.sizes
    k, p = Z.shape
    Q = np.zeros((p, k))
    for at, Zs, n_in, n_out, both in _size_cells(Z, sizes):
        Q[:, at] = ((Zs / n_in - (1 - Zs) / n_out) * both).T / p
    return Q - Q.mean(axis=0)


def _noise_pulls(design: CoalitionDesign, rows: np.ndarray, r: np.ndarray):
    """Each sampled row's pull on ``Q r`` with ``r`` held fixed, ``(len(rows), p)``.

    Row ``j`` of size ``l`` moves the mean of size ``l`` with (or without) ``i`` by its
    deviation from that mean over the count: the post-stratified mean linearised.
    """
    Z, sizes = design.masks[rows].astype(float), design.sizes[rows]
    p = Z.shape[1]
    pull = np.zeros((len(rows), p))
    for at, Zs, n_in, n_out, both in _size_cells(Z, sizes):
        rs = r[at]
        mean_in, mean_out = Zs.T @ rs / n_in, (1 - Zs).T @ rs / n_out
        dev = (
            Zs * (rs[:, None] - mean_in) / n_in
            - (1 - Zs) * (rs[:, None] - mean_out) / n_out
        )
        pull[at] = dev * both / p
    return pull - pull.mean(axis=1, keepdims=True)


def _adjusted(design: CoalitionDesign, w: np.ndarray, phi: np.ndarray, fit):
    r"""The surrogate's ``phi`` plus the residual game's Shapley value, with errors.

    A variant of regression-adjusted Monte Carlo (Witter et al. 2025; the difference
    estimator of survey sampling): :math:`\phi(v) = \phi(g) + \phi(v - g)`, the second
    term :math:`Q r` (:func:`residual_shapley`, post-stratified by size). What ``Q``
    needs is the residual of ``g`` over each stratum's whole population: in a stratum
    of which a fraction ``f`` was drawn, ``f`` of that population are the drawn
    coalitions themselves (their own residuals), and for the other ``1 - f`` the drawn
    coalitions' residuals with their unit left out of the fit stand in
    (:func:`_loo_residuals`; a fitted point's own residual is too small, the fit was pulled
    toward it); enumerated sizes use their own residuals. The correction is shrunk by
    one factor per explained row,
    :math:`c = \max(0, 1 - \sum_i \widehat{\operatorname{Var}}_i / \|Q r\|^2)`, with
    :math:`\widehat{\operatorname{Var}}_i` the design variance of ``(Q r)_i`` with the
    residuals held fixed (:func:`_noise_pulls`): a plug-in James-Stein-type factor that
    keeps a correction which stands out of its own sampling noise and drops one that
    is noise. It scales the whole correction, the exact terms of enumerated sizes
    included: those alone are not an estimate of :math:`\phi(v - g)` (the fit's normal
    equations tie the residuals of every size together), so they are kept or dropped
    with the rest. The estimate is then biased (so is any shrinkage) and can be worse
    than the surrogate's alone on a single draw. For fixed ``c`` and ridge strength the
    result is linear in the weighted targets ``b``:
    :math:`\hat\phi = (M + c\,Q W^{-1/2} (F_r + (I - F_r) D^{-1}) (I - H))\,b`, with
    ``M`` the fit's map (:func:`fit_error_std`), ``H`` its hat matrix, ``D`` the unit
    blocks of ``I - H`` and ``F_r`` the drawn fraction of each sampled row's stratum
    (``F_r = I`` for enumerated rows); the standard error is :func:`fit_error_std`'s
    formula with that map in place of ``M``. (The two variances differ on purpose:
    the one in ``c`` treats the residuals as given, the one in the error bar lets them
    move with the fit.) Returns ``phi, error_std``, both ``(m, p)``.
    """
    m, p = phi.shape
    rows = np.flatnonzero(design.stratum >= 0)
    blocks = _sampled_blocks(design, fit)
    loo = _loo_residuals(design, fit, blocks)
    # a stratum drawn in fraction f: f of its population are the drawn coalitions
    # themselves (own residuals), 1 - f the others (left-out residuals stand in)
    frac = np.zeros(len(w))
    for h, N_h in enumerate(design.population):
        in_h = design.stratum == h
        frac[in_h] = len(np.unique(design.unit[in_h])) / N_h
    mixed = frac[:, None] * fit[0] + (1 - frac[:, None]) * loo
    mixed[design.stratum < 0] = fit[0][design.stratum < 0]
    Q = residual_shapley(design)
    corr = (Q @ (mixed / np.sqrt(w)[:, None])).T  # (m, p)
    out, var = np.array(phi, dtype=float), np.zeros((m, p))
    if not rows.size:  # nothing sampled: exact sizes only, an error not measurable
        return out + corr, np.full((m, p), np.inf)
    # a size with no coalition at all: an error no variance formula sees (inf below)
    measurable = design.visits_every_size
    Qw = Q / np.sqrt(w)[None, :]
    for (cols, M, F, G), group in zip(fit[1], blocks):
        if measurable:
            A = Qw.copy()
            for members, inverse in group:
                f = frac[rows[members[:, 0]]][:, None, None]
                mix = f * np.eye(members.shape[1]) + (1 - f) * inverse  # one per unit
                A[:, rows[members]] = np.einsum("pus,ust->put", Qw[:, rows[members]], mix)
            L = A[:, rows] - (A @ F) @ G[rows].T  # the correction's map, sampled columns
            L_fit = _full_map(M, rows)
        for col in cols:
            r = mixed[rows, col] / np.sqrt(w[rows])
            noise = np.diagonal(
                _stratified_cov(_noise_pulls(design, rows, r), design, rows)
            )
            signal = float((corr[col] ** 2).sum())
            c = max(0.0, 1.0 - noise.sum() / signal) if signal > 0 else 0.0
            out[col] += c * corr[col]
            if measurable:
                pull = loo[rows, col][:, None] * (L_fit + c * L).T
                var[col] = np.diagonal(_stratified_cov(pull, design, rows))
    if not measurable:
        var[:] = np.inf
    return out, np.sqrt(np.clip(var, 0.0, None))


# ---------------------------------------------------------------------------- estimate
#: The values of ``kernel_shap(design=...)``.
DESIGNS = ("auto", "surrogate", "paired", "unpaired")


def _check_design(design: object) -> CoalitionDesign:
    """``design`` itself if it is a well-formed :class:`CoalitionDesign`, else an error
    naming what is wrong (a design from :func:`coalition_design` always is)."""
    if not isinstance(design, CoalitionDesign):
        raise TypeError(
            f"design must be a CoalitionDesign (from coalition_design), got "
            f"{type(design).__name__}"
        )
    masks = design.masks
    if not isinstance(masks, np.ndarray) or masks.dtype != np.bool_ or masks.ndim != 2:
        raise ValueError("design.masks must be a bool array (k, p); use coalition_design")
    k = len(masks)
    fields = {"factor": design.factor, "stratum": design.stratum, "unit": design.unit}
    for name, arr in fields.items():
        if not isinstance(arr, np.ndarray) or arr.shape != (k,):
            raise ValueError(
                f"design.{name} must be an array of one entry per coalition, shape "
                f"({k},); build the design with coalition_design"
            )
    population = design.population
    if not isinstance(population, np.ndarray) or population.ndim != 1:
        raise ValueError(
            "design.population must be a 1-D array of units per stratum; build the "
            "design with coalition_design"
        )
    if not (np.all(np.isfinite(design.factor)) and np.all(design.factor > 0)) or (
        k and not (-1 <= design.stratum.min() and design.stratum.max() < len(population))
    ):
        raise ValueError(
            "design.factor must be positive and finite, design.stratum in -1 .. "
            "len(population) - 1; build the design with coalition_design"
        )
    return design


def estimate(design: CoalitionDesign, values, method: str = "auto"):
    r"""``(phi, error_std)``, each ``(m, p)``: :func:`~companion.kernel.kernel_shap`'s
    answer for ``design=method`` from the game's values on ``design``.

    ``values`` is ``(m, k + 2)`` for ``m`` explained rows: :math:`v(\varnothing)`,
    :math:`v(N)`, then :math:`v(S)` for the ``k`` coalitions of ``design.masks``, in
    order. With :math:`y_S = v(S) - v(\varnothing)`,
    :math:`\Delta = v(N) - v(\varnothing)` and ``w`` the design's weights, the fit is

    .. math::
        \min_{a}\ \sum_S w_S\,\Big(y_S - \sum_{T \subseteq S,\ |T| \le k} a_T\Big)^2
        + \lambda \sum_{|T| \ge 2} a_T^2
        \quad\text{s.t.}\quad \sum_{|T| \le k} a_T = \Delta,

    with :math:`k = 1` (no penalty: the linear fit) for ``"paired"`` and when the
    design holds every coalition, ``k = 2`` for ``"unpaired"``, and ``k`` of
    :func:`auto_order` for ``"auto"`` and ``"surrogate"``; :math:`\lambda` is chosen
    per row from :data:`RIDGE_GRID` by leave-one-unit-out error. The answer is
    :math:`\phi_i = \sum_{T \ni i} a_T/|T|`, for ``"auto"`` plus the residual
    correction; ``error_std`` is the design's standard error of it. Exception: when the
    design holds sizes 1 and p-1 only, ``"auto"`` and ``"surrogate"`` return
    :func:`calibrated_ends` with infinite ``error_std`` (nothing is sampled).
    """
    design = _check_design(design)
    if not isinstance(method, str) or method not in DESIGNS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, DESIGNS))}, got {method!r}"
        )
    values = as_float_array(values, "values")
    k = len(design.masks)
    if values.ndim != 2 or values.shape[1] != k + 2 or len(values) == 0:
        raise ValueError(
            f"values must be (m, {k + 2}): v(empty), v(N) and v on the design's {k} "
            f"coalitions for each of m >= 1 rows, got shape {values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("values holds NaN or inf; every v(S) must be finite")
    return _estimate(design, values, method)


def _estimate(design: CoalitionDesign, values: np.ndarray, method: str):
    """:func:`estimate` on checked arguments."""
    auto, correct = method in ("auto", "surrogate"), method == "auto"
    p = design.masks.shape[1]
    order = {"paired": 1, "unpaired": 2}.get(method) or auto_order(p, len(design.masks))
    v0, vN, vS = values[:, 0], values[:, 1], values[:, 2:]
    m = len(values)
    w = design.weights
    y, delta = (vS - v0[:, None]).T, vN - v0
    fit = None
    if auto and _ends_only(design):  # sizes 1 and p-1 only: calibrated interpolation
        sizes = design.sizes
        a = np.empty((m, p))
        b = np.empty((m, p))
        first, last = np.flatnonzero(sizes == 1), np.flatnonzero(sizes == p - 1)
        a[:, design.masks[first].argmax(axis=1)] = vS[:, first] - v0[:, None]
        b[:, (~design.masks[last]).argmax(axis=1)] = vN[:, None] - vS[:, last]
        return calibrated_ends(a, b, delta), np.full((m, p), np.inf)
    # one BLAS thread for the fit: a parallel matrix product's rounding, and with it the
    # shrinkage chosen, would otherwise depend on the number of cores
    with _one_blas_thread():
        if order > 1 and not design.exact and p > 2:
            fit = _k_additive_fit(design.masks, w, y, delta, order=order)
        if fit is None:
            phi, fit = _linear_fit(design.masks, w, y, delta)
            error_std = fit_error_std(design, w, fit)
        elif correct:
            phi, error_std = _adjusted(design, w, *fit)
        else:
            phi, fit = fit
            error_std = fit_error_std(design, w, fit)
    if fit is None:
        error_std = np.zeros((m, p))
    return phi, error_std
