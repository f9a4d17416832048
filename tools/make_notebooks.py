"""Turn the book's MyST chapters into the notebooks a class runs (``make notebooks``).

Every MyST notebook in ``book/`` (the chapters ``0N_*.md`` and the appendix: a jupytext
Markdown file with a kernelspec) is run once, top to bottom, in a fresh kernel of this
environment (nbclient), and becomes two notebooks that read like the book in plain
Jupyter, JupyterLab, VS Code or Colab:

* an *instructor* notebook, executed: every output of that run (figures, tables,
  printed checks) is in it;
* a *student* notebook, not executed: every exercise solution (the cells between the
  ``{solution-start}`` and ``{solution-end}`` directives, and any ``{solution}`` block)
  replaced by a "Your solution here" cell; a code cell tagged ``student-check`` (hidden on
  the site with ``remove-cell``) is kept here, where the solution was, and dropped from
  the instructor notebook.

In both, the MyST the site renders becomes Markdown: every ``{glue:text}`` number is the
value that run computed, formatted as on the site; each glued figure is an output of the
cell that makes it (the setup cell defines a ``glue`` that shows figures, so they appear
again when a student re-runs the cell) and its caption follows it as text; citations
read "(Shapley 1953)" with a reference list at the end; theorems, proofs, exercises,
solutions and admonitions are bold-titled Markdown; ``{doc}``, ``{ref}`` and ``{term}``
links point to the rendered book; the MathJax macros of ``_config.yml`` are expanded.
Both start with a setup cell that installs what the chapter imports and is missing
(``companion`` from the ``companion-src`` folder of the course zip, else from the book's
repository, the rest at the versions of ``requirements.txt``) and defines ``glue``.

Outputs (``--out``, default ``_build/notebooks``)::

    instructor/NAME.ipynb   student/NAME.ipynb
    shapley-book-instructor.zip   shapley-book-student.zip

Each zip holds its notebooks, ``companion-src/`` (the package's source: ``pip install
./companion-src``) and a README. ``--sync DIR`` also writes the instructor notebooks as
``DIR/NAME.ipynb`` (``book/``, committed: the Colab and Binder buttons of the rendered
book open them); a copy is rewritten only when more than its numbers changed.
``--check`` writes nothing and exits 1 when a committed copy is missing or stale.

Runs are cached in ``OUT/.executed`` by a hash of the code, the companion's source, the
pinned requirements and the files the appendices read (tools/site_cache.py,
`RUN_INPUTS`), so a second ``make notebooks`` (or the tests after it) does not run the
chapters again. A chapter that ``make book`` has already run (MyST-NB's jupyter-cache in
``_build/.jupyter_cache``: the same code, run after the last change of those files) is not
run again: its outputs are taken from there (`site_run`). With the same runs, the output
is byte for byte the same (fixed cell ids, sorted keys, fixed zip timestamps).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_parts import (  # noqa: E402  (re-exported: the tests use them from here)
    COMPANION_SRC,
    INSTALL_MARKER,
    PLACEHOLDER_CODE,
    PLACEHOLDER_TEXT,
    RECORD_GLUE,
    SOLUTION_END,
    SOLUTION_START,
    STUDENT_CHECK,
    BookContext,
    MySTConverter,
    _normalise as notebook_parts_normalise,
    _strip_ipython,
    book_targets,
    code_for_notebook,
    imported_modules,
    install_cell_source,
    instructor_cells,
    is_student_check,
    myst_leftovers,
    pinned_requirements,
    read_bibliography,
    readable_markdown,
    reference_list,
    requirement_for,
    strip_solutions,
)
from site_cache import fresh_runs, inputs_digest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_GLOB = "*.md"
VARIANTS = ("instructor", "student")
ZIP_NAME = "shapley-book-{variant}.zip"
ZIP_TIME = (2026, 1, 1, 0, 0, 0)
CELL_TIMEOUT = 900

__all__ = ["COMPANION_SRC", "INSTALL_MARKER", "PLACEHOLDER_CODE", "PLACEHOLDER_TEXT",
           "SOLUTION_END", "SOLUTION_START", "STUDENT_CHECK", "ChapterRun", "_strip_ipython",
           "book_context", "build", "chapter_sources", "execute_chapter", "imported_modules",
           "install_cell_source", "myst_leftovers", "notebook_parts_normalise", "requirement_for", "notebook_text", "pinned_requirements",
           "readable_markdown", "repository_url", "site_run", "site_url", "stale_synced_copies",
           "strip_solutions", "to_notebook", "write_zip"]


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


def _config(root: Path) -> dict:
    return yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))


def repository_url(root: Path = ROOT) -> str:
    """The book's repository (``repository.url`` in ``_config.yml``), where `companion` lives."""
    url = (_config(root).get("repository") or {}).get("url")
    if not url:
        raise ValueError("_config.yml has no repository.url: the install cell needs it "
                         "to install `companion` from git")
    return url.rstrip("/")


