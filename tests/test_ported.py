"""Cases with known answers from the test suites of shapiq, captum and shap (issue 14).

Each test names the file its case comes from. The inputs and expected numbers are the
peer library's; the code is ours, on the companion's API (a game ``v(masks)``, a model
``f(X)``, a torch module). Tolerances:

* exact cases: ``rtol=1e-9``. The companion sums at most a few hundred float64 terms of
  the size of the answer, so its rounding error is below 1e-13 relative; 1e-9 leaves room
  for float32 models whose arithmetic is exact on these small integers (sums of
  integers below 2**24) and still catches any wrong weight (the smallest one here is
  1/280, far above 1e-9). Expected zeros get ``atol=1e-12`` (rounding of values of size 1).
* Monte-Carlo cases: within 6 standard errors, each error the analytic standard deviation
  of one term divided by sqrt(n); a correct estimator fails this with probability about
  2e-9 per comparison.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from companion import (
    baseline_game,
    gradient_shap,
    integrated_gradients,
    kernel_shap,
    shapley_values,
)
from companion.models import predict_fn

EXACT = {"rtol": 1e-9, "atol": 1e-12}


def mask_game(n: int, v):
    """A game on n players from ``v(row) -> float`` for one boolean row."""

    def game(masks):
        return np.array([v(row) for row in masks], dtype=float)

    game.n = n
    return game


# ============================================================================= shapiq
# shapiq tests/shapiq/test_basis_games.py: the AND / OR / XOR logic games on the block
# (0, 1, 2, 3) of 8 players, and a game given by its Moebius coefficients.
BLOCK = [0, 1, 2, 3]


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("and", [0.25] * 4 + [0.0] * 4),  # the unanimity game of the block: 1/|T| each
        ("or", [0.25] * 4 + [0.0] * 4),  # symmetric in the block, v(N) = 1
        ("xor", [0.0] * 8),  # parity of 4 players: v(N) = 0 and symmetric
    ],
)
def test_shapiq_logic_games(kind, expected):
    """shapiq tests/shapiq/test_basis_games.py::logic_game (and, or, xor) on 8 players."""
    ops = {"and": np.all, "or": np.any, "xor": lambda m: m.sum() % 2}
    game = mask_game(8, lambda row: float(ops[kind](row[BLOCK])))
    np.testing.assert_allclose(shapley_values(game), expected, **EXACT)


def test_shapiq_moebius_game_two_planes():
    """shapiq tests/shapiq/test_basis_games.py::test_the_two_planes_are_distinct_verbs.

    Moebius coefficients {(): 1, (0,): 2, (0, 1): -1} on 3 players: v(S) = 1 + 2[0 in S]
    - [0, 1 in S]. shapiq evaluates v({0, 1}) = 2 and v({}) = 1; each coefficient is split
    equally among its members: phi = (2 - 1/2, -1/2, 0).
    """
    terms = {(): 1.0, (0,): 2.0, (0, 1): -1.0}
    game = mask_game(3, lambda row: sum(c for T, c in terms.items() if row[list(T)].all()))
    np.testing.assert_allclose(game(np.array([[True, True, False], [False, False, False]])),
                               [2.0, 1.0], **EXACT)
    np.testing.assert_allclose(shapley_values(game), [1.5, -0.5, 0.0], **EXACT)


def test_shapiq_random_moebius_game():
    """shapiq tests/shapiq/test_basis_games.py::test_exact_change_of_basis_roundtrips.

    The same terms (), (0,), (2,), (0, 1), (1, 2, 3) on 5 players with coefficients from
    default_rng(0).normal(): phi_i = sum over terms T containing i of m_T / |T|.
    """
    rng = np.random.default_rng(0)
    terms = {T: float(rng.normal()) for T in [(), (0,), (2,), (0, 1), (1, 2, 3)]}
    game = mask_game(5, lambda row: sum(c for T, c in terms.items() if row[list(T)].all()))
    expected = [sum(c / len(T) for T, c in terms.items() if i in T) for i in range(5)]
    np.testing.assert_allclose(shapley_values(game), expected, **EXACT)


def test_shapiq_soum_against_its_exact_computer():
    """shapiq_games/synthetic/soum.py (SOUM) and shapiq.ExactComputer("SV").

    A sum of unanimity games v(S) = sum_k c_k [T_k subset of S] has the closed form
    phi_i = sum_k c_k [i in T_k] / |T_k|; shapiq's own exact computer must agree too.
    """
    import shapiq
    from shapiq_games.synthetic.soum import SOUM

    soum = SOUM(n=6, n_basis_games=5, random_state=0)
    game = mask_game(6, lambda row: float(soum(row[None, :])[0]))
    closed = np.zeros(6)
    for c, u in zip(soum.linear_coefficients, soum.unanimity_games.values()):
        members = np.asarray(u.interaction_binary, dtype=bool)
        closed[members] += c / members.sum()
    ours = shapley_values(game)
    np.testing.assert_allclose(ours, closed, **EXACT)
    theirs = shapiq.ExactComputer(soum, n_players=6)("SV", order=1).get_n_order_values(1)
    np.testing.assert_allclose(ours, theirs, **EXACT)


# ============================================================================= captum
class MultiLayer(nn.Module):
    """captum/testing/helpers/basic_models.py::BasicModel_MultiLayer, output column 0.

    identity, Linear(3, 4) with weights 1 and biases (-10, 1, 1, 1), ReLU, then the sum
    of the four units minus 1: f(x) = relu(s - 10) + 3 relu(s + 1) - 1 with s = sum(x).
    """

    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(3, 4)
        self.linear2 = nn.Linear(4, 1)
        with torch.no_grad():
            self.linear1.weight.fill_(1.0)
            self.linear1.bias.copy_(torch.tensor([-10.0, 1.0, 1.0, 1.0]))
            self.linear2.weight.fill_(1.0)
            self.linear2.bias.fill_(-1.0)

    def forward(self, x):
        return self.linear2(torch.relu(self.linear1(x)))


def grouped_game(f, x, baseline, groups):
    """The game whose players are groups of features (captum's feature_mask)."""

    def v(row):
        z = np.array(baseline, dtype=float) * np.ones(len(x))
        for present, group in zip(row, groups):
            if present:
                z[group] = x[group]
        return f(z[None, :])[0]

    return mask_game(len(groups), v)


@pytest.mark.parametrize(
    "x, expected",
    [
        ([20.0, 50.0, 30.0], [230 / 3, 590 / 3, 350 / 3]),  # 76.66666, 196.66666, 116.66666
        ([2.0, 10.0, 3.0], [7.0, 32.5, 10.5]),
    ],
)
def test_captum_shapley_sampling_basic_model(x, expected):
    """captum tests/attr/test_shapley.py::test_simple_shapley_sampling and
    ::test_multi_sample_shapley_sampling (baseline 0): exact values, by the subset
    formula on the baseline game and by Kernel SHAP with all 6 coalitions."""
    f = predict_fn(MultiLayer().eval(), "logit")
    x = np.array(x)
    np.testing.assert_allclose(shapley_values(baseline_game(f, x, np.zeros(3))), expected,
                               **EXACT)
    e = kernel_shap(f, x, np.zeros((1, 3)), rng=0)
    np.testing.assert_allclose(e.values, expected, **EXACT)


@pytest.mark.parametrize(
    "x, groups, baseline, expected",
    [
        ([20.0, 50.0, 30.0], [[0, 1], [2]], 0.0, [275.0, 275.0, 115.0]),
        ([20.0, 50.0, 30.0], [[0, 1], [2]], 4.0, [248.0, 248.0, 104.0]),
        ([2.0, 10.0, 3.0], [[0, 1], [2]], 0.0, [39.5, 39.5, 10.5]),
        ([20.0, 50.0, 30.0], [[2], [0, 1]], 0.0, [275.0, 275.0, 115.0]),
    ],
)
def test_captum_shapley_sampling_with_feature_mask(x, groups, baseline, expected):
    """captum tests/attr/test_shapley.py::test_simple_shapley_sampling_with_mask,
    ::..._with_baselines (baselines=4) and ::test_multi_sample_shapley_sampling_with_mask.

    captum gives every feature of a group the group's Shapley value; here the groups are
    the players of a game and each group's value is spread back onto its features.
    """
    f = predict_fn(MultiLayer().eval(), "logit")
    x = np.array(x)
    phi = shapley_values(grouped_game(f, x, baseline, groups))
    per_feature = np.empty(3)
    for value, group in zip(phi, groups):
        per_feature[group] = value
    np.testing.assert_allclose(per_feature, expected, **EXACT)


def test_captum_integrated_gradients_basic_model():
    """BasicModel_MultiLayer of captum's basic_models.py at x = (20, 50, 30), baseline 0.

    On the path alpha x the gradient of every input is 3 + [100 alpha > 10], so
    IG_i = x_i (3 + 0.9) = (78, 195, 117); the trapezoid rule on 5 intervals is exact
    because the kink at alpha = 0.1 lies midway between the nodes 0 and 0.2.
    """
    ig = integrated_gradients(MultiLayer(), np.array([20.0, 50.0, 30.0]), np.zeros(3), steps=5)
    np.testing.assert_allclose(ig.values, [78.0, 195.0, 117.0], **EXACT)
    np.testing.assert_allclose(ig.values.sum(), 390.0, **EXACT)  # f(x) - f(0) = 392 - 2


class Model2(nn.Module):
    """captum basic_models.py::BasicModel2: f(x1, x2) = relu(relu(x1) - 1 - relu(x2)),
    the first example of Sundararajan et al. (2017), as one (k, 2) input."""

    def forward(self, z):
        return torch.relu(torch.relu(z[:, 0]) - 1 - torch.relu(z[:, 1]))


def test_captum_basic_relu_integrated_gradients():
    """captum tests/attr/test_gradient_shap.py::test_basic_relu_multi_input (its IG part).

    x = (3, 1), baseline 0: on the path the output is relu(2 alpha - 1), so
    IG = (3 * 1/2, -1 * 1/2) = (1.5, -0.5). With 51 intervals the kink at alpha = 1/2 lies
    midway between two nodes and the trapezoid rule is exact.
    """
    ig = integrated_gradients(Model2(), np.array([3.0, 1.0]), np.zeros(2), steps=51)
    np.testing.assert_allclose(ig.values, [1.5, -0.5], **EXACT)


def test_captum_basic_relu_gradient_shap():
    """captum tests/attr/test_gradient_shap.py::test_basic_relu_multi_input.

    captum checks Gradient SHAP against IG within 0.005 with 30000 samples. With one
    baseline each term is (3, -1) [alpha > 1/2], alpha ~ U(0, 1): mean (1.5, -0.5) and
    standard deviation (1.5, 0.5) exactly, so n = 4000 draws have standard errors
    (1.5, 0.5) / sqrt(4000): we allow 6 of them, and the reported error_std must match
    the analytic one within 10 % (the sd of a sample sd of 4000 draws is about 1.1 %).
    """
    n = 4000
    e = gradient_shap(Model2(), np.array([3.0, 1.0]), np.zeros((1, 2)), n_samples=n, seed=0)
    se = np.array([1.5, 0.5]) / np.sqrt(n)
    assert np.all(np.abs(e.values - [1.5, -0.5]) <= 6 * se)
    np.testing.assert_allclose(e.error_std, se, rtol=0.1)


def test_captum_linear_gradient_shap_equals_integrated_gradients():
    """captum tests/attr/test_gradient_shap.py::test_basic_multi_input.

    A linear model on 3 + 4 = 7 inputs, x = ones (10 rows), 20 baselines of zeros:
    every Monte-Carlo term is w_i (1 - 0), so Gradient SHAP equals integrated gradients
    (captum: within 0.005) exactly here, with a zero standard error.
    """
    torch.manual_seed(0)
    model = nn.Linear(7, 1)
    x = np.ones((10, 7))
    gs = gradient_shap(model, x, np.zeros((20, 7)), n_samples=50, seed=0)
    ig = integrated_gradients(model, x, np.zeros(7))
    np.testing.assert_allclose(gs.values, ig.values, **EXACT)
    np.testing.assert_allclose(gs.values, np.tile(model.weight.detach().numpy(), (10, 1)),
                               **EXACT)
    assert np.all(gs.error_std == 0.0)


# ============================================================================= shap
@pytest.mark.parametrize("p", [4, 10])
def test_shap_kernel_null_model(p):
    """shap tests/explainers/test_kernel.py::test_null_model_small and ::test_null_model.

    f = 0 everywhere, background ones((2, p)), x = ones: shap asserts sum |phi| < 1e-8.
    """
    e = kernel_shap(lambda X: np.zeros(len(X)), np.ones(p), np.ones((2, p)), rng=0)
    assert np.sum(np.abs(e.values)) < 1e-8


def test_shap_kernel_with_dataframe():
    """shap tests/explainers/test_kernel.py::test_kernel_shap_with_dataframe.

    Ten rows of np.random.seed(3) uniforms in columns a, b, c, y = a - 2b + 3c + noise,
    a least-squares linear fit, explained at every row against the whole frame. For a
    linear model the Shapley values are known: phi_i = w_i (x_i - mean_i), exactly (all
    6 coalitions of 3 features are enumerated).
    """
    np.random.seed(3)
    df = pd.DataFrame(np.random.random((10, 3)), columns=list("abc"))
    y = df.eval("a - 2 * b + 3 * c") + np.random.normal(0.0, 0.1, 10)
    A = np.column_stack([df.to_numpy(), np.ones(10)])
    coef = np.linalg.lstsq(A, y.to_numpy(), rcond=None)[0]

    def f(X):
        return np.asarray(X, dtype=float) @ coef[:3] + coef[3]

    e = kernel_shap(f, df, df, rng=0)
    expected = coef[:3] * (df.to_numpy() - df.to_numpy().mean(axis=0))
    np.testing.assert_allclose(e.values, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(e.base_values, f(df).mean(), rtol=1e-12)


# Ported: shapiq 6 cases (3 logic games, 2 Moebius games, SOUM vs ExactComputer),
# captum 10 (6 Shapley sampling, 2 integrated gradients, 2 Gradient SHAP), shap 3.
