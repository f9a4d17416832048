"""Turn the book's MyST chapters into Jupyter notebooks for class (``make notebooks``).

Every MyST notebook in ``book/`` (the chapters ``0N_*.md`` and any appendix with code; a
jupytext Markdown file with a kernelspec) becomes:

* an *instructor* notebook: the chapter as it is, outputs stripped;
* a *student* notebook: the same, with every exercise solution (the cells between the
  ``{solution-start}`` and ``{solution-end}`` directives, and any ``{solution}`` block)
  replaced by a "Your solution here" cell.

In both, the exercise directives, which Jupyter and Colab would show as raw MyST, read as
plain text ("**Exercise: Title**", "**Solution**"). Both start with one code cell that
installs what the chapter imports and is missing (the ``companion`` package comes from the
book's repository, the rest at the versions pinned in ``requirements.txt``). Where
everything is installed, as in the book's own environment, that cell does nothing, so the
notebooks also run offline.

Outputs (``--out``, default ``_build/notebooks``)::

    instructor/NAME.ipynb   student/NAME.ipynb
    shapley-book-instructor.zip   shapley-book-student.zip

``--sync DIR`` (default ``book``) also writes the instructor notebooks next to their
sources as ``book/NAME.ipynb``. Those copies are committed: the Colab and Binder
launch buttons of the rendered book open them (Colab cannot open MyST ``.md`` files).
``--check`` writes nothing and exits 1 when a committed copy is missing or stale.

Generation is deterministic (fixed cell ids, sorted keys, fixed zip timestamps), so a
committed copy can be compared byte for byte with a fresh one.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

import jupytext
import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_parts import (  # noqa: E402  (re-exported: the tests use them from here)
    INSTALL_MARKER,
    PLACEHOLDER_CODE,
    PLACEHOLDER_TEXT,
    SOLUTION_END,
    SOLUTION_START,
    _strip_ipython,
    imported_modules,
    install_cell_source,
    pinned_requirements,
    readable_markdown,
    strip_solutions,
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_GLOB = "*.md"
VARIANTS = ("instructor", "student")
ZIP_NAME = "shapley-book-{variant}.zip"

__all__ = ["INSTALL_MARKER", "PLACEHOLDER_CODE", "PLACEHOLDER_TEXT", "SOLUTION_END", "SOLUTION_START",
           "_strip_ipython", "imported_modules", "install_cell_source", "pinned_requirements",
           "readable_markdown", "strip_solutions", "build", "chapter_sources", "notebook_text",
           "repository_url", "stale_synced_copies", "to_notebook", "write_zip"]


# ---------------------------------------------------------------- finding chapters
def is_myst_notebook(path: Path) -> bool:
    """True for a Markdown file whose front matter declares a Jupyter kernel (as conftest.py)."""
    if path.suffix != ".md":
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head and "format_name: myst" in head


def chapter_sources(book_dir: Path) -> list[Path]:
    """The notebooks of the book: ``book/*.md`` files that are MyST notebooks, by file name."""
    return sorted(p for p in Path(book_dir).glob(CHAPTER_GLOB) if is_myst_notebook(p))


def repository_url(root: Path = ROOT) -> str:
    """The book's repository (``repository.url`` in ``_config.yml``), where `companion` lives."""
    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    url = (config.get("repository") or {}).get("url")
    if not url:
        raise ValueError("_config.yml has no repository.url: the install cell needs it "
                         "to install `companion` from git")
    return url.rstrip("/")


# ---------------------------------------------------------------- notebooks
def _cell_id(index: int, cell) -> str:
    digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
    return f"c{index:03d}-{digest}"


def to_notebook(md_path: Path, variant: str = "instructor", *, root: Path = ROOT,
                repo_url: str | None = None) -> nbformat.NotebookNode:
    """The chapter `md_path` as an nbformat 4 notebook (no outputs), for `variant`."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    md_path = Path(md_path)
    source = jupytext.read(md_path)
    cells = list(source.cells)
    if variant == "student":
        cells, _ = strip_solutions(cells)
    code = [c.source for c in source.cells if c.cell_type == "code"]
    try:
        chapter = md_path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        chapter = md_path.name
    install = nbformat.v4.new_code_cell(install_cell_source(
        imported_modules(code), pinned_requirements(root), repo_url or repository_url(root), chapter))

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(source.metadata.get("kernelspec")
                           or {"display_name": "Python 3", "language": "python", "name": "python3"}),
        "language_info": {"name": "python"},
    }
    for index, cell in enumerate([install, *cells]):
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source, metadata=dict(cell.get("metadata", {})))
        else:
            text = readable_markdown(cell.source)
            if not text.strip():
                continue  # a cell that held only a directive, e.g. {solution-end}
            new = nbformat.v4.new_markdown_cell(text, metadata=dict(cell.get("metadata", {})))
        new.id = _cell_id(index, new)
        nb.cells.append(new)
    nbformat.validate(nb)
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as the exact text written to disk."""
    return nbformat.writes(nb, version=4) + "\n"


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def write_zip(files: list[Path], zip_path: Path, folder: str) -> Path:
    """Zip `files` under `folder/` with fixed timestamps (same input, same bytes)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{path.name}", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return zip_path


def build(out_dir: Path, *, book_dir: Path = ROOT / "book", root: Path = ROOT,
          sync_dir: Path | None = None) -> dict[str, list[Path]]:
    """Write both variants of every chapter and their zips; optionally refresh synced copies.

    Returns {"instructor": [...], "student": [...], "zips": [...], "synced": [changed copies]}.
    """
    chapters = chapter_sources(book_dir)
    if not chapters:
        raise ValueError(f"no chapters (MyST notebooks {CHAPTER_GLOB}) in {book_dir}")
    repo_url = repository_url(root)
    out_dir = Path(out_dir)
    result: dict[str, list[Path]] = {"instructor": [], "student": [], "zips": [], "synced": []}
    for variant in VARIANTS:
        folder = out_dir / variant
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.ipynb"):
            stale.unlink()
        for md in chapters:
            nb = to_notebook(md, variant, root=root, repo_url=repo_url)
            path = folder / f"{md.stem}.ipynb"
            path.write_text(notebook_text(nb), encoding="utf-8")
            result[variant].append(path)
            if variant == "instructor" and sync_dir is not None:
                if _write_if_changed(Path(sync_dir) / path.name, notebook_text(nb)):
                    result["synced"].append(Path(sync_dir) / path.name)
        result["zips"].append(write_zip(result[variant], out_dir / ZIP_NAME.format(variant=variant),
                                        f"shapley-book-{variant}"))
    return result


def stale_synced_copies(book_dir: Path = ROOT / "book", root: Path = ROOT) -> list[str]:
    """Problems with the committed ``book/*.ipynb`` copies: missing, stale or orphaned."""
    problems = []
    chapters = chapter_sources(book_dir)
    repo_url = repository_url(root)
    for md in chapters:
        copy_path = md.with_suffix(".ipynb")
        expected = notebook_text(to_notebook(md, "instructor", root=root, repo_url=repo_url))
        if not copy_path.exists():
            problems.append(f"{copy_path.name} is missing")
        elif copy_path.read_text(encoding="utf-8") != expected:
            problems.append(f"{copy_path.name} is out of date with {md.name}")
    stems = {md.stem for md in chapters}
    for orphan in sorted(Path(book_dir).glob("*.ipynb")):
        if orphan.stem not in stems:
            problems.append(f"{orphan.name} has no chapter {orphan.stem}.md")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "notebooks")
    parser.add_argument("--book", type=Path, default=ROOT / "book")
    parser.add_argument("--sync", type=Path, default=None,
                        help="also write the instructor notebooks here (the committed copies)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed book/*.ipynb is missing or stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_synced_copies(args.book)
        for problem in problems:
            print(f"STALE: {problem}")
        if problems:
            print("Run `make notebooks` and commit the book/*.ipynb files.")
        return 1 if problems else 0
    result = build(args.out, book_dir=args.book, sync_dir=args.sync)
    for variant in VARIANTS:
        print(f"{variant}: {len(result[variant])} notebooks in {args.out / variant}")
    for path in result["zips"]:
        print(f"zip: {path}")
    for path in result["synced"]:
        print(f"refreshed: {path} (commit it: the Colab and Binder buttons open it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