def site_url(root: Path = ROOT) -> str:
    """The rendered book: ``html.baseurl`` of ``_config.yml``, else the repository's GitHub
    Pages address (``https://github.com/OWNER/NAME`` -> ``https://OWNER.github.io/NAME``)."""
    base = ((_config(root).get("html") or {}).get("baseurl") or "").rstrip("/")
    if base:
        return base
    match = re.match(r"https://github\.com/([^/]+)/([^/]+)$", repository_url(root))
    if not match:
        raise ValueError("set html.baseurl in _config.yml: the notebooks link to the rendered "
                         "book, and its address cannot be derived from repository.url")
    return f"https://{match.group(1)}.github.io/{match.group(2)}"


def math_macros(root: Path = ROOT) -> dict[str, str]:
    """The MathJax macros of ``_config.yml`` (``sphinx.config.mathjax3_config.tex.macros``)."""
    config = ((_config(root).get("sphinx") or {}).get("config") or {})
    macros = ((config.get("mathjax3_config") or {}).get("tex") or {}).get("macros") or {}
    out = {}
    for name, value in macros.items():
        if not isinstance(value, str):
            raise ValueError(f"math macro \\{name}: only macros without arguments are expanded")
        out[name] = value
    return out


def book_context(md: Path, root: Path = ROOT, glue: dict | None = None) -> BookContext:
    """What converting `md`'s MyST needs: glued values, the book's targets, references."""
    labels, titles = book_targets(Path(root) / "book", root)
    try:
        document = Path(md).resolve().relative_to(Path(root).resolve()).with_suffix("").as_posix()
    except ValueError:
        document = Path(md).stem
    bib = Path(root) / "book" / "references.bib"
    return BookContext(document=document, glue=dict(glue or {}), labels=labels, titles=titles,
                       site=site_url(root), references=read_bibliography(bib) if bib.exists() else {},
                       macros=math_macros(root))


class ChapterError(RuntimeError):
    """A chapter failed to run or to convert (a failing cell, a glued name that is missing)."""


# ---------------------------------------------------------------- running a chapter
@dataclass
class ChapterRun:
    """One run of a chapter's instructor code: outputs per code cell, and the glued values.

    ``outputs[k]`` and ``counts[k]`` belong to the k-th code cell of the instructor
    notebook after the setup cell; ``glue`` maps a glued name to its mime bundle and
    ``glued_in`` to the index k of the cell that glued it.
    """

    outputs: list
    counts: list
    glue: dict
    glued_in: dict
    seconds: float = 0.0
    text: str | None = None  # the chapter's MyST as it was run
    source: str = "kernel"  # where the outputs came from: "kernel", "cache" or "site"


def _read(md: Path, text: str | None = None):
    """The chapter as a notebook: from `text` (its MyST as run) when given, else the file."""
    if text is None:
        return jupytext.read(md)
    return jupytext.reads(text, fmt="md:myst")


def _chapter_code(md: Path, root: Path, text: str | None = None) -> tuple[list, str]:
    """(the instructor's code cells of `md`, the setup cell's source)."""
    source = _read(md, text)
    cells = [c for c in instructor_cells(source.cells) if c.cell_type == "code"]
    all_code = [code_for_notebook(c.source) for c in source.cells if c.cell_type == "code"]
    try:
        chapter = Path(md).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        chapter = Path(md).name
    # The repository's own folders (benchmarks/) are no distributions pip could install:
    # a chapter that imports one runs in a checkout of the repository only.
    modules = [m for m in imported_modules(all_code)
               if m == "companion" or not is_repository_module(m, root)]
    setup = install_cell_source(modules, pinned_requirements(root), repository_url(root), chapter)
    return cells, setup


