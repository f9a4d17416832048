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

The coalitions come from :func:`coalition_design`: whole coalition sizes are enumerated
while they fit in the budget (sizes 1 and p-1 first), the rest is sampled in
complementary pairs ``(S, N \ S)`` (Covert & Lee 2021), stratified by size.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .game import _as_rng, coalition_masks, evaluate_game
from .missing import Model, as_background, as_row, marginal_game
from .weights import kernel_weight, lime_kernel

__all__ = ["CoalitionDesign", "coalition_design", "constrained_fit", "default_budget", "kernel_shap", "lime"]


# ----------------------------------------------------------------------------- the design
@dataclass(frozen=True)
class CoalitionDesign:
    """The coalitions one explanation evaluates, without the empty and the full one.

    ``masks`` is a bool array ``(k, p)``; ``factor[r]`` is the number of coalitions that
    row ``r`` stands for: ``1`` where its size group was enumerated, and
    ``(coalitions in the group) / (coalitions drawn from it)`` where it was sampled.
    A kernel ``pi`` then gets the weight ``pi(|S|) * factor`` per row, so that the rows of
    every size group carry that group's full kernel mass. ``exact`` is true when all
    ``2**p - 2`` coalitions are present. ``n_enumerated`` counts the enumerated rows.
    """

    masks: np.ndarray
    factor: np.ndarray
    exact: bool
    n_enumerated: int

    @property
    def sizes(self) -> np.ndarray:
        """``|S|`` for every row."""
        return self.masks.sum(axis=1)


@functools.lru_cache(maxsize=64)
def _kernel_table(p: int) -> np.ndarray:
    """``pi(s)`` of :func:`companion.kernel_weight` for ``s = 0..p`` (inf at both ends), cached."""
    table = np.asarray(kernel_weight(np.arange(p + 1), p), dtype=float)
    table.flags.writeable = False
    return table


def default_budget(p: int) -> int:
    """``2 p + 2048`` coalitions, shap's ``nsamples="auto"``, capped at ``2**p - 2``."""
    return int(min(2 * p + 2048, 2**p - 2)) if p > 1 else 0


def _check_budget(n_samples: object, p: int) -> int:
    """The coalition budget as an int; refuses budgets too small for a solvable fit."""
    if n_samples is None:
        return default_budget(p)
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, (int, np.integer)):
        raise TypeError(f"n_samples must be an int number of coalitions, not {type(n_samples).__name__}")
    n_samples, total = int(n_samples), 2**p - 2
    minimum = min(p + 1, total)
    if n_samples < minimum:
        raise ValueError(
            f"n_samples={n_samples} coalitions is below the minimum of {minimum} for p={p} "
            f"features (p + 1, or all 2**p - 2 = {total} when fewer); the fit has p - 1 free "
            f"unknowns. Use at least {minimum}, better 2p + 2048 = {2 * p + 2048}"
        )
    return n_samples


def _group_count(g: int, p: int) -> int:
    """Coalitions of size ``g`` or ``p - g`` (one group): ``2 C(p, g)``, or ``C(p, g)`` when ``2g = p``."""
    return math.comb(p, g) * (1 if 2 * g == p else 2)


def _combinations(n_items: int, size: int) -> np.ndarray:
    """All ``C(n_items, size)`` subsets as a bool array, in lexicographic order."""
    count = math.comb(n_items, size)
    members = np.fromiter(
        itertools.chain.from_iterable(itertools.combinations(range(n_items), size)),
        dtype=np.int64, count=count * size,
    ).reshape(count, size)
    masks = np.zeros((count, n_items), dtype=bool)
    np.put_along_axis(masks, members, True, axis=1)
    return masks


def _pair_count(g: int, p: int) -> int:
    """Complementary pairs in group ``g``: ``C(p, g)``, or ``C(p, g) / 2`` when ``2g = p``."""
    return _group_count(g, p) // 2


