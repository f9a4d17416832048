"""Permutation sampling: ``permutation_estimate(antithetic=True)`` against ``shap.PermutationExplainer``.

Both estimate the Shapley values of the same marginal game (the float64 MLP of
:func:`benchmarks.common.mlp`, p = 12 features, 50 background rows) from random orderings
paired with their reverses, at *equal budgets of coalition evaluations* (one evaluation =
one coalition ``S`` = 50 model rows):

* ``shap.PermutationExplainer(f, Independent(background, 50), seed=s)`` called with
  ``max_evals = B``: it runs ``B // (2p + 1)`` iterations, each one ordering forward and
  then backward (its reverse), evaluating ``2p + 1`` coalitions per iteration
  (``{}``, the ``p`` prefixes of the forward pass ending at ``N``, the ``p`` prefixes of
  the backward pass ending at ``{}`` again). It uses ``(B // (2p + 1)) (2p + 1)``.
* ``permutation_estimate(marginal_game(...), m, antithetic=True, rng=...)``: ``v({})`` and
  ``v(N)`` are the same in every ordering, so it evaluates them once and each ordering
  adds its ``p - 1`` interior prefixes: ``2 + m (p - 1)`` evaluations. It gets the largest
  even ``m`` whose cost does not exceed what shap used.

The error of each estimate is the relative L2 distance ``||phi_hat - phi|| / ||phi||`` to
the exact values (``shapley_values`` of the same game; equal to shap's Exact to 1e-15, see
:mod:`benchmarks.exact`). Target: the companion's median error over rows x seeds is at most
shap's. Timing (reported, no target): per seed, both explain all rows, methods alternating
which goes first; one warm-up call each; median over the seeds (>= 5) of the time per row.

Run ``python -m benchmarks.permutation [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.common import MIN_RUNS, blas_threads, markdown_table, mlp, ratio_row, steady_allocator

P = 12
N_BACKGROUND = 50
ERROR_RATIO_MAX = 1.0


def shap_evaluations(budget: int, p: int) -> int:
    """Coalitions ``shap.PermutationExplainer`` evaluates with ``max_evals=budget``."""
    return (budget // (2 * p + 1)) * (2 * p + 1)


def companion_orderings(evaluations: int, p: int) -> int:
    """Largest even number ``m`` of orderings with ``2 + m (p - 1) <= evaluations``."""
    m = (evaluations - 2) // (p - 1)
    return m - m % 2


def companion_evaluations(m: int, p: int) -> int:
    """Coalitions ``permutation_estimate`` evaluates for ``m`` orderings on ``p`` players."""
    return 2 + m * (p - 1)


class CountingGame:
    """Wraps a game and counts the coalitions it is asked to evaluate (``.evaluated``)."""

    def __init__(self, game):
        self.game, self.n, self.evaluated = game, game.n, 0

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        self.evaluated += len(masks)
        return self.game(masks)


def problem(p: int = P, n_rows: int = 8, seed: int = 0):
    """Model, explained rows ``(n_rows, p)``, background ``(50, p)``, exact values ``(n_rows, p)``."""
    from companion.game import shapley_values
    from companion.missing import marginal_game

    f = mlp(p, seed=seed)
    rng = np.random.default_rng(seed + 1)
    background = rng.standard_normal((N_BACKGROUND, p))
    rows = rng.standard_normal((n_rows, p))
    exact = np.array([shapley_values(marginal_game(f, x, background)) for x in rows])
    return f, rows, background, exact


def relative_error(estimate: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Row-wise ``||phi_hat - phi|| / ||phi||``."""
    return np.linalg.norm(estimate - exact, axis=-1) / np.linalg.norm(exact, axis=-1)


def run(
    quick: bool = False, seeds: int | None = None, threads: int | None = 1,
    budgets: tuple[int, ...] | None = None, n_rows: int | None = None,
) -> list[dict]:
    """One dict per budget: evaluations used, median errors, their ratio, times per row.

    Full: p = 12, 8 rows x 25 seeds, budgets 200, 400, 1600 (8, 16, 64 shap iterations).
    Quick: 3 rows x 5 seeds, budgets 200 and 400. ``budgets`` and ``n_rows`` override
    the sizes; ``seeds`` is at least 5. ``threads`` limits numpy's BLAS (see
    :func:`benchmarks.common.blas_threads`).
    """
    rows, n_seeds, sizes = (3, 5, (200, 400)) if quick else (8, 25, (200, 400, 1600))
    steady = steady_allocator()
    with blas_threads(threads):
        results = _run(n_rows or rows, max(MIN_RUNS, seeds or n_seeds), budgets or sizes)
    for r in results:
        r["blas_threads"], r["steady_allocator"] = threads, steady
    return results


