"""Chapter 4's numbers do not depend on the number of threads (issue 13, point 8).

Every glued number of chapter 4 comes from a few computations: the seeded disk network
(``torch.manual_seed(2020)`` before ``DiskNet``, then ``train_classifier``), its output at
x = (1.3, 0), the marginal game over the first 100 training rows with its Kernel SHAP,
exact and LIME values, and the float64 numpy model ``f10`` with its exact values and a
sampled Kernel SHAP estimate. This test runs them in two fresh processes, one with one
thread and one with four (torch, OpenMP and the BLAS alike), and demands the same bits.

Unseeded initial weights alone used to move f(1.3, 0) between about 0.005 and 0.08 from
one run to the next; a parallel sum's thread count moves the trained weights too, which is
why ``train_classifier`` and ``predict_fn`` run on one torch thread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHAPTER_4 = r"""
import json, sys
import torch
torch.set_num_threads(int(sys.argv[1]))
import numpy as np
import companion
from companion.datasets import disk
from companion.kernel import lime
from companion.missing import marginal_game
from companion.models import DiskNet, predict_fn, train_classifier

data = disk(n=5000, seed=2020)
torch.manual_seed(2020)
net = DiskNet(hidden=10)
train_classifier(net, data.X_train, data.y_train, epochs=300, lr=0.05, seed=2020)
f = predict_fn(net, "probability")
x, background = np.array([1.3, 0.0]), data.X_train[:100]
ours = companion.kernel_shap(f, x, background)
out = {
    "threads": torch.get_num_threads(),
    "weights": [float(v) for p in net.parameters() for v in p.detach().ravel()],
    "f(1.3, 0)": float(f(x[None])[0]),
    "accuracy": float(((f(data.X_test) > 0.5) == data.y_test).mean()),
    "kernel_shap": [float(ours.base_values), *map(float, ours.values)],
    "exact": list(map(float, companion.shapley_values(marginal_game(f, x, background)))),
    "lime": list(map(float, lime(f, x, background, n_samples=2,
                                 width=0.75 * np.sqrt(2)).values)),
}
p10 = 10
rng10 = np.random.default_rng(10)
W10 = rng10.normal(size=(p10, 8)) / np.sqrt(p10)
a10 = rng10.normal(size=8)
f10 = lambda X: np.tanh(np.asarray(X, dtype=float) @ W10) @ a10
background10, x10 = rng10.normal(size=(20, p10)), rng10.normal(size=p10)
out["exact10"] = list(map(float, companion.shapley_values(
    marginal_game(f10, x10, background10))))
out["kernel_shap10"] = list(map(float, companion.kernel_shap(
    f10, x10, background10, n_samples=200, rng=0).values))
print(json.dumps({k: v if k == "threads" else [float(t).hex() for t in np.atleast_1d(v)]
                  for k, v in out.items()}))
"""


def _start(threads: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS=str(threads))
    return subprocess.Popen([sys.executable, "-c", CHAPTER_4, str(threads)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _result(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_chapter_4_numbers_are_the_same_with_one_and_four_threads():
    one = _result(_start(1))      # one after the other: two imports of shap at once can
    four = _result(_start(4))     # race on its numba cache
    assert (one.pop("threads"), four.pop("threads")) == (1, 4)
    different = [name for name in one if one[name] != four[name]]
    assert not different, f"these differ between 1 and 4 threads: {different}"
