"""Tests of companion.gradient: expected gradients (Gradient SHAP) and integrated gradients."""

from __future__ import annotations

import numpy as np
import pytest
import shap
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from companion.evaluation import bonferroni_z
from companion.gradient import gradient_shap, gradient_shap_samples, integrated_gradients
from companion.models import BinaryClassification


def linear_model(w, c=0.3, dtype=torch.float64) -> nn.Module:
    """f(x) = w . x + c as a torch module."""
    w = torch.as_tensor(np.atleast_2d(w), dtype=dtype)
    lin = nn.Linear(w.shape[1], w.shape[0]).to(dtype)
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.bias.fill_(c)
    return lin


def small_mlp(p=4, seed=0, dtype=torch.float64) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(p, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)).to(dtype)


def outputs(model, a) -> np.ndarray:
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(a), dtype=dtype)).reshape(len(a), -1)[:, 0].numpy()


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(5, 4)), rng.normal(size=(30, 4))


# ----------------------------------------------------------------------------- linear model
def test_linear_model_equals_w_times_x_minus_mean_baseline(data):
    """For f = w.x + c every term is w_i (x_i - b_ki): phi_i estimates w_i (x_i - mean_b b_i).

    The terms of row x, feature i have standard deviation |w_i| sd(b_i) (the baselines
    are drawn uniformly), so the estimate has standard error |w_i| sd(b_i) / sqrt(n). We
    allow z standard errors with z the Bonferroni value over the m * p comparisons at a
    family level of 1e-3: a correct implementation fails this test with probability < 0.1 %.
    """
    x, b = data
    w = np.array([1.5, -2.0, 0.0, 0.7])
    n = 2000
    e = gradient_shap(linear_model(w), x, b, n_samples=n, seed=3)
    expected = w * (x - b.mean(axis=0))
    se = np.abs(w) * b.std(axis=0) / np.sqrt(n)
    z = bonferroni_z(x.size, family_level=1e-3)
    assert np.all(np.abs(e.values - expected) <= z * se + 1e-12)
    # the reported standard errors estimate the same quantity (within 20 %: sd of 2000 draws)
    nonzero = w != 0
    np.testing.assert_allclose(e.error_std[:, nonzero], np.broadcast_to(se, x.shape)[:, nonzero], rtol=0.2)
    assert np.all(e.values[:, ~nonzero] == 0.0)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6))
@example(seed=464, p=6)  # a base value near 0 (-8.2e-6): a relative tolerance fails
def test_linear_model_property(seed, p):
    rng = np.random.default_rng(seed)
    w, x, b = rng.normal(size=p), rng.normal(size=(3, p)), rng.normal(size=(12, p))
    n = 500
    e = gradient_shap(linear_model(w), x, b, n_samples=n, seed=seed)
    se = np.abs(w) * b.std(axis=0) / np.sqrt(n)
    z = bonferroni_z(x.size, family_level=1e-4)
    assert np.all(np.abs(e.values - w * (x - b.mean(axis=0))) <= z * se + 1e-9)
    # base value: the mean output over the baselines, to rounding: an absolute
    # tolerance on outputs of order one (a relative one fails where the mean is near 0,
    # as at seed=464, p=6: -8.2e-6, off by 5.6e-17)
    scale = 1.0 + np.abs(b @ w).max()
    np.testing.assert_allclose(e.base_values, np.full(3, (b @ w).mean() + 0.3),
                               rtol=0, atol=1e-13 * scale)


def test_noise_keeps_the_expectation_for_a_linear_model(data):
    """With stdevs > 0 the terms gain w_i eps_i (mean 0, sd |w_i| stdev): same expectation."""
    x, b = data
    w = np.array([1.0, -1.0, 2.0, 0.5])
    n, sd = 2000, 0.5
    e = gradient_shap(linear_model(w), x, b, n_samples=n, stdevs=sd, seed=5)
    se = np.abs(w) * np.sqrt(b.var(axis=0) + sd**2) / np.sqrt(n)
    z = bonferroni_z(x.size, family_level=1e-3)
    assert np.all(np.abs(e.values - w * (x - b.mean(axis=0))) <= z * se)


