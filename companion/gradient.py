"""Integrated gradients and expected gradients (Gradient SHAP) for PyTorch models (chapter 5).

Notation of the book: ``f`` the model output being explained (one scalar per row), ``x`` a
row with ``p`` features, ``b`` a baseline row drawn from the ``baselines`` (the background),
``alpha`` a point on the straight path from ``b`` to ``x``.

* Integrated gradients of ``x`` against one baseline ``b``:
  ``IG_i(x; b) = (x_i - b_i) * integral_0^1 df/dx_i(b + alpha (x - b)) d alpha``.
  Completeness: ``sum_i IG_i = f(x) - f(b)`` (fundamental theorem of calculus).
* Expected gradients (what shap and captum call Gradient SHAP): the average of integrated
  gradients over baselines, ``phi_i(x) = E_b[IG_i(x; b)]``, so that
  ``sum_i phi_i = f(x) - E_b[f(b)]``.
* The Monte-Carlo estimate computed here: draw ``n`` pairs ``(b_k, alpha_k)``,
  ``b_k`` uniform over the baseline rows and ``alpha_k ~ U(0, 1)``, and average
  ``c_ik = (x_i - b_ki) * df/dx_i(b_k + alpha_k (x - b_k))`` over ``k``.

Every row times every sample goes through the model in large batches: one forward pass on a
chunk of ``batch_size`` interpolated points, then one ``torch.autograd.grad`` of the summed
output. That is valid because in eval mode each row's output depends on that row only, so
the gradient of the sum with respect to a row is the gradient of that row's output. The same
code runs on CPU and CUDA: tensors are created on the device of the model's parameters, and
the random draws come from a seeded NumPy generator on the host, so a seed gives the same
draws on either device.

Every function runs the model on one torch thread (the same bits on every machine), in
eval mode, with gradients on, and outside ``torch.inference_mode()`` even when called
inside it; the caller's settings are restored afterwards. A model output or gradient
that is NaN or inf, or an output that changes although autograd sees no path from the
input, raises a ValueError instead of giving NaN or zero attributions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import shap
import torch
from torch import nn

from .checks import as_float_array, as_rng, check_feature_names, check_int
from .models import check_module, device_dtype, forward, single_thread

__all__ = ["gradient_shap", "gradient_shap_samples", "integrated_gradients"]

#: Input elements (rows times features) per forward/backward pass when ``batch_size`` is None.
DEFAULT_CHUNK_ELEMENTS = 1 << 22


# ----------------------------------------------------------------------------- checks
def _numeric(a: object, name: str) -> np.ndarray:
    """``a`` (array, DataFrame, tensor on any device) as float64, or a TypeError."""
    return as_float_array(a, name)


def _as_2d(a: object, name: str) -> tuple[np.ndarray, bool]:
    """``a`` as a float64 (m, p) array, and whether it was a single 1-D row."""
    arr = _numeric(a, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (m, p) or (p,), got shape {arr.shape}")
    single = arr.ndim == 1
    arr = arr[None, :] if single else arr
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; impute or drop those values first")
    return arr, single


def _check_inputs(x: object, baselines: object, name: str = "baselines", scalar=False):
    x2, single = _as_2d(x, "x")
    if x2.shape[0] == 0:
        raise ValueError("x has no rows; pass at least one row to explain")
    if scalar and isinstance(baselines, (int, float, np.integer, np.floating)):
        baselines = np.full(x2.shape[1], _numeric(baselines, name))  # captum's scalar
    b2, _ = _as_2d(baselines, name)
    if b2.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one background row")
    if b2.shape[1] != x2.shape[1]:
        raise ValueError(
            f"x has {x2.shape[1]} features but {name} has {b2.shape[1]}; "
            "both must describe the same p features"
        )
    return x2, b2, single


def _chunk_rows(batch_size: int | None, p: int) -> int:
    if batch_size is None:
        return max(1, DEFAULT_CHUNK_ELEMENTS // p)
    return check_int(batch_size, "batch_size")


# ----------------------------------------------------------------------------- model helpers
@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode; restore each one's own flag afterwards, even on error."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:  # pre-order: a parent first, then its children
            module.train(training)


def _check_target(target: object) -> None:
    """Check ``target`` before any model call (its range is checked on the output)."""
    if target is None:
        return
    if isinstance(target, (bool, np.bool_)) or not isinstance(
        target, (int, np.integer)
    ):
        raise TypeError(
            f"target must be an int output index, not {type(target).__name__}"
        )
    if target < 0:
        raise ValueError(f"target must be a non-negative output index, got {target}")


def _select(out: torch.Tensor, target: int | None, rows: int) -> torch.Tensor:
    """The explained output, one scalar per row: f(z) of shape (k,) for ``rows`` = k."""
    if out.ndim in (1, 2) and out.shape[0] != rows:
        raise ValueError(
            f"the model must return one output per input row: it returned shape "
            f"{tuple(out.shape)} for {rows} rows (does it reduce over the batch, with "
            "a mean or sum over dim 0, or drop rows?)"
        )
    if out.ndim == 1:
        width = 1
    elif out.ndim == 2:
        width = out.shape[1]
    else:
        raise ValueError(f"the model must return (k,) or (k, d) outputs, got shape {tuple(out.shape)}")
    if target is None:
        if width != 1:
            raise ValueError(
                f"the model has {width} outputs; pass target=j to say which output to explain"
            )
        return out.reshape(-1)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be an int output index, not {type(target).__name__}")
    if not 0 <= target < width:
        raise ValueError(f"target={target} is out of range for a model with {width} output(s)")
    return out.reshape(-1) if out.ndim == 1 else out[:, int(target)]


@contextmanager
def _run(model: nn.Module) -> Iterator[nn.Module]:
    """One thread, no inference mode, gradients on, eval mode; all restored after."""
    with single_thread(), torch.inference_mode(False), torch.enable_grad():
        with _eval_mode(model):
            yield model


def _check_finite(f: torch.Tensor, what: str) -> None:
    if not bool(torch.isfinite(f).all()):
        raise ValueError(
            f"model returned NaN or inf {what} at some point between x and a baseline; "
            "gradient methods need finite outputs and gradients there (check the "
            "inputs the model accepts, e.g. a log or sqrt of a negative number)"
        )


def _output_and_gradient(model: nn.Module, z: torch.Tensor, target: int | None):
    """f(z) (k,) and df/dz (k, p) for a chunk of points, with one backward pass.

    When autograd finds no path from ``z`` to the output (``grad is None``) the gradient
    is zero only if the output really is constant on the chunk; an output that varies
    without a gradient (the model detaches its input, or runs under ``no_grad``) is an
    error, never silent zeros.
    """
    z = z.detach().requires_grad_(True)
    f = _select(forward(model, z, "x"), target, z.shape[0])
    _check_finite(f, "outputs")
    grad = None
    if f.requires_grad:
        (grad,) = torch.autograd.grad(f.sum(), z, allow_unused=True)
    if grad is None:
        if f.numel() and not bool((f == f[0]).all()):
            raise ValueError(
                "model output changes with its input but autograd finds no gradient "
                "(the model detaches its input, converts it to numpy, or runs under "
                "torch.no_grad()); gradient methods need a differentiable torch model"
            )
        grad = torch.zeros_like(z)
    _check_finite(grad, "gradients")
    return f.detach(), grad


def _outputs(model: nn.Module, a: np.ndarray, target: int | None, chunk: int) -> np.ndarray:
    """f(a) for every row of ``a`` (float64 numpy), without gradients, in chunks."""
    device, dtype = device_dtype(model)
    out = np.empty(a.shape[0], dtype=np.float64)
    with torch.no_grad():
        for start in range(0, a.shape[0], chunk):
            z = torch.as_tensor(a[start : start + chunk], dtype=dtype, device=device)
            f = _select(forward(model, z, "baselines"), target, z.shape[0])
            _check_finite(f, "outputs")
            out[start : start + chunk] = f.double().cpu().numpy()
    return out


# ----------------------------------------------------------------------------- expected gradients
def _check_stdevs(stdevs: object, p: int) -> np.ndarray:
    sd = as_float_array(stdevs, "stdevs")
    if sd.ndim > 1 or (sd.ndim == 1 and sd.shape[0] != p):
        raise ValueError(f"stdevs must be a float or one float per feature ({p}), got shape {sd.shape}")
    if not np.all(np.isfinite(sd)) or np.any(sd < 0):
        raise ValueError(f"stdevs must be finite and non-negative, got {stdevs!r}")
    return sd


def _blocks(m: int, n_samples: int, chunk: int) -> Iterator[tuple[int, int, int, int]]:
    """Blocks (r0, r1, k0, k1) of rows r0:r1 and samples k0:k1, about ``chunk`` points each.

    Whole rows (all samples) are grouped while a row fits in a chunk; otherwise one row's
    samples are split. Blocks follow the flat order ``r * n_samples + k``.
    """
    if n_samples <= chunk:
        step = chunk // n_samples
        for r0 in range(0, m, step):
            yield r0, min(r0 + step, m), 0, n_samples
    else:
        for r in range(m):
            for k0 in range(0, n_samples, chunk):
                yield r, r + 1, k0, min(k0 + chunk, n_samples)


def _contribution_chunks(model, x2, b2, n_samples, stdevs, rng, chunk, target):
    """Yield (r0, r1, c) per block: c[r, k, i] = (x_ri - b_ki) df/dx_i(b_k + alpha_k (x_r - b_k)).

    The baseline indices and alphas of all m * n samples are drawn first, then the Gaussian
    noise block after block from the same generator in the flat order r * n + k, so the
    draws (hence the values) do not depend on the chunk size.
    """
    device, dtype = device_dtype(model)
    m, p = x2.shape
    pick = rng.integers(0, b2.shape[0], size=(m, n_samples))
    alpha = rng.random((m, n_samples))
    noisy = bool(np.any(stdevs > 0))
    xt = torch.as_tensor(x2, dtype=dtype, device=device)
    bt = torch.as_tensor(b2, dtype=dtype, device=device)
    for r0, r1, k0, k1 in _blocks(m, n_samples, chunk):
        xs = xt[r0:r1, None, :]  # (r, 1, p), broadcast over the samples
        if noisy:
            noise = rng.standard_normal((r1 - r0, k1 - k0, p)) * stdevs
            xs = xs + torch.as_tensor(noise, dtype=dtype, device=device)
        bs = bt[torch.as_tensor(pick[r0:r1, k0:k1], device=device)]  # (r, k, p)
        a = torch.as_tensor(alpha[r0:r1, k0:k1, None], dtype=dtype, device=device)
        delta = xs - bs
        _, grad = _output_and_gradient(model, (bs + a * delta).reshape(-1, p), target)
        yield r0, r1, grad.reshape(delta.shape) * delta


def _prepare(model, x, baselines, n_samples, stdevs, seed, batch_size):
    model = check_module(model)
    x2, b2, single = _check_inputs(x, baselines)
    n_samples = check_int(n_samples, "n_samples")
    sd = _check_stdevs(stdevs, x2.shape[1])
    rng = as_rng(seed, "seed")
    chunk = _chunk_rows(batch_size, x2.shape[1])
    return model, x2, b2, single, n_samples, sd, rng, chunk


def gradient_shap(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    baselines: np.ndarray | torch.Tensor,
    n_samples: int = 200,
    stdevs: float | np.ndarray = 0.0,
    seed: int | np.random.Generator | None = None,
    batch_size: int | None = None,
    target: int | None = None,
    feature_names: Sequence[str] | None = None,
) -> shap.Explanation:
    """Expected gradients (Gradient SHAP) of the model output, estimated by Monte Carlo.

    For each row x and each of ``n_samples`` draws k: a baseline b_k uniformly from the rows
    of ``baselines``, alpha_k ~ U(0, 1), and (if ``stdevs`` > 0) x~ = x + N(0, stdevs^2);

        c_ik = (x~_i - b_ki) * df/dx_i(b_k + alpha_k (x~ - b_k)),   phi_i = (1/n) sum_k c_ik.

    With ``stdevs`` = 0, ``phi_i`` is unbiased for E_b[IG_i(x; b)], whose sum over
    features is f(x) - E_b[f(b)]. With noise it is unbiased for E_{b, x~}[IG_i(x~; b)],
    integrated gradients averaged over noisy copies x~ of x as well, whose sum is
    E[f(x~)] - E_b[f(b)]: completeness then holds for the smoothed output, not for f(x).
    ``f`` is the model's output as it is (here logits; wrap the model to explain another
    output), column ``target`` of a multi-output model. The model runs in eval mode (each
    submodule's train/eval flag is restored afterwards, also on error) on its own device.

    Parameters
    ----------
    model : a torch module mapping (k, p) to (k,) or (k, d) outputs.
    x : (m, p) rows to explain, or one row (p,).
    baselines : (q, p) background rows b.
    n_samples : draws (b, alpha) per row.
    stdevs : standard deviation of the Gaussian noise added to x (a float or one per feature).
    seed : int, ``numpy.random.Generator`` or None; the same seed gives the same values
        (whatever ``batch_size``, on CPU or CUDA up to floating-point rounding). The draws
        are, in this order: ``rng.integers(0, q, size=(m, n))`` baseline indices,
        ``rng.random((m, n))`` alphas, then the noise block after block.
    batch_size : interpolated points per forward/backward pass (default: about 4M input
        numbers per pass).
    target : the output column to explain; required when the model has more than one output.
    feature_names : optional names stored in the Explanation.

    Returns
    -------
    shap.Explanation with ``values`` phi (m, p), ``base_values`` E_b[f(b)] (m,), ``data`` x and
    ``error_std`` the Monte-Carlo standard error of each phi_i,
    sd_k(c_ik) / sqrt(n) (NaN when ``n_samples`` is 1), with the mean and the squared
    deviations accumulated in float64 (two-pass within a block, Chan's update across
    blocks), whatever the model's dtype. A 1-D ``x`` gives 1-D values.
    """
    model, x2, b2, single, n, sd, rng, chunk = _prepare(
        model, x, baselines, n_samples, stdevs, seed, batch_size
    )
    m, p = x2.shape
    names = check_feature_names(feature_names, p)
    _check_target(target)
    with _run(model):
        device, _ = device_dtype(model)
        mean = torch.zeros((m, p), dtype=torch.float64, device=device)
        m2 = torch.zeros((m, p), dtype=torch.float64, device=device)
        blocks = _blocks(m, n, chunk)
        for (r0, r1, k0, k1), (_, _, c) in zip(
            blocks, _contribution_chunks(model, x2, b2, n, sd, rng, chunk, target)
        ):
            _merge_moments(mean, m2, r0, r1, k0, c.double())
        base = _outputs(model, b2, target, chunk).mean()
    phi = mean.cpu().numpy()
    if n > 1:
        se = np.sqrt(m2.cpu().numpy() / (n - 1) / n)
    else:
        se = np.full_like(phi, np.nan)
    return _explanation(phi, np.full(m, base), x2, se, single, names)


def _merge_moments(mean, m2, r0, r1, n_a, c) -> None:
    """Add a block of terms ``c`` (r, k, p) to the running mean and M2 of rows r0:r1.

    Within the block: a two-pass mean and sum of squared deviations in float64, of the
    terms shifted by the block's first term (so identical terms give exactly 0); across
    blocks: Chan et al.'s pairwise update (``n_a`` terms already merged per row),
    M2 = M2_a + M2_b + delta^2 n_a n_b / (n_a + n_b). No E[c^2] - E[c]^2 cancellation.
    """
    n_b = c.shape[1]
    shift = c[:, 0, :]
    d = c - shift[:, None, :]
    d_mean = d.mean(dim=1)
    mean_b = shift + d_mean
    m2_b = ((d - d_mean[:, None, :]) ** 2).sum(dim=1)
    if n_a == 0:
        mean[r0:r1], m2[r0:r1] = mean_b, m2_b
        return
    n = n_a + n_b
    delta = mean_b - mean[r0:r1]
    mean[r0:r1] += delta * (n_b / n)
    m2[r0:r1] += m2_b + delta**2 * (n_a * n_b / n)


def gradient_shap_samples(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    baselines: np.ndarray | torch.Tensor,
    n_samples: int = 200,
    stdevs: float | np.ndarray = 0.0,
    seed: int | np.random.Generator | None = None,
    batch_size: int | None = None,
    target: int | None = None,
) -> np.ndarray:
    """Every Monte-Carlo term c_ik of :func:`gradient_shap`, shape (m, n_samples, p).

    Same draws as :func:`gradient_shap` with the same arguments, so
    ``gradient_shap_samples(...).mean(axis=1)`` equals ``gradient_shap(...).values`` (up to
    float rounding). Meant for teaching and for checks (the spread of the terms, the
    standard error of their sum); it holds all m * n * p terms in memory.
    """
    model, x2, b2, _, n, sd, rng, chunk = _prepare(
        model, x, baselines, n_samples, stdevs, seed, batch_size
    )
    _check_target(target)
    m, p = x2.shape
    out = np.empty((m, n, p), dtype=np.float64)
    with _run(model):
        for (r0, r1, k0, k1), (_, _, c) in zip(
            _blocks(m, n, chunk), _contribution_chunks(model, x2, b2, n, sd, rng, chunk, target)
        ):
            out[r0:r1, k0:k1] = c.double().cpu().numpy()
    return out


# ----------------------------------------------------------------------------- integrated gradients
def _trapezoid_weights(steps: int) -> np.ndarray:
    """Weights of the trapezoid rule on alpha = 0, 1/steps, ..., 1 (they sum to 1)."""
    w = np.full(steps + 1, 1.0 / steps)
    w[[0, -1]] /= 2
    return w


def integrated_gradients(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    baseline: np.ndarray | torch.Tensor,
    steps: int = 50,
    batch_size: int | None = None,
    target: int | None = None,
    feature_names: Sequence[str] | None = None,
) -> shap.Explanation:
    """Integrated gradients against one baseline, by the trapezoid rule on ``steps`` intervals.

        IG_i(x; b) = (x_i - b_i) * sum_{k=0}^{steps} w_k df/dx_i(b + (k/steps)(x - b)),

    with trapezoid weights w_0 = w_steps = 1/(2 steps) and w_k = 1/steps otherwise. The
    rule is exact when the gradient is linear in alpha; for a ReLU network the gradient is
    piecewise constant along the path and the error shrinks like 1/steps.

    ``baseline`` is one row (p,) used for every row of ``x``, or (m, p), one per row.
    ``base_values`` are f(b) per row. Eval mode as in :func:`gradient_shap`.
    """
    model = check_module(model)
    x2, b2, single = _check_inputs(x, baseline, "baseline", scalar=True)
    steps = check_int(steps, "steps")
    m, p = x2.shape
    names = check_feature_names(feature_names, p)
    _check_target(target)
    if b2.shape[0] == 1:
        b2 = np.repeat(b2, m, axis=0)
    elif b2.shape[0] != m:
        raise ValueError(f"baseline must be one row or one row per row of x ({m}), got {b2.shape[0]} rows")
    chunk = _chunk_rows(batch_size, p)
    with _run(model):
        phi, base = _integrate(model, x2, b2, steps, chunk, target)
    return _explanation(phi, base, x2, None, single, names)


def _integrate(model, x2, b2, steps, chunk, target):
    """The trapezoid sums of :func:`integrated_gradients` and f(b), on validated input."""
    m, p = x2.shape
    device, dtype = device_dtype(model)
    alphas = np.linspace(0.0, 1.0, steps + 1)
    weights = torch.as_tensor(np.tile(_trapezoid_weights(steps), m), dtype=torch.float64, device=device)
    xt = torch.as_tensor(x2, dtype=dtype, device=device)
    bt = torch.as_tensor(b2, dtype=dtype, device=device)
    total = torch.zeros((m, p), dtype=torch.float64, device=device)
    n_points = m * (steps + 1)
    for start in range(0, n_points, chunk):
        flat = np.arange(start, min(start + chunk, n_points))
        rows = torch.as_tensor(flat // (steps + 1), device=device)
        a = torch.as_tensor(alphas[flat % (steps + 1)], dtype=dtype, device=device)
        z = bt[rows] + a[:, None] * (xt[rows] - bt[rows])
        _, grad = _output_and_gradient(model, z, target)
        w = weights[start : start + len(flat), None]
        total.index_add_(0, rows, grad.double() * w)
    base = _outputs(model, b2, target, chunk)
    return ((xt - bt).double() * total).cpu().numpy(), base


def _explanation(phi, base, x2, se, single, names) -> shap.Explanation:
    if single:
        return shap.Explanation(values=phi[0], base_values=float(base[0]), data=x2[0],
                                feature_names=names, error_std=None if se is None else se[0])
    return shap.Explanation(values=phi, base_values=base, data=x2, feature_names=names, error_std=se)
