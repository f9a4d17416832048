"""Value functions for models: how a model "misses" a feature (chapter 3).

A model ``f`` maps an ``(m, p)`` float array to ``m`` outputs and needs every feature.
A game needs ``v(S)`` for every coalition ``S`` of features. The functions here turn a
model, a row ``x`` and a reference distribution into a game that
:func:`companion.shapley_values` accepts. Three ways to fill the features outside ``S``
(written ``S̄``):

* :func:`baseline_game`: one fixed reference row ``b``, ``v(S) = f(x_S, b_S̄)``;
* :func:`marginal_game` (interventional): average over background rows,
  ``v(S) = E_{X_S̄}[f(x_S, X_S̄)]``, ignoring how ``X_S̄`` depends on ``x_S``;
* :func:`conditional_game` (observational): average over ``X_S̄`` drawn from its
  conditional distribution given ``X_S = x_S`` (features jointly Gaussian),
  ``v(S) = E[f(X) | X_S = x_S]``;
* :func:`empirical_conditional_game` (observational, from data): the same expectation
  estimated by weighting data rows by how close they are to ``x`` on ``S``.

Every game evaluates the model in batched calls (all requested coalitions times all
reference rows at once, in chunks of at most ``max_rows`` model rows), never row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .checks import as_float_array, as_rng, check_masks, check_model

__all__ = [
    "Model",
    "DEFAULT_MAX_ROWS",
    "as_row",
    "as_background",
    "evaluate_model",
    "MarginalGame",
    "marginal_game",
    "BaselineGame",
    "baseline_game",
    "gaussian_conditional",
    "ConditionalGame",
    "conditional_game",
    "EmpiricalConditionalGame",
    "empirical_conditional_game",
]

Model = Callable[[np.ndarray], np.ndarray]

#: Model rows per batched call: bounds memory of one evaluation (coalitions x background rows).
#: 8192 rows keep a small model's intermediate arrays in the CPU cache; calls of 2**16 rows
#: and more took about twice as long per row for small numpy and torch MLPs (measured for
#: the performance appendix; 2**18 was the earlier default).
DEFAULT_MAX_ROWS = 1 << 13


# ----------------------------------------------------------------------------- checks
def as_row(x: object, name: str = "x") -> np.ndarray:
    """The explained row as a finite float vector of shape ``(p,)`` (accepts ``(1, p)``)."""
    arr = as_float_array(x, name)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be one row of shape (p,) or (1, p), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; explain a row with finite features")
    return arr


def as_background(background: object, p: int, name: str = "background") -> np.ndarray:
    """A finite float array of shape ``(N, p)`` with ``N >= 1`` rows (a ``(p,)`` row is one row)."""
    arr = as_float_array(background, name)
    if arr.ndim == 1 and arr.size == p:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (N, {p}), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; give at least one reference row of width {p}")
    if arr.shape[1] != p:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns but x has {p} features; they must match"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; drop or impute those rows first")
    return arr


def evaluate_model(f: Model, X: np.ndarray) -> np.ndarray:
    """Call ``f(X)`` once and check it returns ``len(X)`` finite numbers."""
    try:
        out = as_float_array(f(X), "the output of f")
    except TypeError as err:
        raise ValueError(f"the model f returned something that is not numbers: {err}") \
            from None
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape != (X.shape[0],):
        raise ValueError(
            f"the model f returned shape {out.shape} for {X.shape[0]} rows; f must map an "
            f"(m, p) array to m outputs (select one output column for multi-output models)"
        )
    if not np.all(np.isfinite(out)):
        raise ValueError(
            "the model f returned NaN or inf; explanations need finite outputs"
        )
    return out


def _check_max_rows(max_rows: object) -> int:
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 1:
        raise ValueError(f"max_rows must be a positive int (model rows per call), got {max_rows!r}")
    return int(max_rows)


def _weights(weights: object, N: int) -> np.ndarray:
    """Normalised background weights ``omega_j >= 0``, ``sum_j omega_j = 1`` (uniform if None)."""
    if weights is None:
        return np.full(N, 1.0 / N)
    w = as_float_array(weights, "weights")
    if w.shape != (N,):
        raise ValueError(f"weights must have one entry per background row, shape ({N},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w / w.sum()


def _evaluate_filled(f: Model, filled: np.ndarray) -> np.ndarray:
    """Model outputs for a ``(k, m, p)`` stack of filled rows, as a ``(k, m)`` array."""
    k, m, p = filled.shape
    return evaluate_model(f, filled.reshape(k * m, p)).reshape(k, m)


# ----------------------------------------------------------------------------- marginal
class MarginalGame:
    r"""The interventional (marginal) value function of ``f`` at ``x`` over a background.

    .. math::
        v(S) = \mathbb{E}_{X_{\bar S}}\big[f(x_S, X_{\bar S})\big]
             \approx \sum_{j=1}^{N_b} \omega_j\, f(x_S, b^{(j)}_{\bar S})

    Features in ``S`` are set to ``x``; the others are taken from each background row
    ``b^(j)``, ignoring any dependence between the two groups. ``v(∅)`` is the weighted
    mean prediction over the background and ``v(N) = f(x)``.
    """

    def __init__(self, f: Model, x, background, weights=None, max_rows: int = DEFAULT_MAX_ROWS):
        self.f = check_model(f)
        self.x = as_row(x)
        self.n = self.p = self.x.size
        self.background = as_background(background, self.p)
        self.weights = _weights(weights, self.background.shape[0])
        self.max_rows = _check_max_rows(max_rows)

    def fill(self, masks: np.ndarray) -> np.ndarray:
        """The ``(k, N, p)`` model inputs: row ``j`` of block ``k`` is ``(x_S, b^(j)_S̄)``."""
        blocks = list(self._filled_blocks(check_masks(masks, self.p)))
        return np.concatenate(blocks) if blocks else np.empty((0, *self.background.shape))

    def _filled_blocks(self, masks: np.ndarray) -> Iterator[np.ndarray]:
        """:meth:`fill` in blocks of at most ``max_rows // N`` coalitions, shape ``(b, N, p)``.

        x and the background are laid out once as flat arrays of one block's size, so
        ``np.where`` runs over contiguous memory instead of ``N * k`` short rows of ``p``
        entries (about twice as fast as broadcasting, with the same values bit for bit).
        """
        N, p = self.background.shape
        per_call = max(1, self.max_rows // N)
        most = min(per_call, masks.shape[0])  # coalitions in the largest block
        x_flat, b_flat = np.tile(self.x, most * N), np.tile(self.background.ravel(), most)
        for start in range(0, masks.shape[0], per_call):
            block = masks[start : start + per_call]
            n = len(block) * N * p
            filled = np.where(np.tile(block, (1, N)).ravel(), x_flat[:n], b_flat[:n])
            yield filled.reshape(len(block), N, p)

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """``v(S)`` for every boolean row of ``masks`` (shape ``(k, p)``)."""
        out = [_evaluate_filled(self.f, rows) @ self.weights
               for rows in self._filled_blocks(check_masks(masks, self.p))]
        return np.concatenate(out) if out else np.empty(0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p}, background rows={self.background.shape[0]})"


def marginal_game(f: Model, x, background, weights=None, max_rows: int = DEFAULT_MAX_ROWS) -> MarginalGame:
    r"""Game ``v(S) = sum_j omega_j f(x_S, b^(j)_S̄)``: the interventional (marginal) expectation.

    .. math::
        v(S) = \mathbb{E}_{X_{\bar S}}\big[f(x_S, X_{\bar S})\big]
             \approx \sum_{j=1}^{N_b} \omega_j\, f(x_S, b^{(j)}_{\bar S})

    ``background`` is ``(N, p)`` with rows ``b^(j)``; ``weights`` (optional, default
    uniform ``1/N``; normalised to sum to 1) weight its rows, as for a ``shap.kmeans``
    summary. Every call evaluates all requested coalitions times all background rows in
    batched calls of at most ``max_rows`` model rows. ``v(∅)`` is the mean prediction over
    the background (the *base value*) and ``v(N) = f(x)``.
    """
    return MarginalGame(f, x, background, weights=weights, max_rows=max_rows)


# ----------------------------------------------------------------------------- baseline
class BaselineGame(MarginalGame):
    r"""The constant-baseline value function ``v(S) = f(x_S, b_S̄)`` for one reference row ``b``."""

    @property
    def baseline(self) -> np.ndarray:
        """The reference row ``b`` of shape ``(p,)``."""
        return self.background[0]

    def __repr__(self) -> str:
        return f"BaselineGame(p={self.p}, baseline={self.baseline.tolist()})"


def baseline_game(f: Model, x, baseline, max_rows: int = DEFAULT_MAX_ROWS) -> BaselineGame:
    r"""Game ``v(S) = f(x_S, b_S̄)``: missing features set to a constant baseline row ``b``.

    .. math::
        v(S) = f(x_S, b_{\bar S}), \qquad v(\varnothing) = f(b), \quad v(N) = f(x)

    This is :func:`marginal_game` with a one-row background. A feature with
    ``x_i = b_i`` is a null player and gets ``phi_i = 0``; with ``b = x`` every
    ``phi_i`` is 0.
    """
    x_row = as_row(x)
    b = as_row(baseline, "baseline")
    if b.size != x_row.size:
        raise ValueError(f"baseline has {b.size} features but x has {x_row.size}; they must match")
    return BaselineGame(f, x_row, b[None, :], max_rows=max_rows)


# ----------------------------------------------------------------------------- conditional
def _check_gaussian(mean: object, cov: object, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(mean, cov, L)`` with ``cov = L L^T`` (Cholesky), or a ValueError."""
    mu = as_row(mean, "mean")
    if mu.size != p:
        raise ValueError(f"mean has {mu.size} entries but x has {p} features; they must match")
    C = as_float_array(cov, "cov")
    if C.shape != (p, p):
        raise ValueError(f"cov must be a ({p}, {p}) matrix for {p} features, got shape {C.shape}")
    if not np.all(np.isfinite(C)):
        raise ValueError("cov contains NaN or inf")
    if not np.allclose(C, C.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(C).max())):
        raise ValueError("cov must be symmetric (cov == cov.T)")
    try:
        L = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise ValueError(
            "cov is not positive definite (its Cholesky factorisation failed): a feature is a "
            "linear combination of others or has zero variance; drop it or add a small ridge "
            "(cov + eps * I)"
        ) from None
    return mu, C, L


