"""Chapter 4's two models, built as the chapter builds them, for the tests that re-run
its computations (planted-error checks, thread independence, the coalitions appendix)."""

from __future__ import annotations

import numpy as np
import torch

from companion.datasets import disk
from companion.models import DiskNet, predict_fn, train_classifier

X_DISK = np.array([1.3, 0.0])  # the explained point
N_BACKGROUND = 100  # the first training rows fill in missing features


def disk_network():
    """(data, net, f): the disk data set, the trained DiskNet and f = its probability."""
    data = disk(n=5000, seed=2020)
    torch.manual_seed(2020)
    net = DiskNet(hidden=10)
    train_classifier(net, data.X_train, data.y_train, epochs=300, lr=0.05, seed=2020)
    return data, net, predict_fn(net, "probability")


def ten_feature_network():
    """(f10, x10, background10): the ten-feature tanh network and its 20-row background."""
    p10 = 10
    rng10 = np.random.default_rng(10)
    W10 = rng10.normal(size=(p10, 8)) / np.sqrt(p10)
    a10 = rng10.normal(size=8)

    def f10(X):
        return np.tanh(np.asarray(X, dtype=float) @ W10) @ a10

    background10, x10 = rng10.normal(size=(20, p10)), rng10.normal(size=p10)
    return f10, x10, background10
