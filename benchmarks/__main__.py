"""The benchmark suite: ``python -m benchmarks [--quick] [--only NAME ...] [--out PATH]``.

Runs every benchmark of the book side by side with the libraries it is checked against:

* ``exact``: exact enumeration against ``shap.explainers.Exact`` and the model's floor;
* ``permutation``: antithetic permutation sampling against ``shap.PermutationExplainer``;
* ``kernel``: the companion's Kernel SHAP against ``shap.KernelExplainer`` (chapter 4);
* ``estimators``: Kernel SHAP against shap and every shapiq approximator on untuned games;
* ``gradient``: Gradient SHAP against captum, shap and a bare forward+backward (chapter 5).

Each benchmark module exposes ``run(quick: bool = False) -> list[dict]``; the suite turns
its rows into *ratios* (companion against the other method, with the issue's target)
through the module's ``ratios(results)`` when it has one, or an adapter below. It prints
each module's own table as it goes, then ONE markdown table of all ratios, and writes
everything (environment, raw rows, ratios) to ``_build/bench/results.json``.

Exit status: 1 if a benchmark raised, or (full run only) if a target was missed; 0
otherwise. ``--quick`` is a smoke run at reduced sizes: its ratios are printed, but the
targets are set for the full sizes, so a quick run never fails on them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, environment, markdown_table, ratio_row, write_json

BENCHMARKS = ("exact", "permutation", "kernel", "estimators", "gradient")
DEFAULT_OUT = ROOT / "_build" / "bench" / "results.json"


def _kernel_ratios(module: ModuleType, results: list[dict]) -> list[dict]:
    """Chapter 4's rows (p, B, err_ratio, time_ratio): error and time against shap.KernelExplainer."""
    err_max = getattr(module, "ERROR_RATIO_MAX", None)
    time_max = getattr(module, "TIME_RATIO_MAX", None)
    rows = []
    for r in results:
        case = f"p={r.get('p')}, budget {r.get('B', r.get('budget'))}"
        rows.append(ratio_row("kernel", case, "median rel. error companion / shap", r.get("err_ratio"), err_max))
        rows.append(ratio_row("kernel", case, "time companion / shap", r.get("time_ratio"), time_max))
    return rows


def _gradient_ratios(module: ModuleType, results: list[dict]) -> list[dict]:
    """Chapter 5's rows (one per method and size): companion time over each method's."""
    targets = getattr(module, "TARGETS", {})
    rows = []
    for r in results:
        if r.get("method") == "companion":
            continue
        case = f"{r.get('rows')} rows, {r.get('device', 'cpu')}"
        rows.append(ratio_row(
            "gradient", case, f"time companion / {r['method']}", r.get("companion_over_method"),
            targets.get(r["method"]),
        ))
        comp = next((c for c in results if c.get("method") == "companion" and c.get("rows") == r.get("rows")), None)
        if comp and comp.get("rmse_vs_reference") is not None and r.get("rmse_vs_reference"):
            rows.append(ratio_row(
                "gradient", case, f"RMSE companion / {r['method']}",
                comp["rmse_vs_reference"] / r["rmse_vs_reference"], None,
            ))
    return rows


ADAPTERS = {"kernel": _kernel_ratios, "gradient": _gradient_ratios}


def summary_rows(name: str, module: ModuleType, results: list[dict]) -> list[dict]:
    """A benchmark's ratio rows: its own ``ratios()``, else the adapter, else a pointer."""
    if hasattr(module, "ratios"):
        return module.ratios(results)
    if name in ADAPTERS:
        return ADAPTERS[name](module, results)
    return [ratio_row(name, "", "see results.json", None, None, note="no ratios")]


def run_one(name: str, quick: bool) -> dict:
    """Import ``benchmarks.<name>`` and run it; never raises (errors are recorded)."""
    entry: dict = {"name": name, "results": [], "ratios": [], "error": None, "seconds": None}
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"benchmarks.{name}":
            entry["error"] = "missing"
            entry["ratios"] = [ratio_row(name, "", "benchmark not present", None, None, note="missing")]
            return entry
        raise
    try:
        entry["results"] = module.run(quick=quick)
        entry["ratios"] = summary_rows(name, module, entry["results"])
        if hasattr(module, "table"):
            entry["table"] = module.table(entry["results"])
    except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
        entry["error"] = traceback.format_exc()
        entry["ratios"] = [ratio_row(name, "", "benchmark raised", None, None, note="error, see results.json")]
    entry["seconds"] = time.perf_counter() - start
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes: a smoke run in about a minute or two")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=None, help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)

    names = args.only or list(BENCHMARKS)
    payload: dict = {"environment": environment(), "quick": args.quick, "benchmarks": {}, "ratios": []}
    for name in names:
        print(f"## {name}", flush=True)
        entry = run_one(name, args.quick)
        payload["benchmarks"][name] = entry
        payload["ratios"].extend(entry["ratios"])
        if entry["error"] == "missing":
            print("(not present)\n", flush=True)
        elif entry["error"]:
            print(entry["error"], file=sys.stderr)
        else:
            print(entry.get("table", ""), f"\n({entry['seconds']:.0f} s)\n", flush=True)
        write_json(args.out, payload)  # after each benchmark: a crash later keeps the rest

    env = payload["environment"]
    print(f"## Summary ({'quick' if args.quick else 'full'} run, {env['time']}, {env['cpu_count']} CPUs, "
          f"load {env.get('load_average_1min', float('nan')):.1f} at start)\n")
    print(markdown_table(payload["ratios"]))
    missed = [r for r in payload["ratios"] if r["met"] is False]
    errors = [n for n, e in payload["benchmarks"].items() if e["error"] not in (None, "missing")]
    met = sum(r["met"] is True for r in payload["ratios"])
    print(f"\n{met} targets met, {len(missed)} missed; errors in: {', '.join(errors) or 'none'}. "
          f"Results: {args.out}")
    return 1 if errors or (missed and not args.quick) else 0


if __name__ == "__main__":
    sys.exit(main())
