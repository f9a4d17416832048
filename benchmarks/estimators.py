r"""Shapley-value estimators at equal budgets, on games nobody tuned for (issue 16).

The companion's :func:`companion.kernel_shap` against
``shap.KernelExplainer(l1_reg=False)``,
``shap.PermutationExplainer`` and every Shapley-value approximator of shapiq
(``shapiq.approximator.SV_APPROXIMATORS``, plus the ``pairing_trick`` variants of those
that have one), on the four game families of :mod:`benchmarks.games` (random tanh
network, sum of unanimity games with interactions of every order, gradient-boosted
trees, linear model) at ``p`` in {8, 12, 16, 20} and budgets
``B`` in {2p+2, 200, 500, 2000} (capped at ``2**p``).

*Budget.* ``B`` counts every coalition an estimator evaluates, the empty and the full
one included (one coalition = 50 model rows for the model families). Each method gets
what its own parameter means: ``kernel_shap(n_samples=B-2)`` and
``KernelExplainer(nsamples=B-2)`` count coalitions other than the two ends;
``PermutationExplainer(max_evals=B)`` and shapiq's ``approximate(budget=B)`` count all.
The game counts what each method really asks for
(:class:`benchmarks.games.CountingGame`);
the row ``coalitions used`` of the results reports the largest count seen per method and
cell, and a method that used more than ``B`` is disqualified in that cell.

*Error.* Mean squared error ``mean_i (phi_hat_i - phi_i)^2`` against the exact values,
and
the max absolute error, over ``rows x seeds`` estimates per cell (explained row ``r``
from its own instance ``seed0 + r`` of the family: a cell measures the family, not one
network or ensemble); the table reports the
ratio of the companion's median MSE to the best peer's median MSE (below 1: the
companion is more accurate). Reporting seeds start at :data:`REPORT_SEED`; anything
tuned
on these games used the disjoint seeds of :data:`TUNING_SEED` (``tune=True``).

*Time.* Mean wall time per estimate, companion over ``shap.KernelExplainer``, both on
the
same memoised game, the time spent computing game values left out
(:attr:`benchmarks.games.CountingGame.computing`: the first method to ask for a
coalition pays for it, so without this the method order would decide the times); this
compares the estimators' own work, the model's cost being the same for all at equal
budgets. The companion runs twice: its default design (rated in
the table) and ``design="paired"``, the classic linear fit on complementary pairs,
whose error and time ratios are reported beside it (``paired_mse_ratio``,
``paired_time_ratio``): the default buys its accuracy with a surrogate fit that costs
more than ``shap``'s, the paired design is the fast one.

Run ``python -m benchmarks.estimators [--quick|--book] [--tune] [--slow] [--jobs N]
[--ps 16,20] [--json PATH] [--reuse PATH]`` (``--help`` says what each does);
``make bench`` runs it in full, on every core (about a quarter of an hour on two cores: the estimators take about 14 minutes of one core's time, building
the games and computing their values the rest). ``--reuse`` reruns the
companion's two designs and ``shap.KernelExplainer`` only and takes the other peers
from earlier results (:func:`reuse`).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from benchmarks.common import markdown_table, ratio_row
from benchmarks.games import FAMILIES, make_game

#: How a cell's times were taken (recorded in each cell; ``--reuse`` refuses to merge
#: cells timed another way).
TIMING = "estimator only: time computing game values left out"
ERROR_RATIO_MAX = 1.0
ERROR_RATIO_GOAL = 0.8
TIME_RATIO_MAX = 0.75
REPORT_SEED = 0
TUNING_SEED = 1000

FULL = {
    "families": FAMILIES,
    "ps": (8, 12, 16, 20),
    "budgets": ("2p+2", 200, 500, 2000),
    "rows": 10,
    "seeds": 4,
}
BOOK = {
    "families": ("mlp", "soum"),
    "ps": (10,),
    "budgets": ("2p+2", 200),
    "rows": 4,
    "seeds": 3,
}
QUICK = {
    "families": ("soum", "linear"),
    "ps": (8,),
    "budgets": ("2p+2", 60),
    "rows": 2,
    "seeds": 1,
}


def budget_value(B, p: int) -> int:
    """``B`` as an int: ``"2p+2"`` means ``2 p + 2``; capped at all ``2**p``."""
    value = 2 * p + 2 if B == "2p+2" else int(B)
    return min(value, 2**p)


# ----------------------------------------------------------------------------- methods
def _companion(game, B, seed, design="auto"):
    from companion import kernel_shap

    p = game.p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kernel_shap(
            game.as_model(),
            np.ones(p),
            np.zeros((1, p)),
            n_samples=B - 2,
            rng=seed,
            design=design,
        ).values


def _companion_paired(game, B, seed):
    """The classic linear fit on complementary pairs: the companion's fast design."""
    return _companion(game, B, seed, design="paired")