# ----------------------------------------------------------------------------- completeness
def test_completeness_on_a_small_mlp_within_monte_carlo_error(data):
    """sum_i phi_i estimates f(x) - E_b f(b); its error is judged by the SE of the summed terms."""
    x, b = data
    model = small_mlp()
    n = 1000
    e = gradient_shap(model, x, b, n_samples=n, seed=11)
    terms = gradient_shap_samples(model, x, b, n_samples=n, seed=11).sum(axis=2)  # (m, n)
    se = terms.std(axis=1, ddof=1) / np.sqrt(n)
    gap = e.values.sum(axis=1) - (outputs(model, x) - outputs(model, b).mean())
    assert np.all(np.abs(gap) <= bonferroni_z(len(x), 1e-3) * se)
    np.testing.assert_allclose(e.base_values, outputs(model, b).mean(), rtol=1e-12)


def test_samples_average_to_the_estimate(data):
    x, b = data
    model = small_mlp()
    e = gradient_shap(model, x, b, n_samples=64, seed=2, stdevs=0.1, batch_size=50)
    c = gradient_shap_samples(model, x, b, n_samples=64, seed=2, stdevs=0.1, batch_size=50)
    assert c.shape == (5, 64, 4)
    np.testing.assert_allclose(c.mean(axis=1), e.values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c.std(axis=1, ddof=1) / 8, e.error_std, rtol=1e-6)


# ----------------------------------------------------------------------------- eval mode
class Recorder(nn.Module):
    """Records the training flag and device of every forward call; optionally raises."""

    def __init__(self, p=4, fail=False):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(p, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5),
                                 nn.Linear(6, 1))
        self.seen = []
        self.fail = fail

    def forward(self, z):
        self.seen.append((self.training, self.net[1].training, self.net[3].training, z.device, z.dtype))
        if self.fail:
            raise RuntimeError("boom")
        return self.net(z)


def test_eval_mode_is_used_and_the_callers_mode_restored(data):
    x, b = data
    model = Recorder()
    model.train()
    model.net[3].eval()  # a mixed state: dropout off, the rest training
    before = [mod.training for mod in model.modules()]
    gradient_shap(model, x, b, n_samples=10, seed=0)
    integrated_gradients(model, x, b[0], steps=4)
    assert model.seen and all(not any(flags[:3]) for flags in model.seen)
    assert [mod.training for mod in model.modules()] == before


def test_mode_restored_after_an_exception(data):
    x, b = data
    model = Recorder(fail=True).train()
    with pytest.raises(RuntimeError, match="boom"):
        gradient_shap(model, x, b, n_samples=3, seed=0)
    assert all(mod.training for mod in model.modules())


def test_train_mode_model_gives_the_eval_mode_values(data):
    """BatchNorm and Dropout would make a train-mode output random; the companion switches them off."""
    x, b = data
    torch.manual_seed(0)
    model = BinaryClassification(4).double()
    model.train()
    with torch.no_grad():  # move the running statistics away from their defaults
        for _ in range(3):
            model(torch.as_tensor(np.vstack([b, b + 1.0])))
    train = gradient_shap(model, x, b, n_samples=50, seed=4).values
    assert model.training
    model.eval()
    np.testing.assert_array_equal(gradient_shap(model, x, b, n_samples=50, seed=4).values, train)


def test_batchnorm_statistics_are_not_touched(data):
    """Eval mode is set before the first forward pass: running statistics stay as they were."""
    x, b = data
    torch.manual_seed(0)
    model = BinaryClassification(4).double().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    gradient_shap(model, x, b, n_samples=20, seed=0)
    integrated_gradients(model, x, b[0], steps=4)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_parameters_get_no_gradient(data):
    x, b = data
    model = small_mlp()
    gradient_shap(model, x, b, n_samples=20, seed=0)
    assert all(param.grad is None for param in model.parameters())