def gaussian_conditional(mean, cov, x, present) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and covariance of ``X_S̄ | X_S = x_S`` for ``X ~ N(mean, cov)``.

    .. math::
        \mu_{\bar S|S} = \mu_{\bar S} + \Sigma_{\bar S S}\Sigma_{SS}^{-1}(x_S - \mu_S),\qquad
        \Sigma_{\bar S|S} = \Sigma_{\bar S\bar S} - \Sigma_{\bar S S}\Sigma_{SS}^{-1}\Sigma_{S\bar S}

    ``present`` is a boolean vector of length ``p`` (True = in ``S``). Returns arrays over
    the missing features, in their original order.
    """
    x = as_row(x)
    mu, C, _ = _check_gaussian(mean, cov, x.size)
    S = np.asarray(present)
    if S.dtype != np.bool_ or S.shape != (x.size,):
        raise ValueError(f"present must be a bool vector of length {x.size}, got {S.dtype} {S.shape}")
    M = ~S
    if not S.any():
        return mu.copy(), C.copy()
    B = np.linalg.solve(C[np.ix_(S, S)], C[np.ix_(S, M)]).T  # Sigma_MS Sigma_SS^{-1}
    return mu[M] + B @ (x[S] - mu[S]), C[np.ix_(M, M)] - B @ C[np.ix_(S, M)]


class ConditionalGame:
    r"""The observational (conditional) value function for jointly Gaussian features.

    .. math::
        v(S) = \mathbb{E}\big[f(X) \mid X_S = x_S\big], \qquad X \sim N(\mu, \Sigma)

    estimated with ``n_samples`` draws per coalition. The draws come from Matheron's
    rule: ``Z^(t) ~ N(mu, Sigma)`` are drawn once, and for coalition ``S``

    .. math::
        \tilde X^{(t)} = Z^{(t)} + \Sigma_{\cdot S}\Sigma_{SS}^{-1}\big(x_S - Z^{(t)}_S\big)

    has ``X̃_S = x_S`` and ``X̃_S̄ ~ N(mu_{S̄|S}, Sigma_{S̄|S})`` exactly. Reusing the same
    ``Z`` for every coalition (common random numbers) makes ``v`` a fixed function of
    ``S``: ``v(N) = f(x)`` and ``v(∅) = mean_t f(Z^(t))`` exactly, so efficiency holds.
    """

    def __init__(self, f: Model, x, mean, cov, n_samples: int = 1000, rng=None,
                 max_rows: int = DEFAULT_MAX_ROWS):
        self.f = check_model(f)
        self.x = as_row(x)
        self.n = self.p = self.x.size
        self.mean, self.cov, L = _check_gaussian(mean, cov, self.p)
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int (draws per coalition), got {n_samples!r}")
        self.n_samples = int(n_samples)
        self.max_rows = _check_max_rows(max_rows)
        z = as_rng(rng).standard_normal((self.n_samples, self.p))
        self.samples = self.mean + z @ L.T  # Z^(t) ~ N(mean, cov), shape (n_samples, p)

    def fill(self, masks: np.ndarray) -> np.ndarray:
        """The ``(k, n_samples, p)`` conditional draws ``X̃`` for every coalition row of ``masks``."""
        masks = check_masks(masks, self.p)
        both = masks[:, :, None] & masks[:, None, :]
        # A_k = Sigma on S x S, identity on S̄ x S̄, zero elsewhere: A_k^{-1} r = Sigma_SS^{-1} r_S
        A = np.where(both, self.cov, 0.0) + np.where(masks, 0.0, 1.0)[:, :, None] * np.eye(self.p)
        resid = np.where(masks[:, None, :], self.x - self.samples, 0.0)  # (k, n_samples, p)
        coef = np.linalg.solve(A, resid.transpose(0, 2, 1))              # (k, p, n_samples)
        filled = self.samples + (self.cov @ coef).transpose(0, 2, 1)
        return np.where(masks[:, None, :], self.x, filled)  # present features exactly x_S

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """``v(S)`` for every boolean row of ``masks`` (shape ``(k, p)``)."""
        masks = check_masks(masks, self.p)
        per_call = max(1, self.max_rows // self.n_samples)
        out = np.empty(masks.shape[0])
        for start in range(0, masks.shape[0], per_call):
            block = masks[start : start + per_call]
            out[start : start + len(block)] = _evaluate_filled(self.f, self.fill(block)).mean(axis=1)
        return out

    def __repr__(self) -> str:
        return f"ConditionalGame(p={self.p}, n_samples={self.n_samples})"


def conditional_game(f: Model, x, mean, cov, n_samples: int = 1000, rng=None,
                     max_rows: int = DEFAULT_MAX_ROWS) -> ConditionalGame:
    r"""Game ``v(S) = E[f(X) | X_S = x_S]`` for ``X ~ N(mean, cov)``: the observational expectation.

    .. math::
        v(S) = \mathbb{E}\big[f(x_S, X_{\bar S}) \mid X_S = x_S\big]
             \approx \frac{1}{m}\sum_{t=1}^{m} f\big(x_S, \tilde X^{(t)}_{\bar S}\big),\quad
        \tilde X_{\bar S} \sim N\big(\mu_{\bar S|S}, \Sigma_{\bar S|S}\big)

    with ``m = n_samples`` draws per coalition (see :class:`ConditionalGame` and
    :func:`gaussian_conditional`). ``rng`` (a Generator, an int seed or None) makes the
    draws reproducible. ``cov`` must be symmetric positive definite (checked by a Cholesky
    factorisation). Monte-Carlo error of each ``v(S)`` is about ``sd(f | x_S) / sqrt(m)``.
    """
    return ConditionalGame(f, x, mean, cov, n_samples=n_samples, rng=rng, max_rows=max_rows)


# ------------------------------------------------------------------------ empirical
def _check_bandwidth(bandwidth: object, p: int) -> np.ndarray:
    """Per-feature kernel widths ``h_i >= 0`` (0: exact match, inf: no conditioning)."""
    if isinstance(bandwidth, (bool, np.bool_)) or np.asarray(bandwidth).dtype == bool:
        raise ValueError(f"bandwidth must be numbers (kernel widths), got {bandwidth!r}")
    try:
        h = np.broadcast_to(np.asarray(bandwidth, dtype=float), (p,)).copy()
    except (TypeError, ValueError):
        raise ValueError(
            f"bandwidth must be one number or one per feature ({p}), got {bandwidth!r}"
        ) from None
    if np.any(np.isnan(h)) or np.any(h < 0):
        raise ValueError(
            "bandwidth must be >= 0 for every feature (0: match exactly, inf: ignore), "
            f"got {h.tolist()}"
        )
    return h


class EmpiricalConditionalGame(MarginalGame):
    r"""The observational value function estimated from data rows by kernel weighting.

    .. math::
        v(S) = \mathbb{E}\big[f(X) \mid X_S = x_S\big]
             \approx \sum_{j=1}^{N_d} \omega_j(S)\, f\big(x_S, d^{(j)}_{\bar S}\big),\qquad
        \omega_j(S) \propto \prod_{i \in S} K\Big(\frac{d^{(j)}_i - x_i}{h_i}\Big)

    with ``K(u) = exp(-u^2 / 2)`` and the weights of each coalition normalised to sum to
    1. ``h_i = 0`` keeps only the rows with ``d^(j)_i == x_i`` (exact match, for a
    discrete feature); ``h_i = inf`` ignores feature ``i`` when weighting. ``v(∅)`` is
    the plain mean of ``f`` over the data rows and ``v(N) = f(x)``.
    """

    def __init__(self, f: Model, x, data, bandwidth, max_rows: int = DEFAULT_MAX_ROWS):
        super().__init__(f, x, data, max_rows=max_rows)
        self.bandwidth = _check_bandwidth(bandwidth, self.p)

    def coalition_weights(self, masks: np.ndarray) -> np.ndarray:
        """The ``(k, N_d)`` weights ``omega_j(S)`` of the data rows, each row summing to 1."""
        masks = check_masks(masks, self.p)
        diff = self.background - self.x  # (N, p)
        h = self.bandwidth
        with np.errstate(divide="ignore", invalid="ignore"):
            u2 = np.where(h > 0, (diff / np.where(h > 0, h, 1.0)) ** 2, 0.0)
            u2 = np.where(np.isinf(h), 0.0, u2)
        exact = (h == 0) & (diff != 0)  # rows that fail an exact match
        logk = np.where(exact, -np.inf, -0.5 * u2)  # (N, p) log-kernel per feature
        logw = np.where(masks[:, None, :], logk[None], 0.0).sum(axis=2)  # (k, N)
        top = logw.max(axis=1)
        if np.any(np.isinf(top)):
            bad = np.flatnonzero(np.isinf(top))[0]
            names = np.flatnonzero(masks[bad] & (h == 0)).tolist()
            raise ValueError(
                f"no data row matches x exactly on the feature(s) {names} that have "
                "bandwidth 0; give those features a positive bandwidth or more data"
            )
        w = np.exp(logw - top[:, None])
        return w / w.sum(axis=1, keepdims=True)

    def effective_rows(self, masks: np.ndarray) -> np.ndarray:
        """``1 / sum_j omega_j(S)^2`` per coalition: the rows' effective number."""
        w = self.coalition_weights(masks)
        return 1.0 / (w**2).sum(axis=1)

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """``v(S)`` for every boolean row of ``masks`` (shape ``(k, p)``)."""
        masks = check_masks(masks, self.p)
        w = self.coalition_weights(masks)
        out, start = [], 0
        for rows in self._filled_blocks(masks):
            k = rows.shape[0]
            outputs = _evaluate_filled(self.f, rows)  # (k, N)
            out.append(np.einsum("kn,kn->k", outputs, w[start : start + k]))
            start += k
        return np.concatenate(out) if out else np.empty(0)

    def __repr__(self) -> str:
        rows = self.background.shape[0]
        return (f"EmpiricalConditionalGame(p={self.p}, data rows={rows}, "
                f"bandwidth={self.bandwidth.tolist()})")


