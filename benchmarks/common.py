"""Shared helpers of the benchmark suite: fair timing, peak memory, a small test model.

Timing rules (every benchmark follows them, so ratios compare like with like):

1. *Warm-up first*: each method runs once untimed (imports, JIT compilation such as
   ``shap``'s numba kernels, allocator and BLAS start-up are paid there, not in the timings).
2. *Interleaved*: the timed runs go round-robin over the methods, in an order that rotates
   from one round to the next, so a burst of load on a shared machine hits every method
   alike instead of the one that happened to run during it.
3. *Median of at least 5 runs* per method (:data:`MIN_RUNS`); the minimum is kept too.

The numpy benchmarks also run with one BLAS thread (:func:`blas_threads`) and a steady
memory allocator (:func:`steady_allocator`): both remove large, random effects of the
machine's state that have nothing to do with the methods compared.

Peak memory is measured in a fresh subprocess (:func:`peak_memory`): the resident set
size high-water mark (``VmHWM``, reset just before the call) minus the resident set size
just before it, so imports and set-up do not count; ``tracemalloc``'s peak (numpy
registers its array buffers with it) is reported alongside.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

__all__ = [
    "MIN_RUNS",
    "ROOT",
    "blas_threads",
    "steady_allocator",
    "interleaved_times",
    "summarise",
    "peak_memory",
    "mlp",
    "environment",
    "ratio_row",
    "markdown_table",
]

#: Fewest timed runs per method: the issue asks for the median of at least five.
MIN_RUNS = 5
#: Repository root (benchmarks/ lives directly under it).
ROOT = Path(__file__).resolve().parent.parent


def blas_threads(n: int | None = 1):
    """Context manager limiting numpy's BLAS to ``n`` threads (``None``: leave it alone).

    The numpy benchmarks run with one BLAS thread by default: on a shared machine,
    multi-threaded BLAS calls of a few thousand rows spend most of their time waiting for
    busy cores (we measured 10 to 20 times slower calls under load), which buries the
    differences between methods in noise. Every method calls the same model, so the limit
    applies to all of them alike.
    """
    from contextlib import nullcontext

    if n is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n, user_api="blas")


def steady_allocator() -> bool:
    """Keep freed memory in the process (glibc ``mallopt``); returns whether it applied.

    By default glibc hands large freed blocks back to the operating system and takes them
    again on the next allocation, paying a page fault per 4 KiB. Whether a given numpy
    temporary takes that path depends on the allocator's history, so the *same* model call
    on the *same* rows was measured at 1.9 ms and at 6.7 ms in one process, depending on
    what had been allocated before. Fixing the mmap threshold (32 MiB) and disabling
    trimming removes that lottery for every method alike. Call it once, before timing;
    it is a no-op (returns False) where glibc is not the C library. Peak-memory
    measurements run in a fresh subprocess without it.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(M_TRIM_THRESHOLD, 1 << 30))


def interleaved_times(
    methods: Mapping[str, Callable[[], object]], runs: int = MIN_RUNS, warmup: bool = True
) -> dict[str, list[float]]:
    """Wall times (seconds) of ``runs`` interleaved calls of every method.

    ``methods`` maps a name to a callable taking no argument. With ``warmup`` each is called
    once untimed first. Round ``r`` calls the methods starting from the ``r``-th (a rotation
    of the dict order), so no method always runs first or last.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    names = list(methods)
    if warmup:
        for name in names:
            methods[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(runs):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            methods[name]()
            times[name].append(time.perf_counter() - start)
    return times


def summarise(times: list[float]) -> dict[str, float | int]:
    """Median, minimum and count of a list of wall times."""
    return {"median_s": statistics.median(times), "min_s": min(times), "runs": len(times)}


_CHILD = r"""
import json, sys, tracemalloc, importlib
sys.path.insert(0, {root!r})
def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024  # kB
module = importlib.import_module({module!r})
work = getattr(module, {function!r})(*{args!r})   # set-up: returns the call to measure
if {traced!r}:
    tracemalloc.start()
    work()
    print(json.dumps({{"tracemalloc_peak": tracemalloc.get_traced_memory()[1]}}))