def _shap_kernel(game, B, seed):
    import shap

    p = game.p
    np.random.seed(seed)  # KernelExplainer samples with np.random
    explainer = shap.KernelExplainer(game.as_model(), np.zeros((1, p)))
    out = explainer.shap_values(
        np.ones((1, p)), nsamples=B - 2, l1_reg=False, silent=True
    )
    return np.asarray(out).reshape(-1)[:p]


def _shap_permutation(game, B, seed):
    import shap

    p = game.p
    if B < 2 * p + 1:
        return None  # one antithetic ordering costs 2p + 1 coalitions
    masker = shap.maskers.Independent(np.zeros((1, p)), max_samples=1)
    explainer = shap.PermutationExplainer(game.as_model(), masker, seed=seed)
    return np.asarray(explainer(np.ones((1, p)), max_evals=B, silent=True).values)[0]


def _shapiq(name: str, **options):
    def run(game, B, seed):
        from shapiq import approximator

        cls = getattr(approximator, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est = cls(n=game.p, random_state=seed, **options)
                values = est.approximate(budget=B, game=game)
            except (ValueError, ImportError):  # budget too small / optional dependency
                return None
        return np.array([values[(i,)] for i in range(game.p)])

    return run


#: The companion's own designs: the default (``"companion"``, the one the table rates)
#: and ``design="paired"``; neither counts as a peer.
COMPANION = ("companion", "companion paired")

#: shapiq's sparse-transform approximators: SPEX takes about 40 s per estimate at p = 12
#: (a thousand times the others) and could not run below a few hundred coalitions in our
#: trials; ProxySPEX needs lightgbm, which is not installed. Run them with ``--slow``.
SLOW = ("shapiq SPEX", "shapiq ProxySPEX")
#: SPEX's time per estimate at p = 12 in the trial that left it out (seconds, one core);
#: a record of that trial, not a measurement of this run.
SPEX_SECONDS_P12 = 40


def methods(slow: bool = False) -> dict:
    """Name -> ``estimate(game, B, seed)``; ``None`` from a method: "cannot run here".

    ``slow=False`` leaves out :data:`SLOW`.
    """
    out = {
        "companion": _companion,
        "companion paired": _companion_paired,
        "shap Kernel": _shap_kernel,
        "shap Permutation": _shap_permutation,
    }
    for name, pairing in [
        ("KernelSHAP", False),
        ("KernelSHAP", True),
        ("UnbiasedKernelSHAP", False),
        ("UnbiasedKernelSHAP", True),
        ("kADDSHAP", False),
        ("kADDSHAP", True),
        ("SVARM", False),
        ("SVARM", True),
        ("PermutationSamplingSV", None),
        ("StratifiedSamplingSV", None),
        ("OwenSamplingSV", None),
        ("SPEX", None),
        ("ProxySPEX", None),
    ]:
        label = f"shapiq {name}" + (" paired" if pairing else "")
        opts = {} if pairing is None else {"pairing_trick": pairing}
        if name in ("SPEX", "ProxySPEX"):
            opts = {"index": "SV", "max_order": 1}
        out[label] = _shapiq(name, **opts)
    return {k: v for k, v in out.items() if slow or k not in SLOW}


_WARM: set = set()


def _warm_up(table: dict) -> None:
    """Call every method once, untimed, on a small game (imports, JIT, caches)."""
    for name, estimate in table.items():
        if name not in _WARM:
            estimate(make_game("linear", 6, 12345, 0), 30, 0)
            _WARM.add(name)


# ----------------------------------------------------------------------------- running
def run_cell(
    family: str,
    p: int,
    B,
    rows: int,
    seeds: int,
    seed0: int,
    only: tuple[str, ...] | None = None,
    slow: bool = False,
) -> dict:
    """Every method on ``rows x seeds`` estimates of one (family, p, B) cell.

    Row ``r`` is explained row ``r`` of instance ``seed0 + r`` of the family, estimated
    with the seeds ``seed0 + 100 r + s`` for ``s < seeds``.
    """
    budget = budget_value(B, p)
    table = {k: v for k, v in methods(slow).items() if only is None or k in only}
    _warm_up(table)
    mse = {k: [] for k in table}
    maxerr = {k: [] for k in table}
    used = {k: 0 for k in table}
    seconds = {k: 0.0 for k in table}
    for r in range(rows):
        game = make_game(family, p, seed0 + r, r)
        for s in range(seeds):
            seed = seed0 + 100 * r + s
            for name, estimate in table.items():
                game.reset()
                start = time.perf_counter()
                phi = estimate(game, budget, seed)
                # the estimator's own work: the model's cost (memoised, paid by the first
                # method to ask for a coalition) left out
                seconds[name] += time.perf_counter() - start - game.computing
                used[name] = max(used[name], game.evaluated)
                if phi is None or game.evaluated > budget:
                    mse[name] = None
                    continue
                if mse[name] is not None:
                    err = np.asarray(phi, float) - game.exact
                    mse[name].append(float(np.mean(err**2)))
                    maxerr[name].append(float(np.max(np.abs(err))))
    n = rows * seeds
    out = {
        "family": family,
        "p": p,
        "B": budget,
        "B_label": str(B),
        "estimates": n,
        "seeds": seeds,
        "timing": TIMING,
        "methods": {},
    }
    for name in table:
        ok = mse[name] is not None
        out["methods"][name] = {
            "median_mse": float(np.median(mse[name])) if ok else None,
            "mse": [float(v) for v in mse[name]] if ok else None,
            "mean_mse": float(np.mean(mse[name])) if ok else None,
            "max_abs_error": float(np.max(maxerr[name])) if ok else None,
            "coalitions_used": used[name],
            "ms_per_estimate": 1e3 * seconds[name] / n,
        }
    return _summarise(out)


def _summarise(out: dict) -> dict:
    """Add the best peer, the error ratio (with its interval) and the time ratio.

    The same ratios for ``design="paired"`` (``paired_mse_ratio``,
    ``paired_time_ratio``) when it ran.
    """
    for key in ("best_peer", "mse_ratio", "mse_ratio_ci", "time_ratio",
                "paired_mse_ratio", "paired_time_ratio"):
        out.pop(key, None)
    peers = {
        k: v["median_mse"]
        for k, v in out["methods"].items()
        if k not in COMPANION and v["median_mse"] is not None
    }
    if "companion" in out["methods"] and peers:
        best = min(peers, key=peers.get)
        comp = out["methods"]["companion"]
        out["best_peer"] = best
        out["mse_ratio"] = _ratio(comp["median_mse"], peers[best])
        out["mse_ratio_ci"] = ratio_interval(
            comp["mse"], out["methods"][best]["mse"], block=out.get("seeds", 1)
        )
        shap_ms = out["methods"].get("shap Kernel", {}).get("ms_per_estimate")
        if shap_ms:
            out["time_ratio"] = comp["ms_per_estimate"] / shap_ms
        fast = out["methods"].get("companion paired")
        if fast is not None and fast["median_mse"] is not None:
            out["paired_mse_ratio"] = _ratio(fast["median_mse"], peers[best])
            if shap_ms:
                out["paired_time_ratio"] = fast["ms_per_estimate"] / shap_ms
    return out


def ratio_interval(
    ours: list[float],
    theirs: list[float],
    n_boot: int = 2000,
    level: float = 0.95,
    block: int = 1,
) -> list[float]:
    """Bootstrap interval of ``median(ours) / median(theirs)`` (paired estimates).

    The estimates come in blocks of ``block`` consecutive ones (a cell's rows, each its
    own game instance, with ``block`` seeds each); the blocks are resampled, together
    for both methods, ``n_boot`` times with a fixed seed, and the interval holds the
    central ``level`` of the resampled ratios. Resampling instances rather than single
    estimates keeps the estimates of one game together: they share its difficulty (at
    ``B = 2p + 2`` the companion's are identical). It shows whether a ratio above or
    below 1 is more than the luck of this cell's draws. (The best peer is chosen before
    resampling, so the interval leaves out the luck of that choice.)
    """
    a, b = np.asarray(ours, float), np.asarray(theirs, float)
    if block < 1 or len(a) % block or len(b) != len(a):
        raise ValueError(
            f"ours and theirs must hold the same whole number of blocks of {block}, "
            f"got {len(a)} and {len(b)} estimates"
        )
    a, b = a.reshape(-1, block), b.reshape(-1, block)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(a), size=(n_boot, len(a)))
    floor = 1e-24
    r = np.maximum(np.median(a[idx].reshape(n_boot, -1), axis=1), floor) / np.maximum(
        np.median(b[idx].reshape(n_boot, -1), axis=1), floor
    )
    tail = (1 - level) / 2
    return [float(np.quantile(r, tail)), float(np.quantile(r, 1 - tail))]


