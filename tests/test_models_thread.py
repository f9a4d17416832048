"""Trained models do not depend on the number of torch threads (issue 13, point 8).

torch splits the sums inside its parallel kernels (the loss over a batch, a matrix
product) into one piece per thread, so float rounding, and after a few hundred Adam
steps every weight, depends on the thread count. ``train_classifier`` and
``predict_fn`` run on one thread (``companion.models.single_thread``) and restore the caller's setting. These
tests train chapter 4's disk network and chapter 3's Age/BP network with the caller at 1
and at 4 threads and demand the same bits: parameters and the glued f(1.3, 0).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import models
from companion.datasets import age_bp, disk
from companion.models import AgeBPNet, DiskNet, predict_fn, train_classifier


def _disk_net():
    """Chapter 4's network: DiskNet(10), full-batch Adam, 300 epochs, lr 0.05."""
    data = disk(n=5000, seed=2020)
    torch.manual_seed(0)
    net = DiskNet(hidden=10)
    train_classifier(net, data.X_train, data.y_train, epochs=300, lr=0.05, seed=2020)
    return net, predict_fn(net, "probability")(np.array([[1.3, 0.0]]))[0]


def _age_bp_net(epochs=300):
    """Chapter 3's network (fewer epochs than the chapter's 2000, to stay fast)."""
    data = age_bp()
    age = data.X_train[:, 0]
    torch.manual_seed(0)
    net = AgeBPNet(shift=(age.mean(), 0.0), scale=(age.std(), 1.0))
    train_classifier(net, data.X_train, data.y_train, epochs=epochs, lr=1e-3, seed=0)
    return net, predict_fn(net, "logit")(np.array([[57.0, 1.0]]))[0]


def _with_threads(threads, build):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        net, value = build()
        assert torch.get_num_threads() == threads  # the caller's setting is restored
        return [p.detach().clone() for p in net.parameters()], value
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("build", [_disk_net, _age_bp_net], ids=["disk", "age_bp"])
def test_same_bits_with_1_and_4_threads(build):
    params_1, value_1 = _with_threads(1, build)
    params_4, value_4 = _with_threads(4, build)
    for a, b in zip(params_1, params_4):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert value_1 == value_4


def test_the_check_can_fail_without_the_pin(monkeypatch):
    """Planted error: without single_thread, 4 threads change the disk network's bits.

    Where this machine's torch happens to give the same bits anyway (too few rows per
    thread to split), the demonstration is skipped rather than passed.
    """
    from contextlib import nullcontext

    monkeypatch.setattr(models, "single_thread", nullcontext)
    params_1, value_1 = _with_threads(1, _disk_net)
    params_4, value_4 = _with_threads(4, _disk_net)
    if all(torch.equal(a, b) for a, b in zip(params_1, params_4)):
        pytest.skip("torch gives the same bits with 1 and 4 threads on this machine")
    with pytest.raises(AssertionError):  # the check of the test above rejects it
        for a, b in zip(params_1, params_4):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_thread_count_restored_after_an_error():
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        class Boom(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(2, 1)

            def forward(self, z):
                assert torch.get_num_threads() == 1  # training runs on one thread
                raise RuntimeError("boom")

        model = Boom()
        with pytest.raises(RuntimeError, match="boom"):
            train_classifier(model, np.zeros((4, 2)), np.array([0, 1, 0, 1]), epochs=1)
        assert torch.get_num_threads() == 3
        assert not model.training  # left in eval mode, also on error
    finally:
        torch.set_num_threads(before)


def test_gradient_methods_do_not_depend_on_threads():
    """Expected gradients of the disk network: the same bits with 1 and 4 threads."""
    from companion.gradient import gradient_shap

    torch.manual_seed(0)
    net = DiskNet(hidden=10).eval()
    background = np.random.default_rng(0).normal(size=(200, 2))
    values = []
    for threads in (1, 4):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            e = gradient_shap(net, np.array([1.3, 0.0]), background, n_samples=1000,
                              seed=0)
        finally:
            torch.set_num_threads(before)
        values.append((e.values, e.error_std, e.base_values))
    for a, b in zip(*values):
        np.testing.assert_array_equal(a, b)
