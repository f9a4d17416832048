"""The book's PyTorch models, a seeded training loop, and numpy wrappers for explainers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["AgeBPNet", "DiskNet", "BinaryClassification", "train_classifier", "predict_fn"]


class _Standardize(nn.Module):
    """Fixed affine input map x -> (x - shift) / scale, stored as buffers (not trained)."""

    def __init__(self, shift, scale):
        super().__init__()
        self.register_buffer("shift", torch.as_tensor(np.asarray(shift, dtype=np.float32)))
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) / self.scale


class AgeBPNet(nn.Module):
    """Seed 001's network: standardise, Linear(2, 16), ReLU, Linear(16, 1); logits out.

    ``shift`` and ``scale`` standardise the raw inputs inside the model (seed 001 scales
    Age with training statistics and leaves BP as 0/1), so the model reads raw features
    and every explanation is in years and 0/1.
    """

    def __init__(self, shift=(0.0, 0.0), scale=(1.0, 1.0)):
        super().__init__()
        self.standardize = _Standardize(shift, scale)
        self.net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.standardize(x))


class DiskNet(nn.Module):
    """Seed 004's network: Linear(2, 10), tanh, Linear(10, 1); logits out (sigmoid = probability)."""

    def __init__(self, hidden: int = 10):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BinaryClassification(nn.Module):
    """Seed 000's MLP: Linear(n, 64), ReLU, BatchNorm1d, Linear(64, 64), ReLU, BatchNorm1d,
    Dropout(0.5), Linear(64, 1); logits out."""

    def __init__(self, n_features: int):
        super().__init__()
        if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features must be a positive int, got {n_features!r}")
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


def _as_tensor(a, name: str) -> torch.Tensor:
    arr = np.asarray(a, dtype=np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf; clean or impute it before training")
    return torch.from_numpy(arr)


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
    """Fit a logit-output binary classifier with Adam on BCE-with-logits; return the loss history.

    Loss per epoch: mean over the epoch's mini-batches of
    -[y log sigmoid(f(x)) + (1 - y) log(1 - sigmoid(f(x)))]. ``batch_size=None`` is full
    batch. ``seed`` fixes both the shuffling and torch's RNG (dropout), so two calls on
    identically initialised models give identical weights. The initial weights are drawn
    when the model is *built*: call ``torch.manual_seed(seed)`` before building it.
    The model is left in eval mode.
    """
    Xt, yt = _as_tensor(X, "X"), _as_tensor(y, "y")
    if Xt.ndim != 2 or yt.shape != (Xt.shape[0],):
        raise ValueError(f"X must be (m, p) and y (m,), got {tuple(Xt.shape)} and {tuple(yt.shape)}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    m = Xt.shape[0]
    bs = m if batch_size is None else int(batch_size)
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        epoch_iter = tqdm(epoch_iter, desc="training", leave=False)
    history = []
    model.train()
    for _ in epoch_iter:
        order = torch.randperm(m, generator=gen) if bs < m else torch.arange(m)
        total = 0.0
        for start in range(0, m, bs):
            idx = order[start : start + bs]
            if len(idx) < 2 and bs < m:
                continue  # BatchNorm cannot train on a single row
            opt.zero_grad()
            loss = loss_fn(model(Xt[idx]).squeeze(1), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        history.append(total / m)
    model.eval()
    return history


def predict_fn(model: nn.Module, output: str = "probability", batch_size: int = 65536) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a logit-output torch model as ``f(X) -> (m,)`` numpy, in eval mode, without grad.

    ``output="probability"`` returns sigmoid(logit), ``"logit"`` the raw output. Rows go
    through the model in batches of ``batch_size``.
    """
    if output not in ("probability", "logit"):
        raise ValueError(f"output must be 'probability' or 'logit', got {output!r}")

    def f(X: np.ndarray) -> np.ndarray:
        if model.training:
            raise ValueError(
                "the model is in train mode (dropout and batch-norm make f random); "
                "call model.eval() first"
            )
        arr = np.asarray(X, dtype=np.float32)
        device = next(model.parameters()).device
        if arr.ndim == 1:
            arr = arr[None, :]
        out = np.empty(arr.shape[0], dtype=np.float64)
        with torch.no_grad():
            for start in range(0, arr.shape[0], batch_size):
                logit = model(torch.from_numpy(arr[start : start + batch_size]).to(device)).reshape(-1)
                out[start : start + len(logit)] = (
                    torch.sigmoid(logit) if output == "probability" else logit
                ).double().cpu().numpy()
        return out

    return f