#: What ``--reuse`` runs again; every other method is taken from the earlier results.
RERUN = COMPANION + ("shap Kernel",)


def reuse(new: dict, old: list[dict]) -> dict:
    """Cell ``new`` (the methods of :data:`RERUN` only) completed from ``old`` results.

    The peers do not depend on the companion: on the same games, seeds and pinned
    library versions they give the same estimates, so a change to the companion needs
    only the companion run again (and ``shap.KernelExplainer``, whose time is the
    reference of the time ratio, on the same machine). The cell must match one of
    ``old`` in family, ``p``, budget (and its label) and number of estimates, and
    every peer run again must reproduce its earlier errors to 9 digits (else the
    earlier results are not from the same games; squared errors below 1e-20, rounding
    on the linear model, may differ between machines); the methods taken over are
    listed under ``"reused"``.
    """
    fields = ("family", "p", "B", "B_label", "estimates")
    key = tuple(new[f] for f in fields)
    match = [c for c in old if tuple(c[f] for f in fields) == key]
    if len(match) != 1:
        raise ValueError(f"no single earlier cell for {key}: run without --reuse")
    if match[0].get("timing") != new.get("timing"):
        raise ValueError(
            f"the earlier cell {key} was timed another way "
            f"({match[0].get('timing')!r}, now {new.get('timing')!r}): run without --reuse"
        )
    for name, again in new["methods"].items():
        before = match[0]["methods"].get(name)
        if name in COMPANION or before is None or again["mse"] is None:
            continue
        # equal to 9 digits, errors at rounding level (MSE below 1e-20) aside
        if before["mse"] is None or not np.allclose(
            again["mse"], before["mse"], rtol=1e-9, atol=1e-20
        ):
            raise ValueError(f"{name} does not reproduce its earlier errors at {key}")
    taken = {k: v for k, v in match[0]["methods"].items() if k not in new["methods"]}
    out = {**new, "methods": {**new["methods"], **taken}, "reused": sorted(taken)}
    return _summarise(out)


