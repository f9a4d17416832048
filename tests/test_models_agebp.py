"""Tests of AgeBPNet, train_classifier and predict_fn (the network of chapter 3)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion.datasets import age_bp
from companion.models import AgeBPNet, predict_fn, train_classifier


@pytest.fixture(scope="module")
def data():
    return age_bp(n=400, seed=1)


def build(data, seed=0):
    torch.manual_seed(seed)  # the weights are drawn when the model is built
    age = data.X_train[:, 0]
    return AgeBPNet(shift=(age.mean(), 0.0), scale=(age.std(), 1.0))


def test_architecture_is_chapter_threes():
    model = AgeBPNet()
    layers = list(model.net)
    assert [type(m) for m in layers] == [nn.Linear, nn.ReLU, nn.Linear]
    assert (layers[0].in_features, layers[0].out_features) == (2, 16)
    assert (layers[2].in_features, layers[2].out_features) == (16, 1)
    # 2*16 + 16 + 16 + 1 trainable numbers; shift and scale are buffers, not trained
    assert sum(p.numel() for p in model.parameters()) == 65
    assert {name for name, _ in model.named_buffers()} == {"standardize.shift", "standardize.scale"}


def test_standardisation_inside_the_model():
    torch.manual_seed(0)
    model = AgeBPNet(shift=(45.0, 0.0), scale=(12.0, 1.0)).eval()
    X = torch.tensor([[57.0, 1.0], [33.0, 0.0]])
    with torch.no_grad():
        np.testing.assert_allclose(model(X).numpy(), model.net((X - torch.tensor([45.0, 0.0]))
                                                               / torch.tensor([12.0, 1.0])).numpy())


def test_training_is_seeded_and_lowers_the_loss(data):
    m1, m2 = build(data), build(data)
    h1 = train_classifier(m1, data.X_train, data.y_train, epochs=60, lr=1e-2, seed=0)
    h2 = train_classifier(m2, data.X_train, data.y_train, epochs=60, lr=1e-2, seed=0)
    assert h1 == h2 and len(h1) == 60
    assert h1[-1] < h1[0]
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    assert not m1.training  # left in eval mode


def test_mini_batches_and_progress_bar(data, capsys):
    model = build(data)
    history = train_classifier(model, data.X_train, data.y_train, epochs=3, batch_size=64,
                               seed=1, progress=True)
    assert len(history) == 3 and all(np.isfinite(history))


def test_predict_fn_probability_is_sigmoid_of_logit(data):
    model = build(data)
    train_classifier(model, data.X_train, data.y_train, epochs=5, seed=0)
    prob, logit = predict_fn(model, "probability"), predict_fn(model, "logit")
    X = data.X_test
    p, z = prob(X), logit(X)
    assert p.shape == (len(X),) and p.dtype == np.float64
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-z)), rtol=1e-6)
    assert np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(prob(X[0]), p[:1])  # one row of shape (p,) is accepted
    # other batch sizes may change float32 matmul rounding: a few ulps of 2**-24 at most
    np.testing.assert_allclose(predict_fn(model, batch_size=7)(X), p, rtol=0, atol=4 * 2.0**-24)


def test_predict_fn_refuses_train_mode_and_bad_output(data):
    model = build(data)
    model.train()
    with pytest.raises(ValueError, match="eval"):
        predict_fn(model)(data.X_test)
    with pytest.raises(ValueError, match="probability"):
        predict_fn(model, "class")


@pytest.mark.parametrize("X, y, kwargs, match", [
    (np.zeros((5, 2)), np.zeros(4), {}, "X must be"),
    (np.full((5, 2), np.nan), np.zeros(5), {}, "NaN"),
    (np.zeros((5, 2)), np.zeros(5), {"epochs": 0}, "epochs"),
])
def test_train_classifier_bad_input(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_classifier(AgeBPNet(), X, y, **kwargs)
