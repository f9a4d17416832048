"""The book's executed chapters: MyST-NB's jupyter-cache in ``_build/.jupyter_cache``.

``make book`` runs each chapter once and keeps the run there, keyed by a hash of the
chapter's code only. A change to the companion's source, the pinned requirements or a
file an appendix reads (`RUN_INPUTS`) changes the numbers without changing that hash,
so jupyter-cache would hand back a run made with the old files. Two things guard
against that:

* `prune` (``python tools/site_cache.py``, run by ``make book`` and by the browser
  test's build before Jupyter Book starts) removes every run that may have used other
  files than today's (all runs when the files' digest changed since the last prune,
  else those begun before the newest file's last change) and notes the digest, so the
  build runs those chapters again;
* `fresh_runs` yields only runs begun after that change, while the digest still holds;
  the notebook export (tools/make_notebooks.py, `site_run`) takes its outputs from
  them instead of running a chapter the build has just run.
"""

from __future__ import annotations

import datetime
import hashlib
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
    """The modification time (seconds since the epoch) of the newest input file."""
    return max((p.stat().st_mtime for p in input_files(root)), default=0.0)


def inputs_digest(root: Path = ROOT) -> str:
    """A hash of the Python version and of every `RUN_INPUTS` file's name and bytes."""
    digest = hashlib.sha256(sys.version.encode())
    for path in input_files(root):
        name = path.relative_to(root).as_posix()
        digest.update(b"\0file\0" + name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _folder(root: Path, folder: Path | None) -> Path:
    return Path(root) / SITE_CACHE if folder is None else Path(folder)


def digest_file(root: Path = ROOT, folder: Path | None = None) -> Path:
    """Where `prune` notes `inputs_digest`: next to the cache, which it leaves alone."""
    where = _folder(root, folder)
    return where.with_name(where.name + ".inputs")


def inputs_noted(root: Path = ROOT, folder: Path | None = None) -> bool:
    """True when `prune` last noted today's `inputs_digest` (the build ran after it)."""
    stamp = digest_file(root, folder)
    return stamp.is_file() and stamp.read_text() == inputs_digest(root)


def _started(record) -> float:
    """When the run began: jupyter-cache stamps a record (in UTC; SQLite gives it back
    naive) when the run is stored, after ``execution_seconds``."""
    created = record.created
    if created.tzinfo is None:
        created = created.replace(tzinfo=datetime.UTC)
    seconds = (record.data or {}).get("execution_seconds", 0.0)
    return created.timestamp() - float(seconds)


def _cache(root: Path, folder: Path | None):
    if not (_folder(root, folder) / "global.db").is_file():
        return None
    from jupyter_cache import get_cache

    return get_cache(_folder(root, folder))


def fresh_runs(md: Path, root: Path = ROOT, folder: Path | None = None) -> Iterator:
    """The executed notebooks of chapter `md` made with today's inputs, newest first.

    A run counts when `prune` last saw the inputs as they are now (`inputs_digest`) and
    the run began after the newest input's last change. A record that cannot be read
    (a build writing it right now) is passed over.
    """
    cache = _cache(root, folder)
    if cache is None or not inputs_noted(root, folder):
        return
    since = newest_input(root)
    chapter = Path(md).resolve()
    try:
        records = [r for r in cache.list_cache_records()
                   if Path(r.uri).resolve() == chapter]
    except Exception:  # noqa: BLE001  (the database in use by a build: run the chapter)
        return
    for record in sorted(records, key=_started, reverse=True):
        if _started(record) <= since:
            continue
        try:
            nb = cache.get_cache_bundle(record.pk).nb
        except Exception:  # noqa: BLE001  (half written, or locked: not a run to take)
            continue
        yield nb


def prune(root: Path = ROOT, folder: Path | None = None) -> list[str]:
    """Remove every cached run that may have used other inputs than today's: all of
    them when the inputs' digest changed since the last prune, else those begun before
    the newest input's last change; note the digest. Return the chapters removed."""
    current = inputs_digest(root)
    stamp = digest_file(root, folder)
    changed = not stamp.is_file() or stamp.read_text() != current
    cache = _cache(root, folder)
    removed = []
    if cache is not None:
        from jupyter_cache.cache.db import NbCacheRecord

        since = newest_input(root)
        for record in cache.list_cache_records():
            if changed or _started(record) <= since:
                try:
                    cache.remove_cache(record.pk)
                except KeyError:  # its notebook file is gone already
                    NbCacheRecord.remove_records([record.pk], cache.db)
                removed.append(Path(record.uri).name)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)
    return removed


if __name__ == "__main__":
    stale = prune()
    if stale:
        print("site cache: runs that may have used other files than today's removed:",
              ", ".join(sorted(set(stale))), file=sys.stderr)