def _ratio(a: float, b: float) -> float:
    """``a / b`` with both tiny (exact answers, e.g. a linear game) counted as a tie."""
    floor = 1e-24
    return float(max(a, floor) / max(b, floor))


def run(
    quick: bool = False,
    config: dict | None = None,
    tune: bool = False,
    slow: bool = False,
    progress=None,
    jobs: int | None = None,
    only: tuple[str, ...] | None = None,
) -> list[dict]:
    """All cells of ``config`` (default: :data:`FULL`, or :data:`QUICK` with ``quick``).

    ``progress(results)`` is called after each cell (the command line writes the JSON
    there, so a long run keeps what it finished). ``jobs > 1`` runs the cells in that
    many worker processes, one thread each; ``None``: one per core for the full run,
    else one. ``only`` runs those methods alone.
    """
    if jobs is None:
        import os

        jobs = (os.cpu_count() or 1) if config is None and not quick else 1
    config = config or (QUICK if quick else FULL)
    seed0 = TUNING_SEED if tune else REPORT_SEED
    cells = [
        (fam, p, B, config["rows"], config["seeds"], seed0, only, slow)
        for fam in config["families"]
        for p in config["ps"]
        for B in config["budgets"]
    ]
    results = []
    if jobs <= 1:
        for cell in cells:
            results.append(run_cell(*cell))
            if progress is not None:
                progress(results)
        return results
    import concurrent.futures as cf
    import multiprocessing as mp

    # one thread per worker: the cells run side by side, each timed on one core
    with cf.ProcessPoolExecutor(
        jobs, mp_context=mp.get_context("spawn"), initializer=_one_thread
    ) as pool:
        futures = [pool.submit(run_cell, *cell) for cell in cells]
        done = {}
        for future in cf.as_completed(futures):
            done[futures.index(future)] = future.result()
            if progress is not None:
                progress([done[k] for k in sorted(done)])
    return [done[k] for k in range(len(cells))]