# ----------------------------------------------------------------------------- seeds and devices
def test_same_seed_same_values_and_batch_size_does_not_matter(data):
    x, b = data
    model = small_mlp()
    first = gradient_shap(model, x, b, n_samples=40, seed=7, stdevs=0.2).values
    again = gradient_shap(model, x, b, n_samples=40, seed=7, stdevs=0.2).values
    np.testing.assert_array_equal(first, again)
    for batch_size in (1, 7, 40, 90):  # blocks within a row, whole rows, several rows
        np.testing.assert_allclose(
            gradient_shap(model, x, b, n_samples=40, seed=7, stdevs=0.2, batch_size=batch_size).values,
            first, rtol=1e-12, atol=1e-14)
    other = gradient_shap(model, x, b, n_samples=40, seed=8, stdevs=0.2).values
    assert not np.allclose(first, other)
    via_generator = gradient_shap(model, x, b, n_samples=40, stdevs=0.2, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(via_generator.values, first)


def test_inputs_follow_the_models_device_and_dtype(data):
    """One code path: every tensor is created on the parameters' device with their dtype."""
    x, b = data
    for dtype in (torch.float32, torch.float64):
        model = Recorder().to(dtype).eval()
        gradient_shap(model, x, b, n_samples=5, seed=0)
        device = next(model.parameters()).device
        assert all(seen[3] == device and seen[4] == dtype for seen in model.seen)


def test_torch_inputs_are_accepted(data):
    x, b = data
    model = small_mlp()
    from_numpy = gradient_shap(model, x, b, n_samples=20, seed=1).values
    from_torch = gradient_shap(model, torch.as_tensor(x), torch.as_tensor(b), n_samples=20, seed=1).values
    np.testing.assert_array_equal(from_numpy, from_torch)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu(data):  # pragma: no cover - runs only where a GPU is present
    x, b = data
    model = small_mlp(dtype=torch.float32)
    cpu = gradient_shap(model, x, b, n_samples=100, seed=3)
    gpu = gradient_shap(model.cuda(), x, b, n_samples=100, seed=3)
    np.testing.assert_allclose(gpu.values, cpu.values, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gpu.base_values, cpu.base_values, rtol=1e-5)


# ----------------------------------------------------------------------------- outputs
def test_explanation_shapes(data):
    x, b = data
    model = small_mlp()
    e = gradient_shap(model, x, b, n_samples=10, seed=0, feature_names=list("abcd"))
    assert isinstance(e, shap.Explanation)
    assert e.values.shape == (5, 4) and e.base_values.shape == (5,) and e.error_std.shape == (5, 4)
    assert list(e.feature_names) == list("abcd")
    np.testing.assert_array_equal(e.data, x)
    one = gradient_shap(model, x[0], b, n_samples=10, seed=0)
    assert one.values.shape == (4,) and isinstance(one.base_values, float)
    single_sample = gradient_shap(model, x, b, n_samples=1, seed=0)
    assert np.all(np.isnan(single_sample.error_std))


def test_target_selects_an_output(data):
    x, b = data
    w = np.array([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.0, 2.0]])
    model = linear_model(w)
    for j in (0, 1):
        e = gradient_shap(model, x, b, n_samples=300, seed=0, target=j)
        ref = gradient_shap(linear_model(w[j]), x, b, n_samples=300, seed=0)
        np.testing.assert_allclose(e.values, ref.values, rtol=1e-12)


def test_constant_model_gets_zero_attributions(data):
    class Constant(nn.Module):
        def forward(self, z):
            return torch.ones(z.shape[0], 1)

    x, b = data
    e = gradient_shap(Constant(), x, b, n_samples=5, seed=0)
    assert np.all(e.values == 0.0) and np.all(e.base_values == 1.0)


