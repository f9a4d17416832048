r"""Which coalitions Kernel SHAP and LIME evaluate, what each stands for (chapter 4).

:func:`coalition_design` picks, for ``p`` features and a budget of coalitions, every
coalition of the sizes it can afford to enumerate (sizes 1 and p-1 first, where the
Shapley kernel is largest) and samples the rest, stratified by size and without
repeats: in complementary pairs ``(S, N \ S)`` (Covert & Lee 2021, ``paired=True``) or
as single coalitions (``paired=False``). Each row carries a factor: how many
coalitions of its size group it stands for, so that every size keeps its exact kernel
mass in the regression of :mod:`companion.kernel`.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from .checks import as_rng, check_flag, check_int
from .game import coalition_masks
from .weights import kernel_weight

__all__ = ["CoalitionDesign", "check_budget", "coalition_design", "default_budget"]


# --------------------------------------------------------------------------- the design
@dataclass(frozen=True)
class CoalitionDesign:
    """The coalitions one explanation evaluates, without the empty and the full one.

    ``masks`` is a bool array ``(k, p)``; ``factor[r]`` is the number of coalitions that
    row ``r`` stands for: ``1`` where its size group was enumerated, and
    ``(coalitions in the group) / (coalitions drawn from it)`` where it was sampled. A
    kernel ``pi`` then gets the weight ``pi(|S|) * factor`` per row, so that the rows of
    every size group carry that group's full kernel mass. ``exact`` is true when all
    ``2**p - 2`` coalitions are present. ``n_enumerated`` counts the enumerated rows.

    The sampling units, for the design's variance: ``stratum[r]`` is ``-1`` for an
    enumerated row, else the stratum (size group) it was drawn from; ``unit[r]`` numbers
    the unit drawn (a complementary pair shares one unit, an unpaired coalition is a
    unit of its own); ``population[h]`` is how many units stratum ``h`` holds in all
    (units are drawn without replacement). ``paired`` tells which design it is.
    """

    masks: np.ndarray
    factor: np.ndarray
    exact: bool
    n_enumerated: int
    stratum: np.ndarray | None = None
    unit: np.ndarray | None = None
    population: np.ndarray | None = None
    paired: bool = True

    @property
    def sizes(self) -> np.ndarray:
        """``|S|`` for every row."""
        return self.masks.sum(axis=1)

    @property
    def visits_every_size(self) -> bool:
        """Whether every size ``s = 1, ..., p - 1`` has at least one coalition among the
        rows: where a size has none, the fit's error on that part of the game is never
        observed (with complementary pairs, sizes ``s`` and ``p - s`` come together)."""
        p = self.masks.shape[1]
        present = np.zeros(p + 1, dtype=bool)
        present[np.unique(self.sizes)] = True
        return bool(present[1:p].all())

    @property
    def weights(self) -> np.ndarray:
        r"""Each row's weight in the Kernel SHAP regression, :math:`\pi(|S|)` times
        ``factor``, with :math:`\pi(s) = (p-1) / (\binom{p}{s} s (p-s))` the Shapley
        kernel (:func:`companion.kernel_weight`)."""
        return _kernel_table(self.masks.shape[1])[self.sizes] * self.factor


@functools.lru_cache(maxsize=64)
def _kernel_table(p: int) -> np.ndarray:
    """``pi(s)`` of :func:`companion.kernel_weight`, ``s = 0..p`` (inf at the ends)."""
    table = np.asarray(kernel_weight(np.arange(p + 1), p), dtype=float)
    table.flags.writeable = False
    return table


def default_budget(p: int) -> int:
    """``2 p + 2048`` coalitions, shap's ``nsamples="auto"``, capped at ``2**p - 2``."""
    return int(min(2 * p + 2048, 2**p - 2)) if p > 1 else 0


def check_budget(n_samples: object, p: int) -> int:
    r"""The coalition budget ``n_samples`` as an int, checked for ``p`` features.

    ``None`` means :func:`default_budget`, :math:`\min(2p + 2048,\ 2^p - 2)`. Otherwise
    an int of at least :math:`\min(p + 1,\ 2^p - 2)`: the fit has ``p - 1`` free
    unknowns (the constraints fix the rest), and a smaller budget cannot determine
    them. A TypeError for a non-int, a ValueError naming the minimum below it.
    """
    p = check_int(p, "p", kind="an int number of features")
    if n_samples is None:
        return default_budget(p)
    n_samples = check_int(
        n_samples, "n_samples", minimum=0, kind="an int number of coalitions"
    )
    total = 2**p - 2
    minimum = min(p + 1, total)
    if n_samples < minimum:
        raise ValueError(
            f"n_samples={n_samples} coalitions is below the minimum of {minimum} for "
            f"p={p} features (p + 1, or all 2**p - 2 = {total} when fewer); the fit "
            f"has p - 1 free unknowns. Use at least {minimum}, better 2p + 2048 = "
            f"{2 * p + 2048}"
        )
    return n_samples