def _one_thread() -> None:
    """Pin BLAS and numba to one thread in a worker process."""
    import os

    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def ratio_table(results: list[dict]) -> str:
    """Markdown: a line per (family, p), a column per budget: companion / best peer."""
    budgets = list(dict.fromkeys(r["B_label"] for r in results))
    lines = [
        "| game | p | " + " | ".join(f"B = {b}" for b in budgets) + " |",
        "|---|---|" + "---|" * len(budgets),
    ]
    keys = list(dict.fromkeys((r["family"], r["p"]) for r in results))
    for fam, p in keys:
        cells = []
        for b in budgets:
            r = next(
                (
                    c
                    for c in results
                    if (c["family"], c["p"], c["B_label"]) == (fam, p, b)
                ),
                None,
            )
            cells.append(
                "" if r is None or "mse_ratio" not in r else f"{r['mse_ratio']:.2f}"
            )
        lines.append(f"| {fam} | {p} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(results: list[dict]) -> str:
    """The ratio table, the best peer per cell, and the count of cells at the goal."""
    ratios = [r["mse_ratio"] for r in results if "mse_ratio" in r]
    best = "\n".join(
        f"- {r['family']} p={r['p']} B={r['B']}: best peer {r.get('best_peer')}, "
        f"MSE ratio {r.get('mse_ratio', float('nan')):.2f}, "
        f"time ratio {r.get('time_ratio', float('nan')):.2f}; paired design: MSE "
        f"ratio {r.get('paired_mse_ratio', float('nan')):.2f}, time ratio "
        f"{r.get('paired_time_ratio', float('nan')):.2f}"
        for r in results
    )
    surely_behind = sum(  # cells that sample (below 2^p: else every method is exact)
        r["mse_ratio_ci"][0] > ERROR_RATIO_MAX
        for r in results
        if "mse_ratio_ci" in r and r["B"] < 2 ** r["p"]
    )
    return (
        ratio_table(results) + "\n\n" + best + "\n\n"
        f"{sum(x <= ERROR_RATIO_GOAL for x in ratios)} of {len(ratios)} cells "
        "at or below "
        f"{ERROR_RATIO_GOAL}, {sum(x <= ERROR_RATIO_MAX for x in ratios)} at or below "
        f"{ERROR_RATIO_MAX}; {surely_behind} above {ERROR_RATIO_MAX} with the whole "
        "95 % bootstrap interval of the ratio"
    )


def informative(results: list[dict]) -> list[dict]:
    """The cells that rate an estimator: a sampled budget (below ``2**p``) on a game that
    is not linear (there every method is exact up to rounding: a tie)."""
    return [c for c in results if c["B"] < 2 ** c["p"] and c["family"] != "linear"]


def instance_wins(cell: dict, peer: str) -> tuple[int, int]:
    """On how many of ``cell``'s instances the companion's median squared error over
    the instance's seeds is smaller than ``peer``'s; and the number of instances."""
    ours, theirs = (
        np.median(np.reshape(cell["methods"][name]["mse"], (-1, cell["seeds"])), axis=1)
        for name in ("companion", peer)
    )
    return int(np.sum(ours < theirs)), len(ours)


def accuracy_summary(results: list[dict]) -> dict:
    """The appendix's accuracy paragraph as data: the cells where the companion is
    furthest ahead (``"best"``) and furthest behind (``"worst"``), those where it is
    behind (ratio above 1, ``"behind"``), those whose whole interval lies above 1
    (``"surely"``), those at most 1 whose whole interval lies below 1
    (``"surely_ahead"``), the worst cell's instance wins (``"worst_wins"`` of
    ``"worst_rows"``, :func:`instance_wins` against its best peer), and under
    ``"contradictions"`` every statement of the paragraph that these results contradict
    (an empty list when the prose holds):

    * the largest lead is on trees, with a median squared error at the floor of the
      exact reference: within ten times the companion's median squared error on trees
      with every coalition, where it is exact and what is left is the disagreement
      between the tree algorithm's values and enumeration (``"floor"``);
    * the companion is behind in some cells, some on trees, and on each of those trees
      cells the best peer is shapiq's kADDSHAP (paired or not);
    * it is furthest behind at ``B = 2p + 2``;
    * there, which estimator is better depends on the instance: the companion wins on
      some instances and not on all;
    * the cells where its median squared error is at the reference's floor (within ten
      times it, ``"floor_cells"``) are all on trees;
    * at ``B = 2p + 2`` its answer does not depend on the seed (it samples nothing), so
      the worst cell's ratio rests on its instances; ``"worst_spread"`` is the largest
      over the smallest of the companion's errors there, one per instance;
    * every measured ``p`` gets the default's pair-and-triple surrogate
      (:func:`companion.fits.auto_order` is 3).
    """
    cells = informative(results)
    err = np.array([c["mse_ratio"] for c in cells])
    best, worst = cells[int(np.argmin(err))], cells[int(np.argmax(err))]
    behind = [c for c in cells if c["mse_ratio"] > 1.0]
    trees_behind = [c for c in behind if c["family"] == "trees"]
    wins, rows = instance_wins(worst, worst["best_peer"])
    full = [
        c["methods"]["companion"]["median_mse"]
        for c in results
        if c["family"] == "trees" and c["B"] >= 2 ** c["p"]
    ]
    floor = max(full) if full else 0.0
    out = {
        "floor": floor,
        "best": best,
        "worst": worst,
        "behind": behind,
        "surely": [c for c in behind if c["mse_ratio_ci"][0] > 1.0],
        "surely_ahead": [
            c for c in cells if c["mse_ratio"] <= 1.0 and c["mse_ratio_ci"][1] < 1.0
        ],
        "worst_wins": wins,
        "worst_rows": rows,
        "floor_cells": [
            c for c in cells if c["methods"]["companion"]["median_mse"] <= 10 * floor
        ],
    }
    by_row = np.array(worst["methods"]["companion"]["mse"]).reshape(-1, worst["seeds"])
    out["worst_spread"] = float(by_row.max() / max(by_row.min(), 1e-300))
    wrong = []
    if best["family"] != "trees":
        wrong.append(f"the largest lead is on {best['family']}, not on trees")
    if not best["methods"]["companion"]["median_mse"] <= 10 * floor:
        wrong.append("the largest lead's median error is above the reference's floor")
    if not trees_behind:
        wrong.append("the companion is behind in no trees cell")
    wrong += [
        f"the best peer at trees p={c['p']} B={c['B']} is {c['best_peer']}"
        for c in trees_behind
        if not c["best_peer"].startswith("shapiq kADDSHAP")
    ]
    if worst["B_label"] != "2p+2":
        wrong.append(f"the companion is furthest behind at B={worst['B']}, not 2p+2")
    if not 0 < wins < rows:
        wrong.append(f"the companion wins on {wins} of {rows} instances of the worst")
    wrong += [
        f"the companion is at the reference's floor on {c['family']} p={c['p']} "
        f"B={c['B']}, not on trees"
        for c in out["floor_cells"]
        if c["family"] != "trees"
    ]
    from companion.fits import auto_order

    wrong += [
        f"at p={p} the default fits no triple terms"
        for p in sorted({c["p"] for c in results})
        if auto_order(p) != 3
    ]
    if worst["B_label"] == "2p+2" and not np.all(by_row == by_row[:, :1]):
        wrong.append("at B=2p+2 the companion's error in the worst cell depends on the seed")
    out["contradictions"] = wrong
    return out


def time_goal_summary(results: list[dict]) -> dict:
    """The two goals (error ratio at most 1, time ratio at most :data:`TIME_RATIO_MAX`)
    for the default and ``design="paired"``: medians, counts, and under
    ``"contradictions"`` every statement of the appendix's time paragraphs that these
    results contradict (an empty list when the prose holds):

    * over the benchmark neither design meets both goals (the default's median time
      ratio above the goal, the paired design's median error ratio above 1);
    * the paired design is the fast one (median time ratio within the goal) and the
      less accurate one (fewer cells at most 1);
    * the default meets the time goal only at ``B = 2p + 2`` or with every coalition;
    * where it samples and fits (the other cells, ``"fit_cells"``; median and smallest
      ratio ``"fit_median"``, ``"fit_min"``) it is slower than ``shap`` in every cell;
    * its largest time ratio is at the largest ``(p, B)``.
    """
    goal = TIME_RATIO_MAX
    cells = informative(results)
    err = np.array([c["mse_ratio"] for c in cells])
    err_paired = np.array([c["paired_mse_ratio"] for c in cells])
    t_cells = np.array([c["time_ratio"] for c in cells])
    t_cells_paired = np.array([c["paired_time_ratio"] for c in cells])
    t_all = np.array([c["time_ratio"] for c in results])
    t_all_paired = np.array([c["paired_time_ratio"] for c in results])
    out = {
        "time_median": float(np.median(t_all)),
        "paired_time_median": float(np.median(t_all_paired)),
        "paired_time_max": float(t_all_paired.max()),
        "time_met": int(np.sum(t_all <= goal)),
        "paired_time_met": int(np.sum(t_all_paired <= goal)),
        "paired_mse_median": float(np.median(err_paired)),
        "paired_mse_max": float(err_paired.max()),
        "not_worse": int(np.sum(err <= 1.0)),
        "paired_not_worse": int(np.sum(err_paired <= 1.0)),
        "both": int(np.sum((err <= 1.0) & (t_cells <= goal))),
        "paired_both": int(np.sum((err_paired <= 1.0) & (t_cells_paired <= goal))),
    }
    wrong = []
    if out["time_median"] <= goal:
        wrong.append("the default's median time ratio is within the time goal")
    if out["paired_mse_median"] <= 1.0:
        wrong.append("the paired design's median error ratio is at most 1")
    if out["paired_time_median"] > goal:
        wrong.append("the paired design's median time ratio is above the time goal")
    if out["paired_not_worse"] >= out["not_worse"]:
        wrong.append("the paired design is at most 1 in as many cells as the default")
    # the cells where the default samples and fits (not 2p + 2, not every coalition)
    fitting = [
        c for c in results if c["B_label"] != "2p+2" and c["B"] < 2 ** c["p"]
    ]
    wrong += [
        f"the default meets the time goal at {c['family']} p={c['p']} B={c['B']}"
        for c in fitting
        if c["time_ratio"] <= goal
    ]
    t_fit = np.array([c["time_ratio"] for c in fitting])
    out.update(
        fit_cells=len(fitting),
        fit_median=float(np.median(t_fit)),
        fit_min=float(t_fit.min()),
    )
    wrong += [
        f"the default is at least as fast as shap at {c['family']} p={c['p']} "
        f"B={c['B']}, where it fits"
        for c in fitting
        if c["time_ratio"] <= 1.0
    ]
    largest = max((c["p"], c["B"]) for c in results)
    slowest = max(results, key=lambda c: c["time_ratio"])
    if (slowest["p"], slowest["B"]) != largest:
        wrong.append(
            f"the largest time ratio is at p={slowest['p']} B={slowest['B']}, not at "
            f"the largest size"
        )
    out["contradictions"] = wrong
    return out


def ratios(results: list[dict]) -> list[dict]:
    """Rows for the suite's summary: MSE and time ratio per cell."""
    rows = []
    for r in results:
        case = f"{r['family']} p={r['p']} B={r['B']}"
        if "mse_ratio" in r:
            rows.append(
                ratio_row(
                    "estimators",
                    case,
                    f"median MSE companion / {r['best_peer']}",
                    r["mse_ratio"],
                    ERROR_RATIO_MAX,
                )
            )
        if "time_ratio" in r:
            rows.append(
                ratio_row(
                    "estimators",
                    case,
                    "time companion / shap Kernel",
                    r["time_ratio"],
                    TIME_RATIO_MAX,
                )
            )
        if "paired_time_ratio" in r:  # for information: no target of its own
            rows.append(
                ratio_row(
                    "estimators",
                    case,
                    f'median MSE companion design="paired" / {r["best_peer"]}',
                    r["paired_mse_ratio"],
                    None,
                )
            )
            rows.append(
                ratio_row(
                    "estimators",
                    case,
                    'time companion design="paired" / shap Kernel',
                    r["paired_time_ratio"],
                    None,
                )
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the tables; ``--help`` lists the options (``--reuse PATH``: rerun only
    :data:`RERUN` and take the other methods from the results at PATH, :func:`reuse`)."""
    import argparse
    import json

    def feature_counts(text: str) -> tuple[int, ...]:
        try:
            ps = tuple(int(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected feature counts separated by commas, e.g. 16,20; got {text!r}"
            ) from None
        if not ps or min(ps) < 2:
            raise argparse.ArgumentTypeError(f"feature counts must be >= 2, got {text!r}")
        return ps

    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], allow_abbrev=False
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smoke-test sizes")
    sizes.add_argument("--book", action="store_true", help="the appendix's sizes")
    parser.add_argument("--tune", action="store_true", help="the tuning seeds")
    parser.add_argument("--slow", action="store_true", help="shapiq's slow methods too")
    parser.add_argument("--jobs", type=int,
                        help="worker processes (default: every core for the full run, "
                        "1 with --quick or --book)")
    parser.add_argument("--ps", type=feature_counts,
                        help="some feature counts only, e.g. 16,20")
    parser.add_argument("--json", type=Path, help="write the results here as they come")
    parser.add_argument("--reuse", type=Path,
                        help="rerun the companion and shap only; the rest from PATH")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else BOOK if args.book else FULL
    started = time.perf_counter()
    path = args.json

    seen: set = set()

    def newest(results):
        """The cell that finished last (in parallel runs, not the last in order)."""
        for r in results:
            key = (r["family"], r["p"], r["B_label"])
            if key not in seen:
                seen.add(key)
                return r
        return results[-1]

    def progress(results):
        if path is not None:
            path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        last = newest(results)
        print(
            f"{last['family']} p={last['p']} B={last['B']}: ratio "
            f"{last.get('mse_ratio', float('nan')):.2f} ({last.get('best_peer')})",
            flush=True,
        )

    jobs = args.jobs
    if jobs is None:  # the full run on every core, the small ones in this process
        import os

        jobs = (os.cpu_count() or 1) if config is FULL else 1
    if args.ps is not None:  # a subset of the feature counts, e.g. --ps 16,20
        config = {**config, "ps": args.ps}
    earlier = None
    if args.reuse is not None:  # rerun the companion (and shap's timing) only
        earlier = json.loads(args.reuse.read_text())

    def report(results):
        progress(results if earlier is None else [reuse(r, earlier) for r in results])

    results = run(
        config=config,
        tune=args.tune,
        slow=args.slow,
        progress=report,
        jobs=jobs,
        only=RERUN if earlier is not None else None,
    )
    if earlier is not None:
        results = [reuse(r, earlier) for r in results]
    print(table(results))
    print(markdown_table(ratios(results)))
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
