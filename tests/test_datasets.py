"""Tests of companion.datasets.age_bp: chapter 3's synthetic patients."""

from __future__ import annotations

import numpy as np
import pytest

from companion.datasets import Dataset, age_bp, age_logit


def seed_001_data():
    """The data-generating process of chapter 3, written out independently of the companion."""
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(0)
    n = 3000
    age = rng.normal(45, 12, size=n)
    bp = rng.integers(0, 2, size=n).astype(float)
    logit = -6.0 + 0.04 * age + 0.002 * (age**2) + 1.2 * bp
    y = rng.binomial(1, 1 / (1 + np.exp(-logit))).astype(float)
    X = np.stack([age, bp], axis=1)
    return train_test_split(X, y, test_size=0.3, random_state=0)


def test_age_bp_reproduces_the_seed_exactly():
    d = age_bp()
    X_train, X_test, y_train, y_test = seed_001_data()
    np.testing.assert_array_equal(d.X_train, X_train)
    np.testing.assert_array_equal(d.X_test, X_test)
    np.testing.assert_array_equal(d.y_train, y_train)
    np.testing.assert_array_equal(d.y_test, y_test)


def test_age_bp_explained_row_is_the_seeds():
    d = age_bp()
    # the seed prints "x* (raw features) Age= 39.44011032348155 BP= 0.0"
    np.testing.assert_allclose(d.X_test[0], [39.44011032348155, 0.0], rtol=0, atol=1e-12)


def test_age_bp_shapes_names_and_values():
    d = age_bp()
    assert isinstance(d, Dataset)
    assert d.X_train.shape == (2100, 2) and d.X_test.shape == (900, 2)
    assert d.y_train.shape == (2100,) and d.y_test.shape == (900,)
    assert d.feature_names == ("Age", "BP") and d.p == 2
    X = np.concatenate([d.X_train, d.X_test])
    assert set(np.unique(X[:, 1])) == {0.0, 1.0}
    assert set(np.unique(np.concatenate([d.y_train, d.y_test]))) == {0.0, 1.0}
    # Age ~ N(45, 12): the sample mean of 3000 draws lies within 5 standard errors
    assert abs(X[:, 0].mean() - 45) < 5 * 12 / np.sqrt(3000)
    assert abs(X[:, 0].std() - 12) < 0.05 * 12


def test_age_bp_is_seeded():
    a, b, c = age_bp(n=200, seed=3), age_bp(n=200, seed=3), age_bp(n=200, seed=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)


def test_age_bp_sizes_and_test_fraction():
    d = age_bp(n=100, test_size=0.2)
    assert d.X_train.shape == (80, 2) and d.X_test.shape == (20, 2)


def test_age_logit_is_the_seeds_formula():
    age, bp = np.array([30.0, 60.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(age_logit(age, bp),
                               [-6 + 1.2 + 0.002 * 900, -6 + 2.4 + 0.002 * 3600 + 1.2], atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 5}, "at least 10"),
    ({"n": 100.0}, "int"),
    ({"n": True}, "int"),
    ({"test_size": 0.0}, "strictly between"),
    ({"test_size": 1.5}, "strictly between"),
])
def test_age_bp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        age_bp(**kwargs)