def _run(n_rows: int, n_seeds: int, budgets: tuple[int, ...]) -> list[dict]:
    import shap

    from companion.game import permutation_estimate
    from companion.missing import marginal_game

    p = P
    f, rows, background, exact = problem(p, n_rows)
    masker = shap.maskers.Independent(background, max_samples=N_BACKGROUND)
    games = [marginal_game(f, x, background) for x in rows]
    results = []
    for budget in budgets:
        used_shap = shap_evaluations(budget, p)
        m = companion_orderings(used_shap, p)

        def companion(seed: int) -> np.ndarray:
            return np.array([
                permutation_estimate(g, m, rng=10_000 * seed + r, antithetic=True) for r, g in enumerate(games)
            ])

        def shap_(seed: int) -> np.ndarray:
            explainer = shap.PermutationExplainer(f, masker, seed=seed)
            return explainer(rows, max_evals=budget, silent=True).values

        counting = CountingGame(games[0])  # the budget is counted, not just computed
        permutation_estimate(counting, m, rng=0, antithetic=True)
        if counting.evaluated != companion_evaluations(m, p) or counting.evaluated > used_shap:
            raise RuntimeError(f"companion evaluated {counting.evaluated} coalitions, budget {used_shap}")

        methods = {"companion": companion, "shap": shap_}
        for fn in methods.values():  # warm-up
            fn(10**6)
        errors: dict[str, list[float]] = {name: [] for name in methods}
        seconds: dict[str, list[float]] = {name: [] for name in methods}
        names = list(methods)
        for seed in range(n_seeds):
            for name in names[seed % 2:] + names[: seed % 2]:
                start = time.perf_counter()
                estimate = methods[name](seed)
                seconds[name].append((time.perf_counter() - start) / n_rows)
                errors[name].extend(relative_error(estimate, exact).tolist())
        e_c, e_s = statistics.median(errors["companion"]), statistics.median(errors["shap"])
        t_c, t_s = statistics.median(seconds["companion"]), statistics.median(seconds["shap"])
        results.append({
            "p": p, "background": N_BACKGROUND, "budget": budget, "rows_x_seeds": n_rows * n_seeds,
            "evaluations_shap": used_shap, "evaluations_companion": companion_evaluations(m, p),
            "orderings_shap": 2 * (budget // (2 * p + 1)), "orderings_companion": m,
            "err_companion": e_c, "err_shap": e_s, "err_ratio": e_c / e_s,
            "ms_per_row_companion": 1e3 * t_c, "ms_per_row_shap": 1e3 * t_s, "time_ratio": t_c / t_s,
            "runs": n_seeds,
        })
    return results


def ratios(results: list[dict]) -> list[dict]:
    """The suite's summary rows: error ratio (target <= 1) and time ratio (reported)."""
    rows = []
    for r in results:
        case = f"p={r['p']}, budget {r['evaluations_shap']} coalitions"
        rows.append(ratio_row("permutation", case, "median rel. error companion / shap", r["err_ratio"], ERROR_RATIO_MAX))
        rows.append(ratio_row("permutation", case, "time companion / shap", r["time_ratio"], None))
    return rows


def table(results: list[dict]) -> str:
    """The measurements as a markdown table."""
    lines = [
        "| p | shap max_evals | evals shap | evals companion | orderings shap | orderings companion | "
        "err shap | err companion | err ratio | ms/row shap | ms/row companion |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['p']} | {r['budget']} | {r['evaluations_shap']} | {r['evaluations_companion']} | "
            f"{r['orderings_shap']} | {r['orderings_companion']} | {r['err_shap']:.4f} | "
            f"{r['err_companion']:.4f} | {r['err_ratio']:.3f} | {r['ms_per_row_shap']:.2f} | "
            f"{r['ms_per_row_companion']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rows x 5 seeds, two budgets")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (timed runs), at least 5")
    parser.add_argument("--threads", type=int, default=1, help="numpy BLAS threads (default 1; 0 = leave alone)")
    args = parser.parse_args(argv)
    results = run(quick=args.quick, seeds=args.seeds, threads=args.threads or None)
    print(table(results))
    print()
    print(markdown_table(ratios(results)))


if __name__ == "__main__":
    main()