def is_repository_module(module: str, root: Path = ROOT) -> bool:
    """True for a top-level package or module of the repository itself (``benchmarks``)."""
    return (Path(root) / module / "__init__.py").exists() or (Path(root) / f"{module}.py").exists()


def _run_key(sources: list[str], root: Path) -> str:
    digest = hashlib.sha256()
    for text in sources:
        digest.update(b"\0cell\0" + text.encode())
    # Python's version, the companion, the pins, what the appendices read
    digest.update(b"\0inputs\0" + inputs_digest(root).encode())
    return digest.hexdigest()[:20]


def _strip_records(outputs: list) -> tuple[list, dict]:
    """(outputs without MyST-NB's glue records, {name: mime bundle} of those records)."""
    kept, glued = [], {}
    for output in outputs:
        meta = output.get("metadata", {})
        if "scrapbook" in meta:
            prefix = meta["scrapbook"].get("mime_prefix", "")
            glued[meta["scrapbook"]["name"]] = {k[len(prefix):]: v for k, v in output["data"].items()}
        else:
            kept.append(output)
    return kept, glued


#: MyST-NB's mime prefix of a glue record that is not displayed.
GLUE_PREFIX = "application/papermill.record/"


def site_run(md: Path, cells: list, root: Path = ROOT,
             site_cache: Path | None = None) -> list | None:
    """The book's own run of `md`'s instructor `cells`, from MyST-NB's jupyter-cache.

    The site build executes the chapter's code cells except the ``student-check`` ones
    (tagged ``skip-execution``): exactly the instructor code, with MyST-NB's ``glue``.
    Returns the executed cells (one per instructor cell, with outputs and counts) of the
    newest cached run of `md` whose code is `cells`' code and that began after the last
    change of a file it reads (tools/site_cache.py, `fresh_runs`); else None (also
    when the site's run glued a figure it left open: see `_figure_left_open`).
    `site_cache` defaults to the repository's ``_build/.jupyter_cache``.
    """
    wanted = [c.source for c in cells]
    for nb in fresh_runs(md, root, site_cache):
        code = [c for c in nb.cells if c.cell_type == "code" and not is_student_check(c)]
        if [c.source for c in code] == wanted:
            if any(c.get("execution_count") is None for c in code):
                return None  # a cell the site skipped: the notebook must run it
            if any(_figure_left_open(c) for c in code):
                return None  # shown twice on the site, once by the notebook's glue
            return code
    return None


def _figure_left_open(cell) -> bool:
    """A cell that glued a matplotlib figure and left it open: the site's inline backend
    showed it once more, while the notebook's ``glue`` closes it (it would show once)."""
    glued = shown = False
    for output in cell.get("outputs", []):
        meta, data = output.get("metadata", {}), output.get("data", {})
        if "scrapbook" in meta:
            text = data.get(meta["scrapbook"].get("mime_prefix", "") + "text/plain", "")
            glued |= str(text).startswith("<Figure")
        else:
            shown |= any(key.startswith("image/") for key in data)
    return glued and shown


def _notebook_outputs(outputs: list, shift: int) -> list:
    """A site cell's outputs as the notebook's run shows them (see RECORD_GLUE).

    Every glue record becomes a hidden record, followed, when the notebook's ``glue``
    shows the value (an image, or ``display=True``), by the value itself; an
    ``execute_result`` is renumbered by `shift` (the setup and glue cells run first).
    """
    converted = []
    for output in outputs:
        output = copy.deepcopy(output)
        meta = output.get("metadata", {})
        if "scrapbook" not in meta:
            if output.get("output_type") == "execute_result":
                output["execution_count"] += shift
            converted.append(output)
            continue
        prefix = meta["scrapbook"].get("mime_prefix", "")
        data = {key[len(prefix):]: value for key, value in output["data"].items()}
        shown_meta = {key: value for key, value in meta.items() if key != "scrapbook"}
        record_meta = {**copy.deepcopy(shown_meta),
                       "scrapbook": {"mime_prefix": GLUE_PREFIX, "name": meta["scrapbook"]["name"]}}
        converted.append(nbformat.v4.new_output(
            "display_data", data={GLUE_PREFIX + key: value for key, value in data.items()},
            metadata=record_meta))
        if prefix == "" or any(key.startswith("image/") for key in data):
            converted.append(nbformat.v4.new_output("display_data", data=data, metadata=shown_meta))
    return converted


