"""Exact enumeration: the companion against ``shap.explainers.Exact`` and the model's own floor.

For p in {12, 14, 16} features, a small float64 numpy MLP (``p -> 32 tanh -> 1``, seeded
weights, :func:`benchmarks.common.mlp`) is explained at one row with the same 50-row
background by

* ``companion``: ``shapley_values(marginal_game(f, x, background))``, all ``2**p``
  coalitions times 50 background rows, evaluated in chunks;
* ``shap``: ``shap.explainers.Exact(f, shap.maskers.Independent(background, max_samples=50))``
  called with ``max_evals = 2**p`` (it refuses fewer: exact enumeration needs every coalition);
* ``floor``: the model alone on pre-built rows, in exactly the calls the companion makes
  (same number of calls, same rows per call: recorded once from a real run). These are the
  ``2**p x 50`` forward passes that no exact black-box method can avoid; building them in
  the same chunk size keeps cache behaviour identical, so the ratio isolates the cost of
  the enumeration itself (masks, filling rows, the weighted sums). One big call is not used:
  at p = 16 its 3.3 million rows would need gigabytes of intermediate arrays, and calls
  that large are slower per row, not faster. The companion's calls hold
  ``marginal_game``'s default ``max_rows = 16384`` rows, a size at which a small model's
  intermediate arrays stay in the CPU cache; on the build machine the model's time per row
  was flat from 1024 to 16384 rows per call and about twice as high from 65536 rows on, so
  this floor is close to the best the model can do.

Both libraries see bit-identical model outputs, so their values can differ only by the
order of summation: the target is ``max |difference| <= 1e-10``. Timing follows
:mod:`benchmarks.common` (warm-up, interleaved, median of >= 5 runs, one BLAS thread
unless ``--threads`` says otherwise). Peak memory of the
companion at the largest p is measured in a fresh subprocess (RSS high-water mark minus
the RSS before the call; tracemalloc's peak alongside).

Run ``python -m benchmarks.exact [--quick]``; :func:`run` returns one dict per p and
:func:`ratios` the suite's summary rows.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.common import (
    MIN_RUNS, blas_threads, steady_allocator, interleaved_times, markdown_table, mlp, peak_memory, ratio_row, summarise,
)

N_BACKGROUND = 50
DIFF_MAX = 1e-10
FLOOR_MAX = 1.25
FLOOR_FROM_P = 12  # the floor target applies from this p on (the sizes)
SHAP_TARGETS = {14: 0.75, 16: 0.5}  # companion time / shap time, per p
MEMORY_MAX = 0.5e9  # bytes at the largest p


def problem(p: int, seed: int = 0) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, np.ndarray]:
    """The model ``f``, the explained row ``x`` and the ``(50, p)`` background, all seeded."""
    f = mlp(p, seed=seed)
    rng = np.random.default_rng(seed + 1)
    background = rng.standard_normal((N_BACKGROUND, p))
    x = rng.standard_normal(p)
    return f, x, background


def companion_work(p: int) -> Callable[[], np.ndarray]:
    """Set-up for the memory measurement: returns the exact companion call at ``p``."""
    from companion.game import shapley_values
    from companion.missing import marginal_game

    f, x, background = problem(p)
    return lambda: shapley_values(marginal_game(f, x, background))


def _floor(f: Callable, x: np.ndarray, background: np.ndarray) -> tuple[Callable[[], None], int]:
    """Bare forward passes over the ``2**p x N`` rows, in exactly the companion's calls.

    The companion's calls (their number and rows per call) are recorded from one real run
    and replayed on pre-built rows. Returns the replay and the total row count.
    """
    from companion.game import shapley_values
    from companion.missing import marginal_game

    sizes: list[int] = []

    def recording(X: np.ndarray) -> np.ndarray:
        sizes.append(len(X))
        return f(X)

    shapley_values(marginal_game(recording, x, background))
    p, N = x.size, background.shape[0]
    game = marginal_game(f, x, background)
    masks = np.random.default_rng(0).random((-(-max(sizes) // N), p)) < 0.5
    rows = np.ascontiguousarray(game.fill(masks).reshape(-1, p))

    def floor() -> None:
        for size in sizes:
            f(rows[:size])

    return floor, int(sum(sizes))


def run(
    quick: bool = False, runs: int | None = None, memory: bool = True, threads: int | None = 1,
    ps: tuple[int, ...] | None = None,
) -> list[dict]:
    """Time and compare the methods; one dict per p (full: 12, 14, 16; quick: 8, 10; or ``ps``).

    ``runs``: timed runs per method; by default 7 (quick: 5), and 15 where one run takes
    well under a second (p <= 12), because a few noisy runs on a shared machine move a
    short median noticeably.

    Keys: ``p``, ``background``, ``rows_evaluated``,
    ``{companion,shap,floor}_median_s`` and ``_min_s``, ``runs``, ``over_shap`` and
    ``over_floor`` (companion median divided by the other's), ``max_abs_diff`` (values), ``base_diff`` and ``blas_threads``; the largest p
    also has ``peak_rss_delta`` and ``tracemalloc_peak`` in bytes (when ``memory``).
    ``threads`` limits numpy's BLAS (see :func:`benchmarks.common.blas_threads`).
    """
    ps = ps or ((8, 10) if quick else (12, 14, 16))
    steady = steady_allocator()
    with blas_threads(threads):
        results = _run(ps, runs, quick)
    for r in results:
        r["blas_threads"], r["steady_allocator"] = threads, steady
    if memory:
        results[-1].update(peak_memory("benchmarks.exact", "companion_work", results[-1]["p"]))
    return results


def _runs(p: int, runs: int | None, quick: bool) -> int:
    """Timed runs at ``p``: the caller's, or 5 (quick), 15 (p <= 12) or 7."""
    if runs:
        return runs
    return MIN_RUNS if quick else (3 * MIN_RUNS if p <= 12 else MIN_RUNS + 2)


def _run(ps: tuple[int, ...], runs: int | None, quick: bool) -> list[dict]:
    import shap

    from companion.game import shapley_values
    from companion.missing import marginal_game

    results = []
    for p in ps:
        f, x, background = problem(p)
        explainer = shap.explainers.Exact(f, shap.maskers.Independent(background, max_samples=N_BACKGROUND))
        floor, total = _floor(f, x, background)
        methods = {
            "companion": lambda: shapley_values(marginal_game(f, x, background)),
            "shap": lambda: explainer(x[None, :], max_evals=2**p, silent=True),
            "floor": floor,
        }
        times = interleaved_times(methods, runs=_runs(p, runs, quick))
        phi = methods["companion"]()
        explanation = methods["shap"]()
        v_empty = float(marginal_game(f, x, background)(np.zeros((1, p), dtype=bool))[0])
        row: dict = {"p": p, "background": N_BACKGROUND, "rows_evaluated": total}
        for name, ts in times.items():
            s = summarise(ts)
            row[f"{name}_median_s"], row[f"{name}_min_s"], row["runs"] = s["median_s"], s["min_s"], s["runs"]
        row["over_shap"] = row["companion_median_s"] / row["shap_median_s"]
        row["over_floor"] = row["companion_median_s"] / row["floor_median_s"]
        row["max_abs_diff"] = float(np.max(np.abs(phi - explanation.values[0])))
        row["base_diff"] = abs(v_empty - float(np.ravel(explanation.base_values)[0]))
        results.append(row)
    return results


def ratios(results: list[dict]) -> list[dict]:
    """The suite's summary rows: accuracy, time against shap and the floor, memory."""
    rows = []
    for r in results:
        case = f"p={r['p']}, N={r['background']}"
        rows.append(ratio_row("exact", case, "max abs(companion - shap)", r["max_abs_diff"], DIFF_MAX))
        rows.append(ratio_row("exact", case, "time companion / shap", r["over_shap"], SHAP_TARGETS.get(r["p"])))
        floor_target = FLOOR_MAX if r["p"] >= FLOOR_FROM_P else None  # tiny p: fixed overheads dominate
        rows.append(ratio_row("exact", case, "time companion / model floor", r["over_floor"], floor_target))
        if "peak_rss_delta" in r:
            rows.append(ratio_row("exact", case, "peak memory GB (RSS delta)", r["peak_rss_delta"] / 1e9, MEMORY_MAX / 1e9))
    return rows


def table(results: list[dict]) -> str:
    """The measured times as a markdown table."""
    lines = [
        "| p | rows evaluated | companion s | shap s | floor s | companion / shap | companion / floor | max abs diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['p']} | {r['rows_evaluated']} | {r['companion_median_s']:.3f} | {r['shap_median_s']:.3f} | "
            f"{r['floor_median_s']:.3f} | {r['over_shap']:.3f} | {r['over_floor']:.3f} | {r['max_abs_diff']:.1e} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="p = 8 and 10 only")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per method (default 7, 15 at p <= 12; quick 5)")
    parser.add_argument("--threads", type=int, default=1, help="numpy BLAS threads (default 1; 0 = leave alone)")
    args = parser.parse_args(argv)
    results = run(quick=args.quick, runs=args.runs, threads=args.threads or None)
    print(table(results))
    print()
    print(markdown_table(ratios(results)))


if __name__ == "__main__":
    main()