else:
    try:  # reset the high-water mark so that set-up does not count (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    before = status("VmRSS")
    work()
    print(json.dumps({{"peak_rss_delta": max(0, status("VmHWM") - before), "hwm_reset": reset}}))
"""


def _child(module: str, function: str, args: tuple, traced: bool, timeout: float) -> dict[str, int]:
    code = _CHILD.format(root=str(ROOT), module=module, function=function, args=args, traced=traced)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"memory measurement failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_memory(module: str, function: str, *args: object, timeout: float = 900) -> dict[str, int]:
    """Peak memory of one call, measured in fresh Python processes.

    ``module.function(*args)`` runs first as set-up and must return a callable of no
    arguments; that callable is the measured work. Returns bytes:

    * ``peak_rss_delta``: ``ru_maxrss`` after the work minus the resident set size just
      before it (everything the process touched: numpy buffers, BLAS workspace, Python
      objects). If set-up peaked higher than the work, this over-states the work's peak,
      never under-states it.
    * ``tracemalloc_peak``: the largest total of traced allocations during the work (numpy
      registers its array buffers with ``tracemalloc``), measured in a second process
      because tracing costs memory of its own.

    Linux only (reads ``/proc/self/status``).
    """
    out = _child(module, function, tuple(args), False, timeout)
    out.update(_child(module, function, tuple(args), True, timeout))
    return out


def mlp(p: int, hidden: int = 32, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """A float64 numpy MLP ``f(X) = tanh(X W1 + b1) w2 + b2``, ``p -> hidden -> 1``.

    Weights are drawn from ``default_rng(seed)`` (scaled by ``1/sqrt(fan-in)``), so every
    library that calls ``f`` sees bit-identical outputs for identical inputs: differences
    between explainers are then only the order of their sums (or their sampling).
    """
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((p, hidden)) / np.sqrt(p)
    b1 = 0.5 * rng.standard_normal(hidden)
    w2 = rng.standard_normal(hidden) / np.sqrt(hidden)
    b2 = float(rng.standard_normal())

    def f(X: np.ndarray) -> np.ndarray:
        return np.tanh(np.asarray(X, dtype=float) @ W1 + b1) @ w2 + b2

    return f


def environment() -> dict[str, object]:
    """Versions, CPU count and load: the context without which a timing means little."""
    import shap

    info: dict[str, object] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "shap": shap.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    try:
        info["load_average_1min"] = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on every platform
        pass
    for name in ("torch", "captum"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:  # pragma: no cover - both are in requirements.txt
            pass
    return info


def ratio_row(
    benchmark: str, case: str, ratio: str, value: float | None, target: float | None,
    *, smaller_is_better: bool = True, note: str = "",
) -> dict[str, object]:
    """One line of the suite's summary: a measured ratio, its target and whether it is met.

    ``met`` is ``value <= target`` (or ``>=`` when ``smaller_is_better`` is false); it is
    ``None`` when there is no target or no value.
    """
    met = None
    if value is not None and target is not None:
        met = bool(value <= target) if smaller_is_better else bool(value >= target)
    return {
        "benchmark": benchmark, "case": case, "ratio": ratio,
        "value": None if value is None else float(value),
        "target": None if target is None else float(target),
        "op": "<=" if smaller_is_better else ">=", "met": met, "note": note,
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e4):
        return f"{value:.2e}"
    return f"{value:.3f}"


def markdown_table(rows: list[dict[str, object]]) -> str:
    """The summary rows of :func:`ratio_row` as one markdown table."""
    lines = ["| benchmark | case | ratio | value | target | met |", "|---|---|---|---|---|---|"]
    for r in rows:
        target = "" if r["target"] is None else f"{r['op']} {_fmt(r['target'])}"
        met = {True: "yes", False: "**NO**", None: ""}[r["met"]]
        value = _fmt(r["value"]) if r["value"] is not None else (r.get("note") or "n/a")
        lines.append(f"| {r['benchmark']} | {r['case']} | {r['ratio']} | {value} | {target} | {met} |")
    return "\n".join(lines)


def write_json(path: Path, payload: object) -> None:
    """Write ``payload`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n", encoding="utf-8")
