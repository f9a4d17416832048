"""Benchmark: the companion's Gradient SHAP against captum, shap and a plain forward+backward pass.

Chapter 5's MLP (``BinaryClassification``) on the 30 breast-cancer features, briefly trained so
that its batch-norm statistics are realistic; 128 and 200 explained rows, 100 background
rows, 200 samples per row. Side by side in one run:

* ``companion``: :func:`companion.gradient.gradient_shap`;
* ``captum``: ``captum.attr.GradientShap(model).attribute(x, background, n_samples=200)``;
* ``shap``: ``shap.GradientExplainer(model, background).shap_values(x, nsamples=200)``;
* ``plain``: one forward pass over all rows x samples (precomputed inputs) and one
  ``autograd.grad`` of the summed output: the floor any implementation pays.

Timing: one warm-up call of each method, then ``runs`` rounds in which the methods run in a
rotated order (interleaved, so a burst of load on a shared machine hits all of them); the
median per method is reported. Accuracy: the root-mean-square error of each method's values
against a dense reference (exact average over all background rows, trapezoid rule with 128
intervals in alpha). Targets (issue 6): companion time at most 0.2 x captum, 0.05 x shap and
2 x plain, with equal accuracy.

Run ``python -m benchmarks.gradient [--quick] [--device cpu|cuda] [--threads N]`` or
``python benchmarks/gradient.py``. :func:`run` returns the rows as dicts for a suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

N_SAMPLES = 200
N_BACKGROUND = 100
TARGETS = {"captum": 0.2, "shap": 0.05, "plain": 2.0}  # max companion time / method time


def _model_and_data(device: torch.device):
    from companion.datasets import breast_cancer
    from companion.models import BinaryClassification, train_classifier

    data = breast_cancer()
    model = BinaryClassification(data.p)
    train_classifier(model, data.X_train, data.y_train, epochs=20, batch_size=32, seed=0)
    model = model.to(device).eval()
    rows = np.vstack([data.X_test, data.X_train])
    background = data.X_train[-N_BACKGROUND:]
    return model, rows, background


def _reference(model, x: np.ndarray, background: np.ndarray, steps: int = 128) -> np.ndarray:
    """Dense expected gradients: mean over every background row of trapezoid IG (steps intervals)."""
    from companion.gradient import integrated_gradients

    m, q = x.shape[0], background.shape[0]
    ig = integrated_gradients(model, np.repeat(x, q, axis=0), np.tile(background, (m, 1)), steps=steps)
    return ig.values.reshape(m, q, -1).mean(axis=1)


def _methods(model, x: np.ndarray, background: np.ndarray, device: torch.device) -> dict[str, Callable]:
    """name -> callable(seed) returning an (m, p) numpy array of attributions (or None)."""
    import shap
    from captum.attr import GradientShap

    from companion.gradient import gradient_shap

    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    bt = torch.as_tensor(background, dtype=torch.float32, device=device)
    gen = torch.Generator(device="cpu").manual_seed(0)
    z_plain = torch.randn(x.shape[0] * N_SAMPLES, x.shape[1], generator=gen).to(device)

    def companion(seed: int) -> np.ndarray:
        return gradient_shap(model, x, background, n_samples=N_SAMPLES, seed=seed).values

    def captum(seed: int) -> np.ndarray:
        np.random.seed(seed)
        torch.manual_seed(seed)
        return GradientShap(model).attribute(xt, bt, n_samples=N_SAMPLES).detach().cpu().numpy()

    def shap_(seed: int) -> np.ndarray:
        explainer = shap.GradientExplainer(model, bt)
        return np.asarray(explainer.shap_values(xt, nsamples=N_SAMPLES, rseed=seed))[..., 0]

    def plain(seed: int) -> None:
        z = z_plain.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(z).sum(), z)
        return None

    return {"companion": companion, "captum": captum, "shap": shap_, "plain": plain}


def _timed(fn: Callable, seed: int, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn(seed)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def run(quick: bool = False, device: str | None = None, runs: int | None = None) -> list[dict]:
    """Time the four methods at 128 and 200 rows (quick: 32 rows, 3 runs); return one dict per method and size."""
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    runs = runs or (3 if quick else 5)
    sizes = (32,) if quick else (128, 200)
    model, rows, background = _model_and_data(dev)
    results = []
    for m in sizes:
        x = rows[:m]
        methods = _methods(model, x, background, dev)
        for name, fn in methods.items():  # warm-up (shap on a few rows: it is slow and has no cache)
            if name == "shap":
                _methods(model, x[:4], background, dev)["shap"](0)
            else:
                fn(0)
        times = {name: [] for name in methods}
        names = list(methods)
        for r in range(runs):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                times[name].append(_timed(methods[name], 1000 + r, dev))
        ref = _reference(model, x, background)
        for name, fn in methods.items():
            values = fn(7)
            rmse = None if values is None else float(np.sqrt(np.mean((values - ref) ** 2)))
            results.append({
                "device": dev.type, "threads": torch.get_num_threads(), "rows": m,
                "background": background.shape[0], "samples": N_SAMPLES, "method": name,
                "median_s": statistics.median(times[name]), "min_s": min(times[name]),
                "runs": runs, "rmse_vs_reference": rmse,
            })
    for res in results:  # companion time relative to each method, same size
        comp = next(r["median_s"] for r in results if r["rows"] == res["rows"] and r["method"] == "companion")
        res["companion_over_method"] = comp / res["median_s"]
    return results


def table(results: list[dict]) -> str:
    """The results as a markdown table, with the issue's target ratio and whether it is met."""
    lines = [
        "| device | threads | rows | method | median s | min s | companion / method | target | met | RMSE vs dense |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        target = TARGETS.get(r["method"])
        met = "" if target is None else ("yes" if r["companion_over_method"] <= target else "NO")
        rmse = "" if r["rmse_vs_reference"] is None else f"{r['rmse_vs_reference']:.4f}"
        lines.append(
            f"| {r['device']} | {r['threads']} | {r['rows']} | {r['method']} | {r['median_s']:.4f} | "
            f"{r['min_s']:.4f} | {r['companion_over_method']:.3f} | {'' if target is None else f'<= {target}'} | "
            f"{met} | {rmse} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32 rows, 3 runs")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--runs", type=int, default=None, help="timed rounds (default 5; quick 3)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(table(run(quick=args.quick, device=args.device, runs=args.runs)))


if __name__ == "__main__":
    main()
