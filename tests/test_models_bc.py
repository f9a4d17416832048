"""Tests of the chapter 5 model and data: BinaryClassification, train_classifier, breast_cancer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion.datasets import breast_cancer
from companion.models import BinaryClassification, predict_fn, train_classifier


# ----------------------------------------------------------------------------- the architecture
def test_architecture_is_the_books():
    model = BinaryClassification(30)
    assert (model.layer_1.in_features, model.layer_1.out_features) == (30, 64)
    assert (model.layer_2.in_features, model.layer_2.out_features) == (64, 64)
    assert (model.layer_out.in_features, model.layer_out.out_features) == (64, 1)
    assert model.batchnorm1.num_features == 64 and model.batchnorm2.num_features == 64
    assert model.dropout.p == 0.5
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == (30 * 64 + 64) + (64 * 64 + 64) + (64 + 1) + 4 * 64


def test_forward_is_linear_relu_batchnorm_twice_then_dropout_and_a_logit():
    torch.manual_seed(0)
    model = BinaryClassification(5).eval()
    with torch.no_grad():  # non-trivial running statistics
        model.batchnorm1.running_mean.uniform_(-1, 1)
        model.batchnorm2.running_var.uniform_(0.5, 2)
    z = torch.randn(7, 5)
    h = model.batchnorm1(torch.relu(model.layer_1(z)))
    h = model.batchnorm2(torch.relu(model.layer_2(h)))
    manual = model.layer_out(h)  # dropout is the identity in eval mode
    out = model(z)
    assert out.shape == (7, 1)
    torch.testing.assert_close(out, manual)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "30"])
def test_bad_n_features(bad):
    with pytest.raises(ValueError, match="n_features"):
        BinaryClassification(bad)


# ----------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(67, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(float)
    return X, y


def fresh(p=4, seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return BinaryClassification(p)


def test_training_is_seeded_and_mini_batched(toy):
    X, y = toy
    a, b = fresh(), fresh()
    hist_a = train_classifier(a, X, y, epochs=15, batch_size=16, seed=3)
    hist_b = train_classifier(b, X, y, epochs=15, batch_size=16, seed=3)
    assert hist_a == hist_b and len(hist_a) == 15
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=0, atol=0)
    c = fresh()
    assert train_classifier(c, X, y, epochs=15, batch_size=16, seed=4) != hist_a  # other shuffles


def test_training_lowers_the_loss_and_leaves_eval_mode(toy):
    X, y = toy
    model = fresh()
    history = train_classifier(model, X, y, epochs=60, batch_size=16, lr=1e-2, seed=0)
    assert np.mean(history[-5:]) < 0.5 * np.mean(history[:5])
    assert not model.training and not any(mod.training for mod in model.modules())
    accuracy = np.mean((predict_fn(model)(X) > 0.5) == y)
    assert accuracy > 0.9


def test_a_last_batch_of_one_row_is_skipped(toy):
    """67 rows in batches of 33: the last batch has one row, which BatchNorm cannot train on."""
    X, y = toy
    history = train_classifier(fresh(), X, y, epochs=2, batch_size=33, seed=0)
    assert len(history) == 2 and all(np.isfinite(history))


def test_progress_bar_runs(toy, capsys):
    X, y = toy
    history = train_classifier(fresh(), X, y, epochs=3, batch_size=32, seed=0, progress=True)
    assert len(history) == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X": np.full((5, 4), np.nan)}, "NaN or inf"),
        ({"y": np.zeros(3)}, "X must be"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_training_bad_input(toy, kwargs, match):
    X, y = toy
    args = {"model": fresh(), "X": X[:5], "y": y[:5], "epochs": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        train_classifier(**args)


def test_predict_fn(toy):
    X, y = toy
    model = fresh()
    train_classifier(model, X, y, epochs=3, batch_size=32, seed=0)
    prob, logit = predict_fn(model)(X), predict_fn(model, "logit")(X)
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-logit)), rtol=1e-6)
    assert prob.shape == (67,) and np.all((prob > 0) & (prob < 1))
    model.train()
    with pytest.raises(ValueError, match="train mode"):
        predict_fn(model)(X)
    with pytest.raises(ValueError, match="output"):
        predict_fn(model, "odds")


# ----------------------------------------------------------------------------- the data
@pytest.fixture(scope="module")
def bc():
    return breast_cancer()


def test_breast_cancer_shapes_and_names(bc):
    assert bc.X_train.shape == (398, 30) and bc.X_test.shape == (171, 30)
    assert bc.p == 30 and len(bc.feature_names) == 30
    assert bc.feature_names[0] == "mean radius" and bc.feature_names[-1] == "worst fractal dimension"


def test_breast_cancer_labels_and_stratification(bc):
    y = np.concatenate([bc.y_train, bc.y_test])
    assert set(np.unique(y)) == {0.0, 1.0}
    assert y.sum() == 212  # malignant cases in the Wisconsin data (y = 1)
    assert abs(bc.y_train.mean() - bc.y_test.mean()) < 0.01  # stratified split


def test_breast_cancer_standardised_with_training_statistics(bc):
    np.testing.assert_allclose(bc.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(bc.X_train.std(axis=0), 1.0, rtol=1e-12)
    assert np.abs(bc.X_test.mean(axis=0)).max() > 1e-3  # the test set was not standardised on itself


def test_breast_cancer_malignant_tumours_are_larger(bc):
    """y = 1 is malignant: malignant nuclei have a larger mean radius."""
    radius = bc.X_train[:, 0]
    assert radius[bc.y_train == 1].mean() > radius[bc.y_train == 0].mean()


def test_breast_cancer_is_seeded_and_checks_test_size():
    a, b, c = breast_cancer(seed=1), breast_cancer(seed=1), breast_cancer(seed=2)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, c.X_test)
    with pytest.raises(ValueError, match="test_size"):
        breast_cancer(test_size=1.5)