# ----------------------------------------------------------------------------- integrated gradients
def test_integrated_gradients_linear_is_exact(data):
    x, b = data
    w = np.array([1.5, -2.0, 0.0, 0.7])
    ig = integrated_gradients(linear_model(w), x, b[0], steps=3)
    np.testing.assert_allclose(ig.values, w * (x - b[0]), rtol=1e-12)
    np.testing.assert_allclose(ig.base_values, np.full(5, b[0] @ w + 0.3), rtol=1e-12)


def test_integrated_gradients_completeness_improves_with_steps(data):
    x, b = data
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()  # smooth
    target = outputs(model, x) - outputs(model, b[:5])
    errors = []
    for steps in (4, 16, 64):
        ig = integrated_gradients(model, x, b[:5], steps=steps)  # one baseline per row
        errors.append(np.abs(ig.values.sum(axis=1) - target).max())
    # trapezoid rule on a smooth path: error ~ 1/steps^2, so each 4x refinement gains >= 8x
    assert errors[1] < errors[0] / 8 and errors[2] < errors[1] / 8
    assert errors[2] < 1e-3


def test_expected_gradients_average_integrated_gradients(data):
    """A dense grid of IG over every baseline matches the Monte-Carlo estimate within its error."""
    x, b = data
    model = small_mlp()
    m, q = len(x), len(b)
    ig = integrated_gradients(model, np.repeat(x, q, axis=0), np.tile(b, (m, 1)), steps=256)
    dense = ig.values.reshape(m, q, -1).mean(axis=1)
    e = gradient_shap(model, x, b, n_samples=4000, seed=0)
    assert np.all(np.abs(e.values - dense) <= bonferroni_z(x.size, 1e-3) * e.error_std + 1e-3 / 256)


# ----------------------------------------------------------------------------- captum
def test_agrees_with_captum_within_monte_carlo_error(data):
    from captum.attr import GradientShap

    x, b = data
    model = small_mlp(dtype=torch.float32)
    n = 400
    sigma = gradient_shap_samples(model, x, b, n_samples=4000, seed=1).std(axis=1, ddof=1)
    ours = gradient_shap(model, x, b, n_samples=n, seed=2).values
    np.random.seed(0)
    theirs = GradientShap(model).attribute(torch.as_tensor(x, dtype=torch.float32),
                                           torch.as_tensor(b, dtype=torch.float32), n_samples=n)
    tolerance = bonferroni_z(x.size, 1e-3) * np.sqrt(2 * sigma**2 / n)
    assert np.all(np.abs(ours - theirs.numpy()) <= tolerance + 1e-6)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"baselines": np.zeros((3, 5))}, ValueError, "features"),
        ({"baselines": np.zeros((0, 4))}, ValueError, "empty"),
        ({"x": np.array([[np.nan, 0, 0, 0]])}, ValueError, "NaN or inf"),
        ({"baselines": np.full((3, 4), np.inf)}, ValueError, "NaN or inf"),
        ({"x": np.zeros((0, 4))}, ValueError, "no rows"),
        ({"x": np.zeros((2, 2, 4))}, ValueError, "shape"),
        ({"n_samples": 0}, ValueError, "at least 1"),
        ({"n_samples": 2.5}, TypeError, "int"),
        ({"stdevs": -1.0}, ValueError, "non-negative"),
        ({"stdevs": np.ones(3)}, ValueError, "one float per feature"),
        ({"batch_size": 0}, ValueError, "at least 1"),
        ({"seed": "a"}, TypeError, "seed"),
        ({"feature_names": ["a"]}, ValueError, "names"),
        ({"model": lambda z: z}, TypeError, "torch.nn.Module"),
        ({"target": 1}, ValueError, "out of range"),
    ],
)
def test_bad_input(data, kwargs, error, match):
    x, b = data
    args = {"model": small_mlp(), "x": x, "baselines": b, "n_samples": 5, "seed": 0} | kwargs
    with pytest.raises(error, match=match):
        gradient_shap(**args)


def test_multi_output_needs_a_target(data):
    x, b = data
    model = linear_model(np.ones((3, 4)))
    with pytest.raises(ValueError, match="3 outputs; pass target"):
        gradient_shap(model, x, b, n_samples=5, seed=0)
    with pytest.raises(ValueError, match="3 outputs; pass target"):
        integrated_gradients(model, x, b[0])


