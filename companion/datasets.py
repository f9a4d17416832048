"""Offline, seeded data sets used by the chapters.

Every function returns a :class:`Dataset` with a train/test split. Nothing is downloaded:
the data are either generated from a seed or ship inside scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dataset", "age_bp", "age_logit", "disk", "breast_cancer", "AGE_BP_PARAMS"]

#: The clinic of chapter 3: Age ~ N(age_mean, age_sd) in years, BP ~ Bernoulli(1/2),
#: and the coefficients of the true log-odds (see :func:`age_logit`).
AGE_BP_PARAMS = {
    "age_mean": 45.0, "age_sd": 12.0,
    "intercept": -6.0, "age": 0.04, "age_squared": 0.002, "bp": 1.2,
}


@dataclass(frozen=True)
class Dataset:
    """A split data set: features ``X_*`` of shape (m, p), labels ``y_*`` of shape (m,)."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    description: str = ""

    @property
    def p(self) -> int:
        """Number of features."""
        return self.X_train.shape[1]


def _check_size(n: int, test_size: float) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        raise ValueError(f"n must be an int of at least 10 rows, got {n!r}")
    _check_test_size(test_size)


def _check_test_size(test_size: object) -> None:
    numeric = (int, float, np.integer, np.floating)
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numeric):
        raise TypeError(f"test_size must be a fraction such as 0.3, not {test_size!r}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(
            f"test_size must lie strictly between 0 and 1, got {test_size}"
        )


def _check_seed(seed: object) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, not {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < 2**32:
        raise ValueError(
            f"seed must lie in 0 .. 2**32 - 1 (scikit-learn's range), got {seed}"
        )
    return int(seed)


def age_logit(age: np.ndarray, bp: np.ndarray) -> np.ndarray:
    """True log-odds of disease: -6 + 0.04 age + 0.002 age^2 + 1.2 bp.

    The coefficients are those of ``AGE_BP_PARAMS``.
    """
    c = AGE_BP_PARAMS
    return c["intercept"] + c["age"] * age + c["age_squared"] * age**2 + c["bp"] * bp


def age_bp(n: int = 3000, seed: int = 0, test_size: float = 0.3) -> Dataset:
    """Chapter 3's patients: Age ~ N(45, 12), BP ~ Bernoulli(0.5) (1 = high), y ~ B(p).

    p = sigmoid(-6 + 0.04 Age + 0.002 Age^2 + 1.2 BP) (the numbers in AGE_BP_PARAMS).
    Drawn with ``default_rng(seed)`` (Age, then BP, then y), then split with
    ``train_test_split(random_state=seed)``.
    Features are raw (years, 0/1); the book's models standardise Age inside the network.
    """
    from sklearn.model_selection import train_test_split

    _check_size(n, test_size)
    seed = _check_seed(seed)
    rng = np.random.default_rng(seed)
    c = AGE_BP_PARAMS
    age = rng.normal(c["age_mean"], c["age_sd"], size=n)
    bp = rng.integers(0, 2, size=n).astype(float)  # high (1) or normal (0), a fair coin
    prob = 1.0 / (1.0 + np.exp(-age_logit(age, bp)))
    y = rng.binomial(1, prob).astype(float)
    X = np.stack([age, bp], axis=1)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=seed)
    return Dataset(X_train, X_test, y_train, y_test, ("Age", "BP"),
                   "Synthetic patients: age in years, blood pressure high (1) or normal (0).")


def disk(n: int = 5000, seed: int = 2020) -> Dataset:
    """Chapter 4's disk: ``make_gaussian_quantiles`` in 2-D, 2 classes, labels flipped.

    Points inside the median-radius circle get y = 1. Split with
    ``train_test_split(random_state=seed)`` (25 % test).
    """
    from sklearn.datasets import make_gaussian_quantiles
    from sklearn.model_selection import train_test_split

    _check_size(n, 0.25)
    seed = _check_seed(seed)
    X, y = make_gaussian_quantiles(n_samples=n, n_features=2, n_classes=2, random_state=seed)
    y = (1 - y).astype(float)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    return Dataset(X_train, X_test, y_train, y_test, ("x1", "x2"),
                   "Two standard-normal features; y = 1 inside the median circle.")


def breast_cancer(test_size: float = 0.3, seed: int = 0) -> Dataset:
    """The Wisconsin diagnostic breast-cancer data shipped with scikit-learn (569 x 30).

    Stratified split, then every feature standardised with the *training* mean and
    standard deviation only: x_std = (x - mean_train) / sd_train. y = 1 means malignant
    (scikit-learn codes malignant as 0; the book flips it so "positive" = cancer).
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    _check_test_size(test_size)
    seed = _check_seed(seed)
    raw = load_breast_cancer()
    X, y = raw.data.astype(float), (1 - raw.target).astype(float)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y
    )
    mean, sd = X_train.mean(axis=0), X_train.std(axis=0)
    return Dataset((X_train - mean) / sd, (X_test - mean) / sd, y_train, y_test,
                   tuple(str(name) for name in raw.feature_names),
                   "Wisconsin diagnostic breast cancer; y = 1 malignant; standardised.")
