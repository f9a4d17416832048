"""The course kit: chapters as notebooks (`make notebooks`, tools/make_notebooks.py).

What is checked, and why this is enough to say every generated notebook runs:

* Every chapter, both variants: a valid nbformat 4 notebook with no outputs, whose first
  cell installs what is missing, and whose code is the chapter's code. The instructor
  notebook's code cells are byte for byte the `.md` chapter's, which `make test` already
  runs through nbval (conftest.py); the student notebook is the same minus the solution
  cells, and no later cell uses a name that only a solution defines.
* The student notebook of the first chapter really runs through nbval in a fresh kernel,
  top to bottom, install cell included, as a student would run it. Set BOOK_NBVAL_ALL=1 to
  run every generated notebook of every chapter, both variants (about twice as long as
  running every chapter once more).
* The committed `book/*.ipynb` copies that the Colab and Binder buttons open are
  exactly what `make notebooks` generates now.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_notebooks as mk  # noqa: E402
from notebook_text import MYST_HEADER as HEADER  # noqa: E402
from notebook_text import code_cell as code  # noqa: E402

CHAPTERS = mk.chapter_sources(ROOT / "book")
REPO_URL = mk.repository_url(ROOT)




def solution(label: str, *cells: str, prose: str = "Prose.") -> str:
    return (f"\n```{{exercise}} Title\n:label: {label}\n\nDo it.\n```\n\n"
            f"```{{solution-start}} {label}\n:class: dropdown\n```\n\n{prose}\n"
            + "".join(code(c) for c in cells) + "\n```{solution-end}\n```\n")


def code_sources(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def solution_code(md: Path) -> list[str]:
    """Code cells of the chapter that sit inside a solution."""
    inside, found = False, []
    for cell in jupytext.read(md).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if mk.SOLUTION_START.match(line):
                    inside = True
                elif mk.SOLUTION_END.match(line):
                    inside = False
        elif inside:
            found.append(cell.source)
    return found


def bound_names(source: str) -> set[str]:
    """Names a cell assigns, defines or imports at top level."""
    names = set()
    for node in ast.walk(ast.parse(mk._strip_ipython(source))):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def used_names(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(mk._strip_ipython(source)))
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


# ------------------------------------------------------------------ every chapter
def test_there_are_chapters():
    assert CHAPTERS, "no MyST notebooks (chapters) found in book/"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_instructor_notebook_is_the_chapter(md):
    nb = mk.to_notebook(md, "instructor")
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code"), "outputs must be stripped"
    first = nb.cells[0]
    assert first.cell_type == "code" and first.source.startswith(mk.INSTALL_MARKER)
    assert f"'companion': 'git+{REPO_URL}'" in first.source
    assert "find_spec(module) is None" in first.source
    source = jupytext.read(md)
    assert code_sources(nb)[1:] == code_sources(source), "code cells differ from the .md"
    markdown = [mk.readable_markdown(c.source) for c in source.cells if c.cell_type == "markdown"]
    assert [c.source for c in nb.cells[1:] if c.cell_type == "markdown"] == [m for m in markdown if m.strip()]
    text = md.read_text(encoding="utf-8")
    assert "\n".join(markdown).count("**Exercise") == text.count("{exercise}")
    assert "\n".join(markdown).count("**Solution**") == text.count("{solution-start}")


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_has_no_solutions(md):
    nb = mk.to_notebook(md, "student")
    nbformat.validate(nb)
    text = md.read_text(encoding="utf-8")
    solutions = solution_code(md)
    codes = code_sources(nb)
    assert not [c for c in solutions if c in codes], "solution code left in the student notebook"
    placeholders = [c for c in codes if c.startswith(mk.PLACEHOLDER_CODE)]
    assert len(placeholders) == text.count("{solution-start}")
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "{solution" not in markdown
    assert text.count("{exercise}") == markdown.count("**Exercise"), "an exercise was lost"
    assert "**Solution**" not in markdown
    # Every other code cell is kept, in order.
    kept = [c for c in codes[1:] if not c.startswith(mk.PLACEHOLDER_CODE)]
    remaining = list(code_sources(jupytext.read(md)))
    for s in solutions:
        remaining.remove(s)
    assert kept == remaining


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_needs_no_solution(md):
    """No cell after a solution uses a name that only solutions define (NameError)."""
    solutions = solution_code(md)
    defined_elsewhere: set[str] = set()
    only_in_solutions: set[str] = set()
    for source in code_sources(jupytext.read(md)):
        if source in solutions:
            only_in_solutions |= bound_names(source) - defined_elsewhere
            continue
        missing = (used_names(source) & only_in_solutions) - defined_elsewhere
        assert not missing, (f"{md.name}: a cell outside the solutions uses {missing}, "
                             "defined only in a solution")
        defined_elsewhere |= bound_names(source)


# ------------------------------------------------------------------ the install cell
def run_install_cell(source: str, monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "check_call", lambda args, **kw: calls.append(list(args)))
    exec(compile(source, "<install cell>", "exec"), {})
    return calls


def test_install_cell_does_nothing_when_everything_is_installed(monkeypatch):
    source = mk.to_notebook(CHAPTERS[0], "instructor").cells[0].source
    assert run_install_cell(source, monkeypatch) == []


def test_install_cell_installs_what_is_missing(monkeypatch):
    source = mk.to_notebook(CHAPTERS[0], "instructor").cells[0].source
    source = source.replace("_requirements = {", "_requirements = {'no_such_module_xyz': 'no-such==1.0',")
    calls = run_install_cell(source, monkeypatch)
    assert len(calls) == 1 and calls[0][-1] == "no-such==1.0" and calls[0][1:4] == ["-m", "pip", "install"]


def test_install_cell_lists_pinned_requirements():
    pins = mk.pinned_requirements(ROOT)
    source = mk.install_cell_source(["companion", "numpy", "sklearn"], pins, REPO_URL, "x.md")
    assert repr(pins["numpy"]) in source and repr(pins["scikit-learn"]) in source


def test_imports_are_found_and_stdlib_is_left_out():
    found = mk.imported_modules([
        "import numpy as np\nimport os, itertools\nfrom sklearn.model_selection import x",
        "%matplotlib inline\n!ls\nfrom . import y\nimport companion.game",
        "from IPython.display import display",
    ])
    assert found == ["companion", "numpy", "sklearn"]


# ------------------------------------------------------------------ solutions
def test_strip_solutions_on_a_small_chapter(tmp_path):
    md = tmp_path / "09_x.md"
    md.write_text(HEADER + code("a = 1") + solution("x-1", "b = a + 1", "assert b == 2")
                  + "\nBetween.\n" + code("c = a") + solution("x-2", "d = 4", prose="More prose.")
                  + "\n:::{solution} x-3\nOnly words.\n:::\n\nAfter.\n")
    nb = mk.to_notebook(md, "student", root=ROOT)
    codes = code_sources(nb)[1:]
    assert codes == ["a = 1", f"{mk.PLACEHOLDER_CODE} (exercise x-1)", "c = a",
                     f"{mk.PLACEHOLDER_CODE} (exercise x-2)"]
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Prose." not in markdown and "More prose." not in markdown and "Only words." not in markdown
    assert "Between." in markdown and "After." in markdown and mk.PLACEHOLDER_TEXT in markdown
    assert markdown.count("**Exercise: Title**") == 2 and "Do it." in markdown


def test_readable_markdown_rewrites_the_exercise_directives():
    text = ("Intro.\n\n```{exercise} The glove game\n:label: ch1-ex-glove\n\nGuess $v$.\n```\n\n"
            "```{solution-start} ch1-ex-glove\n:class: dropdown\n```\n\nWords.\n\n"
            "```{solution-end}\n```\n\n```{prf:theorem}\nKept.\n```")
    assert mk.readable_markdown(text) == ("Intro.\n\n**Exercise: The glove game**\n\nGuess $v$.\n\n"
                                          "**Solution**\n\nWords.\n\n```{prf:theorem}\nKept.\n```")


def test_an_unclosed_solution_is_an_error(tmp_path):
    md = tmp_path / "09_x.md"
    md.write_text(HEADER + "\n```{solution-start} x-1\n:class: dropdown\n```\n" + code("b = 1"))
    with pytest.raises(ValueError, match="not closed"):
        mk.to_notebook(md, "student", root=ROOT)


def test_unknown_variant_is_an_error():
    with pytest.raises(ValueError, match="variant"):
        mk.to_notebook(CHAPTERS[0], "teacher")


# ------------------------------------------------------------------ make notebooks
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    return out, mk.build(out / "out", sync_dir=out / "sync")


def test_make_notebooks_writes_both_sets_and_their_zips(built):
    out, result = built
    for variant in mk.VARIANTS:
        assert [p.name for p in result[variant]] == [f"{md.stem}.ipynb" for md in CHAPTERS]
        archive = out / "out" / mk.ZIP_NAME.format(variant=variant)
        with zipfile.ZipFile(archive) as z:
            expected = sorted(f"shapley-book-{variant}/{md.stem}.ipynb" for md in CHAPTERS)
            assert sorted(z.namelist()) == expected
            for name in z.namelist():
                nbformat.validate(nbformat.reads(z.read(name).decode(), as_version=4))
    synced = sorted(p.name for p in (out / "sync").glob("*.ipynb"))
    assert synced == sorted(f"{md.stem}.ipynb" for md in CHAPTERS)


def test_make_notebooks_is_deterministic(built, tmp_path):
    out, _ = built
    mk.build(tmp_path / "again")
    for variant in mk.VARIANTS:
        name = mk.ZIP_NAME.format(variant=variant)
        assert (tmp_path / "again" / name).read_bytes() == (out / "out" / name).read_bytes()


def test_committed_notebooks_match_the_chapters():
    """The Colab/Binder buttons open book/NAME.ipynb: it must be today's chapter."""
    problems = mk.stale_synced_copies(ROOT / "book", ROOT)
    assert not problems, ("\n".join(problems)
                          + "\nRun `make notebooks` and commit the book/*.ipynb files.")


def test_generated_notebooks_run_with_nbval(built):
    """The generated files run top to bottom in a fresh kernel (nbval, outputs not compared)."""
    out, result = built
    if os.environ.get("BOOK_NBVAL_ALL"):
        files = result["instructor"] + result["student"]
    else:  # the student variant of the first chapter: the one whose code is not the .md's
        files = [result["student"][0]]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-current-env", "--nbval-cell-timeout=600", *map(str, files)],
        cwd=out, capture_output=True, text=True, timeout=3600,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert " passed" in run.stdout and "failed" not in run.stdout, run.stdout[-3000:]