def _random_subsets(p: int, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random subset of ``sizes[r]`` features per row ``r`` (bool ``(len(sizes), p)``).

    A row with ``2 * size == p`` always holds feature 0: it names the pair ``(S, N \\ S)``
    by its member that contains feature 0, so each such pair has exactly one name.
    """
    keys = rng.random((len(sizes), p))
    keys[2 * sizes == p, 0] = -1.0  # smallest key: feature 0 is always drawn
    kth = np.take_along_axis(np.sort(keys, axis=1), sizes[:, None] - 1, axis=1)
    return keys <= kth


def _row_keys(masks: np.ndarray) -> np.ndarray:
    """A key per row that is equal exactly for equal rows: the coalition code, or packed bits."""
    if masks.shape[1] <= 62:
        return masks.astype(np.int64) @ (np.int64(1) << np.arange(masks.shape[1], dtype=np.int64))
    return np.packbits(masks, axis=1)


def _sample_pairs(p: int, groups: np.ndarray, n_pairs: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """For each group ``g``, ``n_pairs[g]`` distinct pair names ``S`` (``|S| = g``), no repeats.

    Sparse groups are drawn together and repeats dropped (drawing more until each group
    has enough); a group asked for at least a quarter of its pairs is drawn from its full
    list without replacement instead.
    """
    out: dict[int, np.ndarray] = {}
    need: dict[int, int] = {}
    for g, m in zip(map(int, groups), map(int, n_pairs)):
        if m == 0:
            continue
        total = _pair_count(g, p)
        if 4 * m >= total:
            names = _combinations(p, g)
            names = names[names[:, 0]] if 2 * g == p else names
            out[g] = names[np.sort(rng.choice(total, size=m, replace=False))]
        else:
            need[g] = m
    pool, pool_size = np.zeros((0, p), dtype=bool), np.zeros(0, dtype=np.int64)
    while True:
        short = {g: m - int(np.count_nonzero(pool_size == g)) for g, m in need.items()}
        short = {g: s for g, s in short.items() if s > 0}
        if not short:
            break
        sizes = np.repeat(np.array(list(short)), [s + max(8, s // 4) for s in short.values()])
        pool = np.concatenate([pool, _random_subsets(p, sizes, rng)])
        pool_size = np.concatenate([pool_size, sizes])
        _, first = np.unique(_row_keys(pool), axis=0, return_index=True)
        keep = np.sort(first)  # first occurrence of every subset, in draw order
        pool, pool_size = pool[keep], pool_size[keep]
    for g, m in need.items():
        out[g] = pool[pool_size == g][:m]
    return [out[int(g)] for g, m in zip(groups, n_pairs) if m]


def _allocate(mass: np.ndarray, cap: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` pairs over groups in proportion to ``mass``, at most ``cap`` each.

    Largest-remainder rounding; a group that hits its cap gives its share to the others.
    """
    alloc = np.zeros(len(mass), dtype=np.int64)
    open_ = cap > 0
    left = total
    while left > 0 and open_.any():
        share = np.where(open_, mass, 0.0)
        ideal = left * share / share.sum()
        step = np.minimum(np.floor(ideal).astype(np.int64), cap - alloc)
        rest = left - int(step.sum())
        order = np.argsort(-(ideal - np.floor(ideal)), kind="stable")
        for j in order:
            if rest == 0:
                break
            if open_[j] and step[j] < cap[j] - alloc[j]:
                step[j] += 1
                rest -= 1
        if step.sum() == 0:
            break
        alloc += step
        left -= int(step.sum())
        open_ &= alloc < cap
    return alloc


def coalition_design(p: int, n_samples: int | None = None, rng=None) -> CoalitionDesign:
    r"""The coalitions Kernel SHAP evaluates for ``p`` features and a budget of ``n_samples``.

    The budget counts coalitions other than the empty and the full one (those two are
    always evaluated: they are the constraints). Coalitions of size ``g`` and ``p - g``
    form *group* ``g``; group ``g`` holds the kernel mass
    :math:`\binom{p}{g}\pi(g)` per size, the largest for ``g = 1``.

    1. ``n_samples >= 2**p - 2``: every coalition, so the fit is exact.
    2. ``n_samples < 2p`` (too few for sizes 1 and p-1): every single-feature coalition
       ``{i}`` (these alone determine all ``p - 1`` free unknowns of the fit), and the rest
       of the budget on distinct random coalitions ``N \ {i}`` of size ``p - 1``.
    3. Otherwise group 1 (sizes 1 and p-1, where the kernel is largest) is enumerated, and
       then groups ``g = 2, 3, ...`` while the group's share of the budget left, in
       proportion to its kernel mass among the groups not yet enumerated, covers the whole
       group: ``count_g <= left * mass_g / sum(mass_h, h >= g)``. (Enumerating a group merely
       because it fits would starve the groups after it: at p = 12 and a budget of 1598,
       sizes 4 and 8 would take all but 12 coalitions.)
    4. The rest of the budget is spent on complementary pairs ``(S, N \ S)`` drawn
       without repetition from the remaining groups, the number of pairs per group in
       proportion to the group's kernel mass (stratified, largest-remainder rounding).
       An odd coalition left over is not used.

    ``rng`` is a numpy Generator, an int seed or ``None``; the same seed gives the same design.
    """
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"p must be a positive int number of features, got {p!r}")
    p = int(p)
    budget, total = _check_budget(n_samples, p), 2**p - 2
    if budget >= total:
        masks = coalition_masks(np.arange(1, total + 1, dtype=np.int64), p) if p > 1 else np.zeros((0, 1), bool)
        return CoalitionDesign(masks, np.ones(len(masks)), True, len(masks))
    rng = _as_rng(rng)
    if budget < 2 * p:  # sizes 1 and p-1 do not fit: every {i}, then some N - {i}
        extra = budget - p
        complements = ~np.eye(p, dtype=bool)[np.sort(rng.choice(p, size=extra, replace=False))]
        masks = np.concatenate([np.eye(p, dtype=bool), complements])
        factor = np.concatenate([np.ones(p), np.full(extra, p / extra) if extra else []])
        return CoalitionDesign(masks, factor, False, p)
    groups = np.arange(1, p // 2 + 1)
    counts = [_group_count(int(g), p) for g in groups]
    pi = _kernel_table(p)
    group_mass = np.array([c * pi[g] for g, c in zip(groups, counts)])
    blocks, factors, left, g_stop = [], [], budget, len(groups)
    for j, g in enumerate(groups):
        # group 1 (2p coalitions, the largest kernel mass) whenever it fits; a later group
        # only if its kernel share of the budget left covers all of it
        share = left if j == 0 else left * group_mass[j] / group_mass[j:].sum()
        if counts[j] > share:
            g_stop = j
            break
        S = _combinations(p, int(g))
        blocks.append(S if 2 * g == p else np.concatenate([S, ~S]))
        factors.append(np.ones(counts[j]))
        left -= counts[j]
    n_enumerated = budget - left
    rest, rest_counts = groups[g_stop:], counts[g_stop:]
    if len(rest):
        mass = group_mass[g_stop:]
        cap = np.array([min(c // 2, left) for c in rest_counts], dtype=np.int64)
        n_pairs = _allocate(mass, cap, left // 2)
        drawn = iter(_sample_pairs(p, rest, n_pairs, rng))
        for m, count in zip(n_pairs, rest_counts):
            if m:
                S = next(drawn)
                blocks.append(np.concatenate([S, ~S]))
                factors.append(np.full(2 * m, count / (2 * m)))
    masks = np.concatenate(blocks) if blocks else np.zeros((0, p), dtype=bool)
    return CoalitionDesign(masks, np.concatenate(factors) if factors else np.ones(0), False, n_enumerated)


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
    if not callable(f):
        raise TypeError(f"f must be callable as f(X) -> (m,), got {type(f).__name__}")
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
