r"""Games the Kernel SHAP estimator was not tuned on, each with exact Shapley values.

Four families, each built for ``p`` features from an instance seed:

* ``mlp``: a random (untrained) tanh network ``p -> 32 -> 1``
  (:func:`benchmarks.common.mlp`), a smooth model; exact values by enumerating all
  ``2**p`` coalitions of its marginal game.
* ``soum``: a sum of unanimity games ``v(S) = sum_k c_k [T_k subset of S]`` with
  ``4 p`` random coalitions ``T_k`` of every order (size uniform on ``1..p``) and
  coefficients ``c_k ~ N(0, 1)``; closed form ``phi_i = sum_{k: i in T_k} c_k / |T_k|``.
* ``trees``: scikit-learn gradient boosting (50 trees of depth 4) fitted to a target
  with interactions; exact interventional values by shap's tree algorithm (the
  marginal game of the same background, checked against enumeration in
  tests/test_benchmarks.py).
* ``linear``: a linear model ``f(x) = w . x``; closed form
  ``phi_i = w_i (x_i - mean_j b_ji)``.

The model families use the marginal game of chapter 3 with 50 background rows. Every
estimator sees the game through :class:`CountingGame`, a function of boolean masks that
memoises ``v(S)`` (so a benchmark with many estimators pays each coalition once; each
value is the same to the last bit in whatever batch it is first computed, so an
estimator's answer does not depend on which method ran before it), counts the
coalitions each estimator asks for and tallies their sizes. Through
:meth:`CountingGame.as_model` the same game is a model on 0/1 inputs,
``f(z) = v({i : z_i = 1})``, explained at ``x = 1`` with the single background row
``0``, which is how the model-level explainers
(``kernel_shap``, ``shap.KernelExplainer``, ``shap.PermutationExplainer``) see it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from benchmarks.common import mlp

N_BACKGROUND = 50
FAMILIES = ("mlp", "soum", "trees", "linear")


def exact_from_table(table: np.ndarray, p: int) -> np.ndarray:
    r"""Shapley values from all ``2**p`` values ``table[code(S)]`` (bit ``i``: ``i``).

    :math:`\phi_i = \sum_{S \not\ni i} \frac{|S|!(p-|S|-1)!}{p!}(v(S \cup i) - v(S))`.
    """
    from math import comb

    codes = np.arange(2**p, dtype=np.int64)
    size = np.zeros(2**p, dtype=np.int64)
    for i in range(p):
        size += (codes >> i) & 1
    weight = np.array([1.0 / (p * comb(p - 1, s)) for s in range(p)] + [0.0])
    phi = np.empty(p)
    for i in range(p):
        without = codes[((codes >> i) & 1) == 0]
        phi[i] = weight[size[without]] @ (table[without | (1 << i)] - table[without])
    return phi


def _codes(masks: np.ndarray) -> np.ndarray:
    return masks.astype(np.int64) @ (
        np.int64(1) << np.arange(masks.shape[1], dtype=np.int64)
    )


def _marginal_values(
    f, x: np.ndarray, background: np.ndarray, masks: np.ndarray
) -> np.ndarray:
    """``v(S) = mean_j f(x_S, b_j)`` for each row of ``masks``, in chunks."""
    out = np.empty(len(masks))
    N = len(background)
    step = max(1, (1 << 16) // N)
    for a in range(0, len(masks), step):
        m = masks[a : a + step]
        filled = np.where(m[:, None, :], x, background[None, :, :]).reshape(-1, len(x))
        out[a : a + step] = f(filled).reshape(len(m), N).mean(axis=1)
    return out


@dataclass
class CountingGame:
    """A game on ``p`` players with memoised values and a count of coalitions asked for.

    ``value(masks)`` returns ``v(S)`` per row of a bool ``(k, p)`` array; ``evaluated``
    counts rows asked for since the last :meth:`reset` (repeats count again: an
    estimator pays for every coalition it asks for), ``sizes`` how many of them had
    each size ``|S|``, and ``computing`` the seconds spent in ``compute`` (the model's
    cost, paid by whichever estimator first asks for a coalition: the benchmark
    subtracts it, so that each estimator is timed on its own work alone). ``exact``
    holds the Shapley values.
    """

    p: int
    compute: object  # masks -> values (the expensive part, memoised here)
    exact: np.ndarray
    family: str = ""
    evaluated: int = 0
    computing: float = 0.0
    sizes: Counter = field(default_factory=Counter, repr=False)
    _memo: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return self.p

    def reset(self) -> None:
        self.evaluated = 0
        self.computing = 0.0
        self.sizes = Counter()

    def __call__(self, masks) -> np.ndarray:
        masks = np.asarray(masks, dtype=bool).reshape(-1, self.p)
        self.evaluated += len(masks)
        self.sizes.update(masks.sum(axis=1).tolist())
        codes = _codes(masks)
        missing = np.array([c not in self._memo for c in codes.tolist()], dtype=bool)
        if missing.any():
            new_codes, first = np.unique(codes[missing], return_index=True)
            start = time.perf_counter()
            new = self.compute(masks[missing][first])
            self.computing += time.perf_counter() - start
            self._memo.update(zip(new_codes.tolist(), np.asarray(new, float).tolist()))
        return np.array([self._memo[c] for c in codes.tolist()])

    def as_model(self):
        """``f(z) = v({i : z_i = 1})`` on 0/1 rows, counting every row."""

        def f(Z):
            return self(np.asarray(Z) > 0.5)

        return f


def _mlp_game(p: int, seed: int, row: int) -> CountingGame:
    f = mlp(p, hidden=32, seed=seed)
    rng = np.random.default_rng([seed, 1])
    background = rng.standard_normal((N_BACKGROUND, p))
    x = np.random.default_rng([seed, 2, row]).standard_normal(p)
    codes = np.arange(2**p, dtype=np.int64)
    table = np.empty(2**p)
    step = 1 << 14
    for a in range(0, 2**p, step):
        c = codes[a : a + step]
        masks = ((c[:, None] >> np.arange(p)) & 1).astype(bool)
        table[a : a + step] = _marginal_values(f, x, background, masks)

    def compute(masks):
        return table[_codes(masks)]

    return CountingGame(p, compute, exact_from_table(table, p), "mlp")


def _soum_game(p: int, seed: int, row: int) -> CountingGame:
    rng = np.random.default_rng([seed, 3, row])
    n_terms = 4 * p
    sizes = rng.integers(1, p + 1, size=n_terms)
    T = np.zeros((n_terms, p), dtype=bool)
    for k, s in enumerate(sizes):
        T[k, rng.choice(p, size=s, replace=False)] = True
    c = rng.standard_normal(n_terms)
    exact = (T * (c / sizes)[:, None]).sum(axis=0)

    def compute(masks):
        inside = (masks[:, None, :] | ~T[None, :, :]).all(axis=2)  # T_k subset of S
        return (inside * c).sum(axis=1)  # row by row: the same bits in any batch

    return CountingGame(p, compute, exact, "soum")


_TREES: dict = {}


def _tree_model(p: int, seed: int):
    key = (p, seed)
    if key not in _TREES:
        from sklearn.ensemble import GradientBoostingRegressor

        rng = np.random.default_rng([seed, 4])
        X = rng.standard_normal((1000, p))
        y = (
            np.sin(2 * X[:, 0])
            + X[:, 1] * X[:, 2]
            + (X[:, 3] > 0) * X[:, 4]
            + 0.5 * X[:, 5:].sum(axis=1)
            + 0.1 * rng.standard_normal(1000)
        )
        model = GradientBoostingRegressor(
            n_estimators=50, max_depth=4, random_state=seed
        )
        _TREES[key] = (model.fit(X, y), rng.standard_normal((N_BACKGROUND, p)))
    return _TREES[key]


def _trees_game(p: int, seed: int, row: int) -> CountingGame:
    import shap

    model, background = _tree_model(p, seed)
    x = np.random.default_rng([seed, 5, row]).standard_normal(p)
    explainer = shap.TreeExplainer(
        model, data=background, feature_perturbation="interventional"
    )
    exact = np.asarray(explainer.shap_values(x[None, :], check_additivity=False))[0]

    def compute(masks):
        return _marginal_values(model.predict, x, background, masks)

    return CountingGame(p, compute, exact, "trees")


def _linear_game(p: int, seed: int, row: int) -> CountingGame:
    rng = np.random.default_rng([seed, 6])
    w = rng.standard_normal(p)
    background = rng.standard_normal((N_BACKGROUND, p))
    x = np.random.default_rng([seed, 7, row]).standard_normal(p)

    def compute(masks):
        # row by row (not a matrix-vector product, whose rounding depends on how many
        # rows are in the batch): v(S) is the same to the last bit whoever asks first
        return _marginal_values(lambda X: (X * w).sum(axis=1), x, background, masks)

    return CountingGame(p, compute, w * (x - background.mean(axis=0)), "linear")


_BUILDERS = {
    "mlp": _mlp_game,
    "soum": _soum_game,
    "trees": _trees_game,
    "linear": _linear_game,
}


def make_game(family: str, p: int, seed: int, row: int) -> CountingGame:
    """Explained row ``row`` of instance ``seed`` of ``family`` at ``p`` features."""
    if family not in _BUILDERS:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return _BUILDERS[family](p, seed, row)