def empirical_conditional_game(
    f: Model, x, data, bandwidth, max_rows: int = DEFAULT_MAX_ROWS
) -> EmpiricalConditionalGame:
    r"""Game ``v(S) = sum_j omega_j(S) f(x_S, d^(j)_S̄)``: the conditional game from data.

    .. math::
        v(S) = \mathbb{E}\big[f(X) \mid X_S = x_S\big]
             \approx \sum_{j=1}^{N_d} \omega_j(S)\, f\big(x_S, d^{(j)}_{\bar S}\big),\qquad
        \omega_j(S) \propto \prod_{i \in S} \exp\big(-(d^{(j)}_i - x_i)^2 / (2 h_i^2)\big)

    ``data`` is ``(N_d, p)`` with rows ``d^(j)`` (for example the training set);
    ``bandwidth`` gives ``h_i`` (one number or one per feature): the data rows whose
    features in ``S`` lie near ``x_S`` get the weight, so the missing features follow
    their distribution *given* ``X_S = x_S`` (a kernel, or Nadaraya-Watson, estimate).
    ``h_i = 0`` matches feature ``i`` exactly (stratifies by a discrete feature);
    ``h_i = inf`` does not condition on it, and with every ``h_i = inf`` this is
    :func:`marginal_game` over ``data``. ``v(∅)`` is the mean of ``f`` over ``data`` and
    ``v(N) = f(x)``. A ``ValueError`` is raised when a coalition keeps no data row.
    """
    return EmpiricalConditionalGame(f, x, data, bandwidth, max_rows=max_rows)
