"""The book's PyTorch models, a seeded training loop, and numpy wrappers for explainers.

Results do not depend on the machine's number of cores: :func:`train_classifier`,
:func:`predict_fn` and the gradient methods of :mod:`companion.gradient` run torch
on one thread (:func:`single_thread`), because torch's parallel kernels split sums (the
loss, a matrix product) into a number of pieces that depends on the thread count, and
float rounding then depends on it too. The caller's thread setting is restored
afterwards.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from .checks import as_float_array, check_int

__all__ = [
    "AgeBPNet",
    "DiskNet",
    "BinaryClassification",
    "train_classifier",
    "predict_fn",
    "single_thread",
    "check_module",
    "device_dtype",
    "forward",
]


# ------------------------------------------------------------------------ torch helpers
@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block; restore the caller's count.

    Sums inside torch's parallel kernels are split over threads, so their rounding (and
    every trained weight downstream) would depend on the number of cores. One thread
    gives the same bits on every machine. Restored also when the block raises.
    """
    threads = torch.get_num_threads()
    if threads != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def check_module(model: object, name: str = "model") -> nn.Module:
    """``model`` if it is a ``torch.nn.Module``, else a TypeError saying what to do."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{name} must be a torch.nn.Module, not {type(model).__name__}; wrap a "
            "plain function in an nn.Module (or use the game-based explainers, which "
            "take any f)"
        )
    return model


def device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """Device and floating dtype of the first parameter or buffer (else CPU float32)."""
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), torch.float32


_SHAPE_ERROR = re.compile(
    r"shapes cannot be multiplied|size mismatch|must match the size|should contain"
    r"|Expected .*(dim|size|shape|channels)|expected input|same dtype|scalar type",
    re.IGNORECASE,
)


def forward(model: nn.Module, z: torch.Tensor, name: str = "x") -> torch.Tensor:
    """``model(z)``, torch's shape and inference-tensor errors turned into ValueErrors.

    A RuntimeError about shapes or dtypes from deep inside torch (the input has the
    wrong number of features) becomes a ValueError naming ``name`` and the shape it
    had; any other error from the model itself passes through unchanged.
    """
    try:
        return model(z)
    except RuntimeError as err:
        text = str(err)
        if "nference tensor" in text:
            raise ValueError(
                "model has parameters created inside torch.inference_mode() (inference "
                "tensors), which autograd cannot use; build or load the model outside "
                f"inference mode, or clone its parameters. torch said: {text}"
            ) from err
        if _SHAPE_ERROR.search(text):
            raise ValueError(
                f"model could not run on {name} rows of shape {tuple(z.shape)} and "
                f"dtype {z.dtype}: {text.splitlines()[0]}. Check that {name} has the "
                "number of features the model was built for"
            ) from err
        raise


def _finite_float(value: object, name: str) -> float:
    numeric = (int, float, np.integer, np.floating)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numeric):
        raise TypeError(
            f"{name} must be a number, not {type(value).__name__} ({value!r})"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _pair(values: object, name: str, nonzero: bool = False) -> np.ndarray:
    """Two finite numbers (one per input feature) as float32, for AgeBPNet."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be two numbers (Age, BP), got {values!r}") \
            from None
    if arr.shape != (2,):
        raise ValueError(
            f"{name} must hold two numbers (Age, BP), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    if nonzero and np.any(arr == 0):
        raise ValueError(
            f"{name} must be non-zero (it divides the inputs), got {arr.tolist()}; "
            "use 1.0 for a feature that is not rescaled"
        )
    return arr.astype(np.float32)


# ------------------------------------------------------------------------------- models
class _Standardize(nn.Module):
    """Fixed affine input map x -> (x - shift) / scale, as buffers (not trained)."""

    def __init__(self, shift, scale):
        super().__init__()
        self.register_buffer("shift", torch.as_tensor(_pair(shift, "shift")))
        scale = _pair(scale, "scale", nonzero=True)
        self.register_buffer("scale", torch.as_tensor(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


class AgeBPNet(nn.Module):
    """Chapter 3's Age/BP network: standardise, Linear(2, 16), ReLU, Linear(16, 1); logits out.

    ``shift`` and ``scale`` standardise the raw inputs inside the model (chapter 3 scales
    Age with training statistics and leaves BP as 0/1), so the model reads raw features
    and every explanation is in years and 0/1. Both are two finite numbers; ``scale``
    must be non-zero.
    """

    def __init__(self, shift=(0.0, 0.0), scale=(1.0, 1.0)):
        super().__init__()
        self.standardize = _Standardize(shift, scale)
        self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardize(x))


class DiskNet(nn.Module):
    """Chapter 4's disk network: Linear(2, hidden), tanh, Linear(hidden, 1); logits out.

    ``hidden`` (default 10) is a positive int; sigmoid of the output is the probability.
    """

    def __init__(self, hidden: int = 10):
        super().__init__()
        hidden = check_int(hidden, "hidden", kind="a positive int (hidden units)")
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BinaryClassification(nn.Module):
    """Chapter 5's breast-cancer MLP: Linear(n, 64), ReLU, BatchNorm1d, Linear(64, 64), ReLU,
    BatchNorm1d, Dropout(0.5), Linear(64, 1); logits out."""

    def __init__(self, n_features: int):
        super().__init__()
        if (isinstance(n_features, (bool, np.bool_))
                or not isinstance(n_features, (int, np.integer)) or n_features < 1):
            raise ValueError(
                f"n_features must be a positive int (the number of input columns), "
                f"got {n_features!r}"
            )
        n_features = int(n_features)
        self.layer_1 = nn.Linear(n_features, 64)
        self.layer_2 = nn.Linear(64, 64)
        self.layer_out = nn.Linear(64, 1)
        self.relu = nn.ReLU()
        self.batchnorm1 = nn.BatchNorm1d(64)
        self.batchnorm2 = nn.BatchNorm1d(64)
        self.dropout = nn.Dropout(p=0.5)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.batchnorm1(self.relu(self.layer_1(inputs)))
        x = self.batchnorm2(self.relu(self.layer_2(x)))
        return self.layer_out(self.dropout(x))


# ----------------------------------------------------------------------------- training
def _as_array(a: object, name: str) -> np.ndarray:
    """``a`` as a finite float64 array, or a TypeError/ValueError naming ``name``."""
    arr = as_float_array(a, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"{name} contains NaN or inf; clean or impute it before training"
        )
    return arr


def _check_labels(y: np.ndarray) -> None:
    bad = ~np.isin(y, (0.0, 1.0))
    if np.any(bad):
        found = np.unique(y[bad])[:5].tolist()
        raise ValueError(
            f"y must hold 0/1 labels (1 = positive class), found {found}; recode it, "
            "for example y = (y == positive_label).astype(float)"
        )


def _has_batchnorm(model: nn.Module) -> bool:
    batchnorm = nn.modules.batchnorm._BatchNorm
    return any(isinstance(mod, batchnorm) for mod in model.modules())


def train_classifier(
    model: nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    epochs: int = 100,
    lr: float = 1e-3,
    batch_size: int | None = None,
    weight_decay: float = 0.0,
    seed: int = 0,
    progress: bool = False,
) -> list[float]:
    """Fit a logit-output binary classifier with Adam on BCE-with-logits; return losses.

    Loss per epoch: mean over the epoch's mini-batches of
    -[y log sigmoid(f(x)) + (1 - y) log(1 - sigmoid(f(x)))], with labels y in {0, 1}.
    ``batch_size=None`` is full batch. ``seed`` fixes both the shuffling and torch's RNG
    (dropout), so two calls on identically initialised models give identical weights.
    The initial weights are drawn when the model is *built*: call
    ``torch.manual_seed(seed)`` before building it. Training runs on one torch thread
    (:func:`single_thread`), so the weights are the same bits whatever the number of
    cores; the caller's thread count is restored afterwards, also on error. It trains
    with gradients on even inside ``torch.no_grad()`` or ``torch.inference_mode()``.
    X and y are converted to the model's dtype and device. A model with BatchNorm
    cannot train on one row: ``batch_size`` must then be at least 2, and a last
    mini-batch of one row is skipped. The model is left in eval mode (also on error).
    """
    model = check_module(model)
    X_arr, y_arr = _as_array(X, "X"), _as_array(y, "y")
    if X_arr.ndim != 2 or X_arr.shape[0] == 0 or X_arr.shape[1] == 0:
        raise ValueError(f"X must be a non-empty (m, p) array, got shape {X_arr.shape}")
    if y_arr.shape != (X_arr.shape[0],):
        raise ValueError(
            f"X must be (m, p) and y (m,): got {X_arr.shape} and {y_arr.shape}; "
            "give one label per row of X"
        )
    _check_labels(y_arr)
    epochs = check_int(epochs, "epochs")
    lr = _finite_float(lr, "lr")
    if lr <= 0:
        raise ValueError(f"lr (the learning rate) must be positive, got {lr}")
    weight_decay = _finite_float(weight_decay, "weight_decay")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be non-negative, got {weight_decay}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, not {type(seed).__name__} ({seed!r})")
    m = X_arr.shape[0]
    batchnorm = _has_batchnorm(model)
    bs = m if batch_size is None else check_int(batch_size, "batch_size")
    if batchnorm and min(bs, m) < 2:
        raise ValueError(
            f"batch_size={bs} with {m} row(s): the model has BatchNorm layers, which "
            "cannot train on a single row; use batch_size >= 2 and at least 2 rows"
        )
    params = [param for param in model.parameters() if param.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters; there is nothing to fit")
    device, dtype = device_dtype(model)
    with single_thread(), torch.inference_mode(False), torch.enable_grad():
        Xt = torch.as_tensor(X_arr, dtype=dtype, device=device)
        yt = torch.as_tensor(y_arr, dtype=dtype, device=device)
        return _fit(model, Xt, yt, epochs, lr, bs, weight_decay, int(seed), progress,
                    batchnorm)


def _fit(model, Xt, yt, epochs, lr, bs, weight_decay, seed, progress, batchnorm):
    """The training loop of :func:`train_classifier` on validated tensors."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    m = Xt.shape[0]
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_iter = tqdm(epoch_iter, desc="training", leave=False)
    history = []
    model.train()
    try:
        for _ in epoch_iter:
            order = torch.randperm(m, generator=gen) if bs < m else torch.arange(m)
            order = order.to(Xt.device)
            total = 0.0
            for start in range(0, m, bs):
                idx = order[start : start + bs]
                if len(idx) < 2 and batchnorm:
                    continue  # BatchNorm cannot train on a single row
                opt.zero_grad()
                out = forward(model, Xt[idx], "X")
                loss = loss_fn(out.reshape(len(idx)), yt[idx])
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            history.append(total / m)
    finally:
        model.eval()
    return history


def predict_fn(
    model: nn.Module, output: str = "probability", batch_size: int = 65536
) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a logit-output torch model as ``f(X) -> (m,)`` numpy, eval mode, no grad.

    ``output="probability"`` returns sigmoid(logit), ``"logit"`` the raw output. ``X``
    is (m, p) or one row (p,); its rows go through the model in batches of
    ``batch_size``, in the model's dtype and on its device, on one torch thread (the
    same bits on every machine). The model must return one number per row, (m,) or
    (m, 1); non-finite inputs or outputs raise a ValueError.
    """
    model = check_module(model)
    if output not in ("probability", "logit"):
        raise ValueError(f"output must be 'probability' or 'logit', got {output!r}")
    batch_size = check_int(batch_size, "batch_size", kind="a positive int (rows)")

    def f(X: np.ndarray) -> np.ndarray:
        if model.training:
            raise ValueError(
                "the model is in train mode (dropout and batch-norm make f random); "
                "call model.eval() first"
            )
        arr = _as_array(X, "X")
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"X must have shape (m, p) or (p,), got shape {arr.shape}")
        device, dtype = device_dtype(model)
        out = np.empty(arr.shape[0], dtype=np.float64)
        with torch.no_grad(), single_thread():
            for start in range(0, arr.shape[0], batch_size):
                rows = arr[start : start + batch_size]
                z = torch.as_tensor(rows, dtype=dtype, device=device)
                logit = forward(model, z, "X")
                if logit.ndim not in (1, 2) or logit.numel() != len(z):
                    raise ValueError(
                        f"model returned shape {tuple(logit.shape)} for {len(z)} rows; "
                        "predict_fn needs one logit per row, (m,) or (m, 1)"
                    )
                logit = logit.reshape(-1)
                value = torch.sigmoid(logit) if output == "probability" else logit
                out[start : start + len(z)] = value.double().cpu().numpy()
        if not np.all(np.isfinite(out)):
            raise ValueError("model returned NaN or inf for some rows of X")
        return out

    return f
