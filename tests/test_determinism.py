"""Chapter 4's numbers do not depend on the number of threads (issue 13, point 8).

Every glued number of chapter 4 comes from a few computations: the seeded disk network
(``torch.manual_seed(2020)`` before ``DiskNet``, then ``train_classifier``), its output at
x = (1.3, 0), the marginal game over the first 100 training rows with its Kernel SHAP,
exact and LIME values, and the float64 numpy model ``f10`` with its exact values and a
sampled Kernel SHAP estimate. This test runs them all with one thread and with four
(torch's intra-op threads and the BLAS alike) and demands the same bits.

Unseeded initial weights alone used to move f(1.3, 0) between about 0.005 and 0.08 from
one run to the next; a parallel sum's thread count moves the trained weights too, which is
why ``train_classifier`` and ``predict_fn`` run on one torch thread whatever the caller set.
"""

from __future__ import annotations

import numpy as np
import torch
from chapter4_models import N_BACKGROUND, X_DISK, disk_network, ten_feature_network
from threadpoolctl import threadpool_limits

import companion
from companion.kernel import lime
from companion.missing import marginal_game
from companion.models import DiskNet


def chapter_4_numbers() -> dict[str, np.ndarray]:
    """The computations behind chapter 4's glued numbers, as the chapter runs them."""
    data, net, f = disk_network()
    x, background = X_DISK, data.X_train[:N_BACKGROUND]
    ours = companion.kernel_shap(f, x, background)
    out = {
        "weights": torch.cat([p.detach().ravel() for p in net.parameters()]).numpy(),
        "f(1.3, 0)": f(x[None]),
        "accuracy": np.array([((f(data.X_test) > 0.5) == data.y_test).mean()]),
        "kernel_shap": np.r_[ours.base_values, ours.values],
        "exact": companion.shapley_values(marginal_game(f, x, background)),
        "lime": lime(f, x, background, n_samples=2, width=0.75 * np.sqrt(2)).values,
    }
    f10, x10, background10 = ten_feature_network()
    out["exact10"] = companion.shapley_values(marginal_game(f10, x10, background10))
    out["kernel_shap10"] = companion.kernel_shap(f10, x10, background10, n_samples=200,
                                                 rng=0).values
    return out


def with_threads(threads: int) -> dict[str, np.ndarray]:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            assert torch.get_num_threads() == threads
            return chapter_4_numbers()
    finally:
        torch.set_num_threads(before)


def test_chapter_4_numbers_are_the_same_with_one_and_four_threads():
    one, four = with_threads(1), with_threads(4)
    different = [name for name in one if one[name].tobytes() != four[name].tobytes()]
    assert not different, f"these differ between 1 and 4 threads: {different}"


def test_the_comparison_sees_another_initialisation():
    """The byte comparison can fail: differently seeded initial weights differ."""
    def weights(seed):
        torch.manual_seed(seed)
        net = DiskNet(hidden=10)
        return torch.cat([p.detach().ravel() for p in net.parameters()]).numpy()

    assert weights(2020).tobytes() == weights(2020).tobytes()
    assert weights(2020).tobytes() != weights(1).tobytes()