def test_integrated_gradients_bad_input(data):
    x, b = data
    model = small_mlp()
    with pytest.raises(ValueError, match="one row per row"):
        integrated_gradients(model, x, b[:2])
    with pytest.raises(ValueError, match="features"):
        integrated_gradients(model, x, np.zeros(3))
    with pytest.raises(ValueError, match="at least 1"):
        integrated_gradients(model, x, b[0], steps=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        integrated_gradients(model, x, np.full(4, np.nan))


# ----------------------------------------------------------------------------- issue 14 regressions
def _linear_terms(w, x, b, n, seed, dtype):
    """The Monte-Carlo terms c_ik = w_i (x_i - b_pick(k),i) of the linear model, by hand.

    gradient_shap draws ``rng.integers(0, q, (m, n))`` first; the gradient of w.z + c is w
    exactly, so each term is the product w_i * (x_i - b_ki) rounded in the model's dtype.
    """
    pick = np.random.default_rng(seed).integers(0, len(b), size=(len(x), n))
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    delta = x.astype(np_dtype)[:, None, :] - b.astype(np_dtype)[pick]
    return (w.astype(np_dtype) * delta).astype(np.float64)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch_size", [None, 7])  # 7: one row's draws merged over blocks
def test_error_std_is_the_analytic_standard_error(dtype, batch_size):
    """Issue 14.2: error_std = sd(c_ik) / sqrt(n), from float64 two-pass/Chan moments.

    Baselines 5 + 1e-3 N(0, 1) and x = 0: every term is about -5 w_i with a spread of
    1e-3 |w_i|, the case where E[c^2] - E[c]^2 in float32 cancels catastrophically. The
    terms themselves are rounded in the model's dtype (relative 6e-8 in float32, so
    3e-7 absolute against a spread of 1e-3): we compare with the standard deviation of
    the same rounded terms at 1e-9 relative, and with the exact float64 terms at 1e-2
    relative (float32) or 1e-9 (float64).
    """
    rng = np.random.default_rng(0)
    w = np.array([1.5, -2.0, 0.7])
    x, b = np.zeros((2, 3)), 5.0 + 1e-3 * rng.normal(size=(40, 3))
    n, seed = 500, 3
    e = gradient_shap(linear_model(w, dtype=dtype), x, b, n_samples=n, seed=seed,
                      batch_size=batch_size)
    rounded = _linear_terms(w, x, b, n, seed, dtype)
    np.testing.assert_allclose(e.error_std, rounded.std(axis=1, ddof=1) / np.sqrt(n),
                               rtol=1e-9)
    np.testing.assert_allclose(e.values, rounded.mean(axis=1), rtol=1e-12)
    exact = _linear_terms(w, x, b, n, seed, torch.float64)
    rtol = 1e-2 if dtype == torch.float32 else 1e-9
    np.testing.assert_allclose(e.error_std, exact.std(axis=1, ddof=1) / np.sqrt(n), rtol=rtol)
    if dtype == torch.float32:  # the planted error: the one-pass float32 formula misses
        c = rounded.astype(np.float32)
        naive = np.sqrt(np.maximum((c * c).mean(axis=1) - c.mean(axis=1) ** 2, 0) / (n - 1))
        assert not np.allclose(naive, exact.std(axis=1, ddof=1) / np.sqrt(n), rtol=1e-2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_identical_terms_have_zero_error_std(dtype):
    """One baseline row and a linear model: all n terms are the same number, so sd = 0."""
    x, b = np.array([[0.3, -1.2, 2.0]]), np.array([[1.0, 0.5, -0.25]])
    e = gradient_shap(linear_model(np.array([1.5, -2.0, 0.7]), dtype=dtype), x, b,
                      n_samples=1000, seed=0, batch_size=64)
    assert np.all(e.error_std == 0.0)


def test_inference_mode_gives_the_same_values(data):
    """Issue 14.1: inside torch.inference_mode() the methods run outside it, not zeros."""
    x, b = data
    model = small_mlp()
    outside = gradient_shap(model, x, b, n_samples=20, seed=0)
    ig_outside = integrated_gradients(model, x, b[0], steps=8).values
    with torch.inference_mode():
        inside = gradient_shap(model, x, b, n_samples=20, seed=0)
        ig_inside = integrated_gradients(model, x, b[0], steps=8).values
        samples = gradient_shap_samples(model, x, b, n_samples=20, seed=0)
        assert torch.is_inference_mode_enabled()  # the caller's mode is restored
    np.testing.assert_array_equal(inside.values, outside.values)
    np.testing.assert_array_equal(inside.error_std, outside.error_std)
    np.testing.assert_array_equal(ig_inside, ig_outside)
    np.testing.assert_allclose(samples.mean(axis=1), outside.values, rtol=1e-12)
    assert np.any(inside.values != 0)


def test_model_built_in_inference_mode_is_refused(data):
    x, b = data
    with torch.inference_mode():
        model = small_mlp()
    with pytest.raises(ValueError, match="inference_mode"):
        gradient_shap(model, x, b, n_samples=5, seed=0)


def test_missing_gradient_is_an_error_not_zeros(data):
    """A model that detaches its input changes its output with no autograd path."""

    class Detaching(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = small_mlp()

        def forward(self, z):
            return self.lin(z.detach())

    x, b = data
    for call in (lambda m: gradient_shap(m, x, b, n_samples=5, seed=0),
                 lambda m: integrated_gradients(m, x, b[0], steps=4)):
        with pytest.raises(ValueError, match="autograd finds no gradient"):
            call(Detaching())


class Sqrt(nn.Module):
    """f(z) = sum_i sqrt(z_i): NaN for negative inputs, an infinite gradient at 0."""

    def forward(self, z):
        return torch.sqrt(z).sum(dim=1)


def test_nan_outputs_and_gradients_are_errors():
    """Issue 14.9: NaN outputs or gradients raise, they never give NaN attributions."""
    x = np.array([[1.0, 4.0]])
    with pytest.raises(ValueError, match="NaN or inf outputs"):
        gradient_shap(Sqrt(), x, -np.ones((3, 2)), n_samples=5, seed=0)
    with pytest.raises(ValueError, match="NaN or inf gradients"):
        integrated_gradients(Sqrt(), x, np.zeros(2), steps=4)  # alpha = 0 is z = 0
    with pytest.raises(ValueError, match="NaN or inf"):
        gradient_shap_samples(Sqrt(), x, -np.ones((3, 2)), n_samples=5, seed=0)


def test_wrong_width_names_the_input(data):
    """Issue 14.10: a 3-feature x for a 4-feature model is a ValueError, not torch's error."""
    _, b = data
    model = small_mlp()
    with pytest.raises(ValueError, match=r"x rows of shape .*features the model"):
        gradient_shap(model, np.zeros((2, 3)), np.zeros((5, 3)), n_samples=5, seed=0)
    with pytest.raises(ValueError, match="features the model"):
        integrated_gradients(model, np.zeros(3), 0.0)


def test_scalar_baseline_for_integrated_gradients(data):
    """Issue 14.11: a scalar baseline means that value for every feature (as in captum)."""
    x, _ = data
    model = small_mlp()
    for scalar in (0.5, np.float32(0.5), np.int64(0), 0):
        full = integrated_gradients(model, x, np.full(4, float(scalar)), steps=8).values
        np.testing.assert_array_equal(integrated_gradients(model, x, scalar, steps=8).values,
                                      full)


def test_target_checked_before_any_model_call(data):
    x, b = data
    model = Recorder()
    for target, error in ((-1, ValueError), (1.0, TypeError), (True, TypeError)):
        with pytest.raises(error, match="target"):
            gradient_shap(model, x, b, n_samples=5, seed=0, target=target)
    assert model.seen == []