def _from_site(sources: list[str], site_cells: list):
    """The notebook of `sources` (setup, glue, chapter cells) with the site's outputs."""
    nb = _new_notebook(sources)
    nb.cells[0].execution_count, nb.cells[1].execution_count = 1, 2
    for cell, ran in zip(nb.cells[2:], site_cells):
        cell.execution_count = ran.execution_count + 2
        cell.outputs = _notebook_outputs(ran.get("outputs", []), 2)
    return nb


def _new_notebook(sources: list[str]):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                 "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def execute_chapter(md: Path, root: Path = ROOT, cache_dir: Path | None = None,
                    site_cache: Path | None = None) -> ChapterRun:
    """Run the instructor code of `md` top to bottom in a fresh kernel (cached by content).

    When the book's build has already run exactly this code since a file it reads last
    changed (`site_run`), its outputs are taken instead of running the chapter again.
    """
    from nbclient import NotebookClient

    md = Path(md)
    text = md.read_text(encoding="utf-8")  # read once: the notebook is built from this text
    cells, setup = _chapter_code(md, root, text)
    sources = [setup, RECORD_GLUE, *(code_for_notebook(c.source) for c in cells)]
    key = _run_key(sources, root)
    cached = Path(cache_dir) / f"{md.stem}-{key}.ipynb" if cache_dir else None
    started = time.perf_counter()
    source = "kernel"
    if cached is not None and cached.exists():
        nb = nbformat.read(cached, as_version=4)
        source = "cache"
    else:
        from_site = site_run(md, cells, root, site_cache)
        if from_site is not None:
            nb = _from_site(sources, from_site)
            source = "site"
        else:
            nb = _new_notebook(sources)
            client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                    resources={"metadata": {"path": str(md.parent)}},
                                    record_timing=False, allow_errors=False)
            client.execute()
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            for old in cached.parent.glob(f"{md.stem}-*.ipynb"):
                old.unlink()
            nbformat.write(nb, cached)
    outputs, counts, glue, glued_in = [], [], {}, {}
    for index, cell in enumerate(nb.cells[2:]):
        kept, glued = _strip_records(cell.get("outputs", []))
        outputs.append(kept)
        counts.append(cell.get("execution_count"))
        glue.update(glued)
        glued_in.update({name: index for name in glued})
    return ChapterRun(outputs, counts, glue, glued_in, time.perf_counter() - started, text,
                      source)


# ---------------------------------------------------------------- notebooks
def _cell_id(index: int, cell) -> str:
    digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
    return f"c{index:03d}-{digest}"


def figure_caption(caption: str, alt: str) -> str:
    """A glued figure's caption as Markdown, with its alt text (Jupyter shows no alt text
    for an output image) in a collapsed description."""
    text = f"*Figure.* {caption}"
    if alt:
        text += f"\n\n<details><summary>Description of the figure</summary>\n\n{alt}\n\n</details>"
    return text


def _caption_cell(captions: list[str]):
    text = "\n\n".join(captions)
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": ["figure-caption"]})