def _group_count(g: int, p: int) -> int:
    """Coalitions of size ``g`` or ``p - g`` (one group): ``2 C(p, g)``.

    Only ``C(p, g)`` when ``2g = p``: then the two sizes are one.
    """
    return math.comb(p, g) * (1 if 2 * g == p else 2)


def _combinations(n_items: int, size: int) -> np.ndarray:
    """All ``C(n_items, size)`` subsets as a bool array, in lexicographic order."""
    count = math.comb(n_items, size)
    members = np.fromiter(
        itertools.chain.from_iterable(itertools.combinations(range(n_items), size)),
        dtype=np.int64,
        count=count * size,
    ).reshape(count, size)
    masks = np.zeros((count, n_items), dtype=bool)
    np.put_along_axis(masks, members, True, axis=1)
    return masks


def _pair_count(g: int, p: int) -> int:
    """Complementary pairs in group ``g``: ``C(p, g)``, halved if ``2g = p``."""
    return _group_count(g, p) // 2


def _random_subsets(p: int, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random subset of ``sizes[r]`` features per row ``r``.

    Returns a bool array ``(len(sizes), p)``.

    A row with ``2 * size == p`` always holds feature 0: it names the pair
    ``(S, N \\ S)`` by its member that contains feature 0, so each such pair has exactly
    one name.
    """
    keys = rng.random((len(sizes), p))
    keys[2 * sizes == p, 0] = -1.0  # smallest key: feature 0 is always drawn
    kth = np.take_along_axis(np.sort(keys, axis=1), sizes[:, None] - 1, axis=1)
    return keys <= kth


def _row_keys(masks: np.ndarray) -> np.ndarray:
    """A key per row, equal exactly for equal rows: coalition code, or packed bits."""
    if masks.shape[1] <= 62:
        return masks.astype(np.int64) @ (
            np.int64(1) << np.arange(masks.shape[1], dtype=np.int64)
        )
    return np.packbits(masks, axis=1)


def _sample_pairs(
    p: int, groups: np.ndarray, n_pairs: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    """For each group ``g``, ``n_pairs[g]`` distinct pair names ``S`` with ``|S| = g``.

    Sparse groups are drawn together and repeats dropped (drawing more until each group
    has enough); a group asked for at least a quarter of its pairs is drawn from its
    full list without replacement instead.
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
        sizes = np.repeat(
            np.array(list(short)), [s + max(8, s // 4) for s in short.values()]
        )
        pool = np.concatenate([pool, _random_subsets(p, sizes, rng)])
        pool_size = np.concatenate([pool_size, sizes])
        _, first = np.unique(_row_keys(pool), axis=0, return_index=True)
        keep = np.sort(first)  # first occurrence of every subset, in draw order
        pool, pool_size = pool[keep], pool_size[keep]
    for g, m in need.items():
        out[g] = pool[pool_size == g][:m]
    return [out[int(g)] for g, m in zip(groups, n_pairs) if m]


def _allocate(mass: np.ndarray, cap: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` pairs over the groups in proportion to ``mass``, ``cap`` at most.

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


def _enumerated(masks: np.ndarray) -> CoalitionDesign:
    k = len(masks)
    minus = np.full(k, -1)
    return CoalitionDesign(
        masks, np.ones(k), True, k, minus, minus, np.zeros(0, np.int64)
    )


def coalition_design(
    p: int, n_samples: int | None = None, rng=None, paired: bool = True
) -> CoalitionDesign:
    r"""The coalitions Kernel SHAP evaluates for ``p`` features, budget ``n_samples``.

    The budget counts coalitions other than the empty and the full one (those two are
    always evaluated: they are the constraints). Coalitions of size ``g`` and ``p - g``
    form *group* ``g``; group ``g`` holds the kernel mass
    :math:`\binom{p}{g}\pi(g)` per size, the largest for ``g = 1``.

    1. ``n_samples >= 2**p - 2``: every coalition, so the fit is exact.
    2. ``n_samples < 2p`` (too few for sizes 1 and p-1): every single-feature coalition
       ``{i}`` (these alone determine all ``p - 1`` free unknowns of the fit), and the
       rest of the budget on distinct random coalitions ``N \ {i}`` of size ``p - 1``.
    3. Otherwise group 1 (sizes 1 and p-1, where the kernel is largest) is enumerated,
       and then groups ``g = 2, 3, ...`` while the group's share of the budget left, in
       proportion to its kernel mass among the groups not yet enumerated, covers the
       whole group: ``count_g <= left * mass_g / sum(mass_h, h >= g)``. (Enumerating a
       group merely because it fits would starve the groups after it: at p = 12 and a
       budget of 1598, sizes 4 and 8 would take all but 12 coalitions.)
    4. The rest of the budget is drawn from the remaining groups without repetition, the
       number per group in proportion to the group's kernel mass (stratified,
       largest-remainder rounding). With ``paired=True`` it is spent on complementary
       pairs ``(S, N \ S)`` (an odd coalition left over is not used); with
       ``paired=False`` on single coalitions, each the random half of a distinct pair.

    ``rng`` is a numpy Generator, an int seed or ``None``; the same seed gives the same
    design.
    """
    p = check_int(p, "p", kind="an int number of features")
    budget, total = check_budget(n_samples, p), 2**p - 2
    paired = check_flag(paired, "paired")
    if budget >= total:
        if p == 1:
            return _enumerated(np.zeros((0, 1), bool))
        return _enumerated(coalition_masks(np.arange(1, total + 1, dtype=np.int64), p))
    rng = as_rng(rng)
    if budget < 2 * p:  # sizes 1 and p-1 do not fit: every {i}, then some N - {i}
        extra = budget - p
        chosen = np.sort(rng.choice(p, size=extra, replace=False))
        masks = np.concatenate([np.eye(p, dtype=bool), ~np.eye(p, dtype=bool)[chosen]])
        factor = np.concatenate(
            [np.ones(p), np.full(extra, p / extra) if extra else []]
        )
        stratum = np.concatenate([np.full(p, -1), np.zeros(extra, np.int64)])
        unit = np.concatenate([np.full(p, -1), np.arange(extra)])
        return CoalitionDesign(
            masks, factor, False, p, stratum, unit, np.array([p]), bool(paired)
        )
    groups = np.arange(1, p // 2 + 1)
    counts = [_group_count(int(g), p) for g in groups]
    pi = _kernel_table(p)
    group_mass = np.array([c * pi[g] for g, c in zip(groups, counts)])
    blocks, factors, left, g_stop = [], [], budget, len(groups)
    for j, g in enumerate(groups):
        # group 1 (2p coalitions, the largest kernel mass) whenever it fits; a later
        # group only if its kernel share of the budget left covers all of it
        share = left if j == 0 else left * group_mass[j] / group_mass[j:].sum()
        if counts[j] > share:
            g_stop = j
            break
        S = _combinations(p, int(g))
        blocks.append(S if 2 * g == p else np.concatenate([S, ~S]))
        factors.append(np.ones(counts[j]))
        left -= counts[j]
    n_enumerated = budget - left
    strata, units, population = (
        [np.full(n_enumerated, -1)],
        [np.full(n_enumerated, -1)],
        [],
    )
    rest, rest_counts = groups[g_stop:], counts[g_stop:]
    if len(rest):
        mass = group_mass[g_stop:]
        per_unit = 2 if paired else 1
        cap = np.array(
            [min(c // 2, left // per_unit) for c in rest_counts], dtype=np.int64
        )
        n_units = _allocate(mass, cap, left // per_unit)
        drawn = iter(_sample_pairs(p, rest, n_units, rng))
        first = 0
        for h, (m, count) in enumerate(zip(n_units, rest_counts)):
            if not m:
                continue
            S = next(drawn)
            ids = np.arange(first, first + m)
            if paired:
                blocks.append(np.concatenate([S, ~S]))
                ids = np.concatenate([ids, ids])
                population.append(count // 2)
            else:
                flip = rng.random(m) < 0.5
                blocks.append(np.where(flip[:, None], ~S, S))
                population.append(count)
            factors.append(np.full(len(ids), count / len(ids)))
            strata.append(np.full(len(ids), len(population) - 1))
            units.append(ids)
            first += m
    masks = np.concatenate(blocks) if blocks else np.zeros((0, p), dtype=bool)
    return CoalitionDesign(
        masks,
        np.concatenate(factors) if factors else np.ones(0),
        False,
        n_enumerated,
        np.concatenate(strata),
        np.concatenate(units),
        np.array(population, dtype=float),  # counts beyond int64 at large p
        bool(paired),
    )
