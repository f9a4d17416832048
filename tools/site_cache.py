"""The book's executed chapters: MyST-NB's jupyter-cache in ``_build/.jupyter_cache``.

``make book`` runs each chapter once and keeps the run there, keyed by a hash of the
chapter's code only. A change to the companion's source, the pinned requirements or a
file an appendix reads (`RUN_INPUTS`) changes the numbers without changing that hash,
so jupyter-cache would hand back a run made with the old files. Two things guard against that:

* `prune` (``python tools/site_cache.py``, run by ``make book`` and by the browser
  test's build before Jupyter Book starts) removes every run older than the newest of
  those files, so the build runs those chapters again;
* `fresh_runs` yields only runs made after that change; the notebook export
  (tools/make_notebooks.py, `site_run`) takes its outputs from them instead of running a
  chapter the build has just run.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Where MyST-NB keeps its runs (``execute_notebooks: cache`` in _config.yml).
SITE_CACHE = Path("_build") / ".jupyter_cache"
#: The files whose change makes a run stale although the chapter's code is the same:
#: the companion, the pinned environment, and what the appendices read (the benchmarks'
#: code and committed results, the calibration test whose band they quote).
RUN_INPUTS = ("companion/**/*.py", "requirements.txt", "constraints.txt",
              "benchmarks/**/*.py", "benchmarks/results/*.json", "tests/test_kernel.py")


def input_files(root: Path = ROOT) -> list[Path]:
    """The `RUN_INPUTS` files of `root`, sorted."""
    return sorted({p for pattern in RUN_INPUTS for p in Path(root).glob(pattern)
                   if p.is_file() and "__pycache__" not in p.parts})


def newest_input(root: Path = ROOT) -> float:
    """The modification time (seconds since the epoch) of the newest `RUN_INPUTS` file."""
    return max((p.stat().st_mtime for p in input_files(root)), default=0.0)


def _created(record) -> float:
    created = record.created  # jupyter-cache stores UTC; SQLite gives it back naive
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.UTC)
    return created.timestamp()


def _cache(root: Path, folder: Path | None):
    folder = Path(root) / SITE_CACHE if folder is None else Path(folder)
    if not (folder / "global.db").is_file():
        return None
    from jupyter_cache import get_cache

    return get_cache(folder)


def fresh_runs(md: Path, root: Path = ROOT, folder: Path | None = None) -> Iterator:
    """The executed notebooks of chapter `md` made after `newest_input`, newest first."""
    cache = _cache(root, folder)
    if cache is None:
        return
    since = newest_input(root)
    records = [r for r in cache.list_cache_records() if r.uri == str(Path(md).resolve())]
    for record in sorted(records, key=_created, reverse=True):
        if _created(record) > since:
            yield cache.get_cache_bundle(record.pk).nb


def prune(root: Path = ROOT, folder: Path | None = None) -> list[str]:
    """Remove every cached run older than `newest_input`; return the chapters they ran."""
    cache = _cache(root, folder)
    if cache is None:
        return []
    since = newest_input(root)
    removed = []
    for record in cache.list_cache_records():
        if _created(record) <= since:
            cache.remove_cache(record.pk)
            removed.append(Path(record.uri).name)
    return removed


if __name__ == "__main__":
    stale = prune()
    if stale:
        print("site cache: runs older than a file they read removed:",
              ", ".join(sorted(set(stale))), file=sys.stderr)