def to_notebook(md: Path, variant: str = "instructor", run: ChapterRun | None = None, *,
                root: Path = ROOT) -> nbformat.NotebookNode:
    """The chapter `md` as an nbformat 4 notebook for `variant`.

    `run` (from `execute_chapter`) gives the glued values for the text and, for the
    instructor variant, the outputs; without it the chapter must glue nothing.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    md = Path(md)
    text = run.text if run is not None else None
    source = _read(md, text)
    instructor = instructor_cells(source.cells)
    run_index = {id(c): k for k, c in enumerate(c for c in instructor if c.cell_type == "code")}
    cells = instructor if variant == "instructor" else strip_solutions(source.cells)[0]
    _, setup = _chapter_code(md, root, text)
    context = book_context(md, root, run.glue if run else {})
    converter = MySTConverter(context)
    present = {run_index.get(id(c)) for c in cells if c.cell_type == "code"} - {None}

    body: list = []  # (cell, index of its run or None)
    captions_after: dict[int, list[str]] = {}
    for cell in cells:
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(code_for_notebook(cell.source),
                                            metadata=copy.deepcopy(dict(cell.get("metadata", {}))))
            body.append((new, run_index.get(id(cell))))
            continue
        start = len(context.figures)
        text = converter.convert(cell.source)
        for name, caption, alt in context.figures[start:]:
            producer = run.glued_in.get(name) if run else None
            if producer is not None and producer in present:
                captions_after.setdefault(producer, []).append(figure_caption(caption, alt))
            else:  # the cell that makes it is not in this notebook: the caption stays here
                text += "\n\n" + figure_caption(caption, alt)
        if text.strip():
            body.append((nbformat.v4.new_markdown_cell(
                text, metadata=copy.deepcopy(dict(cell.get("metadata", {})))), None))

    # The setup cell starts collapsed in JupyterLab (one click shows it): the chapter's
    # first line is its title, as in the book.
    final = [nbformat.v4.new_code_cell(setup, metadata={"jupyter": {"source_hidden": True},
                                                        "tags": ["setup"]})]
    for cell, k in body:
        if cell.cell_type == "code" and variant == "instructor" and run is not None and k is not None:
            cell.outputs = copy.deepcopy(run.outputs[k])
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = None
        final.append(cell)
        if k is not None and k in captions_after:
            final.append(_caption_cell(captions_after.pop(k)))
    if context.cited:
        final.append(nbformat.v4.new_markdown_cell(reference_list(context)))

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": dict(source.metadata.get("kernelspec")
                           or {"display_name": "Python 3", "language": "python", "name": "python3"}),
        "language_info": {"name": "python"},
    }
    count = 0
    for index, cell in enumerate(final):
        if cell.cell_type == "code" and cell.get("outputs") is not None and variant == "instructor" \
                and run is not None:
            count += 1
            cell.execution_count = count
            for output in cell.outputs:
                if "execution_count" in output:
                    output["execution_count"] = count
        cell.id = _cell_id(index, cell)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as the exact text written to disk."""
    return nbformat.writes(nb, version=4) + "\n"


NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def comparable(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """The notebook without what changes from one run to the next (outputs, numbers)."""
    return [(c.cell_type, NUMBER.sub("#", c.source)) for c in nb.cells]


def _write_if_changed(path: Path, nb: nbformat.NotebookNode) -> bool:
    """Write `nb` unless `path` holds the same notebook up to numbers and outputs."""
    if path.exists():
        old = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        if comparable(old) == comparable(nb):
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notebook_text(nb), encoding="utf-8")
    return True


# ---------------------------------------------------------------- the course zips
ZIP_README = """# Shapley Values from First Principles: {variant} notebooks

One notebook per chapter of the book ({site}).
{what}

## Run them

With Python 3.11 and a Jupyter front end (JupyterLab, Jupyter Notebook, VS Code):

```console
python -m venv .venv && source .venv/bin/activate
pip install ./{src} jupyterlab   # the book's companion package and its dependencies
jupyter lab
```

The first cell of every notebook installs what is still missing, and takes `companion`
from the `{src}` folder next to the notebooks when there is one, so on a JupyterHub
it is enough to upload this folder. For the exact versions the book was checked with,
install `requirements.txt` from the book's repository ({repo}) first.
`{src}/` is the `companion` package's source: read it, the formulas are in the docstrings.
"""
ZIP_WHAT = {
    "instructor": "Each is executed: every figure, table and check the book shows is in it.",
    "student": ("The exercise solutions are removed (a \"# Your solution here\" cell takes "
                "their place) and check cells tell you whether an answer is right. Run each "
                "notebook top to bottom; the figures appear as the cells run."),
}


def companion_files(root: Path = ROOT) -> dict[str, bytes]:
    """The companion's source tree as {path inside companion-src: bytes}."""
    files = {"pyproject.toml": (Path(root) / "pyproject.toml").read_bytes()}
    package = Path(root) / "companion"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files[f"companion/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    files["README.md"] = (
        "# companion\n\nThe package of *Shapley Values from First Principles*: every method "
        "of the book, from scratch.\n\nInstall it (with its dependencies) from this folder:\n\n"
        "```console\npip install ./companion-src\n```\n").encode()
    return files


def write_zip(files: dict[str, bytes] | list[Path], zip_path: Path, folder: str) -> Path:
    """Zip `files` ({name: bytes}, or paths stored by name) under `folder/`, reproducibly."""
    if not isinstance(files, dict):
        files = {Path(p).name: Path(p).read_bytes() for p in files}
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return zip_path


def build(out_dir: Path, *, book_dir: Path = ROOT / "book", root: Path = ROOT,
          sync_dir: Path | None = None, cache_dir: Path | None = None,
          site_cache: Path | None = None, log=None) -> dict[str, list]:
    """Run every chapter, write both variants, their zips; optionally refresh synced copies.

    A chapter the book's build has just run is not run again (`execute_chapter`).

    Returns {"instructor": [...], "student": [...], "zips": [...], "synced": [changed copies],
    "runs": {stem: ChapterRun}}.
    """
    chapters = chapter_sources(book_dir)
    if not chapters:
        raise ValueError(f"no chapters (MyST notebooks {CHAPTER_GLOB}) in {book_dir}")
    out_dir = Path(out_dir)
    cache_dir = Path(cache_dir) if cache_dir else out_dir / ".executed"
    result: dict = {"instructor": [], "student": [], "zips": [], "synced": [], "runs": {}}
    for variant in VARIANTS:
        folder = out_dir / variant
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.ipynb"):
            stale.unlink()
    failed = []
    for md in chapters:
        try:  # a failing chapter stops nothing else; all failures are reported at the end
            run = execute_chapter(md, root, cache_dir, site_cache)
            notebooks = {variant: to_notebook(md, variant, run, root=root) for variant in VARIANTS}
        except Exception as error:  # noqa: BLE001  (re-raised below, with every chapter's)
            failed.append(f"{md.name}: {type(error).__name__}: {str(error)[-3000:]}")
            if log:
                log(f"{md.name}: FAILED ({type(error).__name__})")
            continue
        result["runs"][md.stem] = run
        if log:
            how = {"kernel": "ran in", "cache": "taken from the export's cache in",
                   "site": "taken from the site build's run in"}[run.source]
            log(f"{md.name}: {how} {run.seconds:.1f} s")
        for variant in VARIANTS:
            nb = notebooks[variant]
            path = out_dir / variant / f"{md.stem}.ipynb"
            path.write_text(notebook_text(nb), encoding="utf-8")
            result[variant].append(path)
            if variant == "instructor" and sync_dir is not None:
                if _write_if_changed(Path(sync_dir) / path.name, nb):
                    result["synced"].append(Path(sync_dir) / path.name)
    if failed:
        raise ChapterError("a chapter could not be exported:\n\n" + "\n\n".join(failed))
    source = companion_files(root)
    for variant in VARIANTS:
        files = {p.name: p.read_bytes() for p in result[variant]}
        files.update({f"{COMPANION_SRC}/{name}": data for name, data in source.items()})
        files["README.md"] = ZIP_README.format(
            variant=variant, site=site_url(root), what=ZIP_WHAT[variant], src=COMPANION_SRC,
            repo=repository_url(root)).encode()
        files["requirements.txt"] = (Path(root) / "requirements.txt").read_bytes().replace(
            b"\n-e .", b"\n# companion: pip install ./companion-src")
        result["zips"].append(write_zip(files, out_dir / ZIP_NAME.format(variant=variant),
                                        f"shapley-book-{variant}"))
    return result


def stale_synced_copies(instructor: list[Path], book_dir: Path = ROOT / "book") -> list[str]:
    """Problems with the committed ``book/*.ipynb`` copies of these fresh instructor notebooks."""
    problems = []
    stems = set()
    for fresh in instructor:
        stems.add(Path(fresh).stem)
        copy_path = Path(book_dir) / Path(fresh).name
        if not copy_path.exists():
            problems.append(f"{copy_path.name} is missing")
            continue
        old = nbformat.read(copy_path, as_version=4)
        if comparable(old) != comparable(nbformat.read(fresh, as_version=4)):
            problems.append(f"{copy_path.name} is out of date with {Path(fresh).stem}.md")
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
                        help="exit 1 if a committed notebook in --book is missing or stale")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        result = build(args.out, book_dir=args.book,
                       sync_dir=None if args.check else args.sync, log=print)
    except ChapterError as error:
        print(f"make notebooks: {error}", file=sys.stderr)
        return 1
    if args.check:
        problems = stale_synced_copies(result["instructor"], args.book)
        for problem in problems:
            print(f"STALE: {problem}")
        if problems:
            print("Run `make notebooks` and commit the book/*.ipynb files.")
        return 1 if problems else 0
    for variant in VARIANTS:
        print(f"{variant}: {len(result[variant])} notebooks in {args.out / variant}")
    for path in result["zips"]:
        print(f"zip: {path}")
    for path in result["synced"]:
        print(f"refreshed: {path} (commit it: the Colab and Binder buttons open it)")
    print(f"make notebooks: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
