"""The course kit: chapters as notebooks (`make notebooks`, tools/make_notebooks.py).

What is checked, and why it is enough to say the notebooks read like the book and run:

* Conversion rules, on tiny synthetic chapters with a made-up run (no kernel, fast):
  glued numbers formatted as on the site, figures' captions after the cell that makes
  them, citations and the reference list, theorems, admonitions, cross-references, math
  macros, solutions removed, `student-check` cells kept for students only.
* Every real chapter, exported once per session by `built` (the runs are cached in
  `_build/notebooks/.executed`, shared with `make notebooks`): the instructor notebook
  holds at least as many images as the site shows figures; no Markdown cell of either
  variant holds MyST; the numbers in the Markdown are the glued values, in order; the
  student notebook holds no solution code.
* A chapter the site build has just run (the browser test builds it first, in the same
  pytest-xdist worker: conftest.py) is not run again: `built` takes that run's outputs
  (`site_run`). A tiny chapter shows that they are the outputs a run of the notebook
  itself gives, and that a changed chapter, or a run older than a file it reads (the
  companion's source, tools/site_cache.py), is run afresh.
* One student notebook runs top to bottom in a fresh kernel, a different chapter each
  day (rotation; set BOOK_STUDENT_NOTEBOOKS=all to run every one). The instructor code
  ran top to bottom when the site or `built` executed it (nbval runs it once more), and
  the static check below shows that no cell of a student notebook needs a name that only
  a solution defines.
* The `fresh_venv` test (marked `slow`, run by .ci/run on its own): a new virtual
  environment gets `companion` from the course zip only (never the checkout), with the
  dependencies its pyproject.toml declares pinned by the zip's requirements.txt, plus a
  kernel, and runs chapter 1's student notebook there, as a fresh JupyterHub would.
* The committed `book/*.ipynb` copies are today's export (up to numbers and outputs).
"""

from __future__ import annotations

import ast
import datetime
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_notebooks as mk  # noqa: E402
import site_cache  # noqa: E402
from notebook_parts import glue_text, is_student_check  # noqa: E402
from notebook_text import MYST_HEADER as HEADER  # noqa: E402
from notebook_text import code_cell as code  # noqa: E402

CHAPTERS = mk.chapter_sources(ROOT / "book")
REPO_URL = mk.repository_url(ROOT)
SITE = mk.site_url(ROOT)
GLUE_TEXT = mk.readable_markdown.__globals__["ROLE"]


def solution(label: str, *cells: str, prose: str = "Prose.") -> str:
    return (f"\n```{{exercise}} Title\n:label: {label}\n\nDo it.\n```\n\n"
            f"```{{solution-start}} {label}\n:class: dropdown\n```\n\n{prose}\n"
            + "".join(code(c) for c in cells) + "\n```{solution-end}\n```\n")


def student_check(source: str) -> str:
    return f"\n```{{code-cell}} ipython3\n:tags: [remove-cell, skip-execution, student-check]\n{source}\n```\n"


def fake_run(md: Path, glue: dict | None = None, glued_in: dict | None = None) -> mk.ChapterRun:
    """A run of `md` that printed nothing: outputs are empty, glue as given."""
    cells = [c for c in mk.instructor_cells(jupytext.read(md).cells) if c.cell_type == "code"]
    glue = {k: v if isinstance(v, dict) else {"text/plain": repr(v)} for k, v in (glue or {}).items()}
    return mk.ChapterRun([[] for _ in cells], [None] * len(cells), glue, dict(glued_in or {}))


def code_sources(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def markdown_text(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def images(nb) -> int:
    return sum("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {})
               for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


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
        elif inside and mk.STUDENT_CHECK not in cell.metadata.get("tags", []):
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


# ------------------------------------------------------------------ conversion rules
def convert(text: str, glue: dict | None = None) -> str:
    context = mk.book_context(CHAPTERS[0], ROOT, {k: {"text/plain": repr(v)} for k, v in (glue or {}).items()})
    return mk.readable_markdown(text, context)


def test_glued_numbers_are_formatted_as_on_the_site():
    assert convert("phi = {glue:text}`phi:.2f`, n = {glue:text}`n`.", {"phi": 86.666666, "n": 3}) \
        == "phi = 86.67, n = 3."
    assert convert("{glue:text}`tiny:.1e` and {glue:text}`name`", {"tiny": 2.6e-16, "name": "a_b"}) \
        == "2.6e-16 and a\\_b"
    # A planted error: the same text with another glued value reads differently.
    assert convert("{glue:text}`phi:.2f`", {"phi": 86.67}) != convert("{glue:text}`phi:.2f`", {"phi": 86.6})
    with pytest.raises(ValueError, match="nothing was glued as 'gone'"):
        convert("{glue:text}`gone:.2f`")


def test_citations_become_author_year_with_a_reference_list():
    context = mk.book_context(CHAPTERS[0], ROOT)
    text = mk.readable_markdown("As {cite:t}`shapley1953` showed {cite:p}`lundberg2017,janzing2020`.",
                                context)
    assert text == "As Shapley (1953) showed (Lundberg and Lee 2017; Janzing et al. 2020)."
    listing = mk.reference_list(context)
    assert listing.startswith("## References") and listing.count("\n- ") == 3
    assert "Shapley, L. S. (1953). A Value for n-Person Games." in listing
    assert "Blöbaum" in listing  # LaTeX accents decoded


def test_blocks_and_references_become_plain_markdown():
    text = convert(
        "(sec-x)=\n# Title\n\n% a comment\n```{prf:theorem} Counting\n:label: t-1\n\n$\\E[X] = 1$\n```\n\n"
        "```{prf:proof}\nEasy.\n```\n\n:::{admonition} Careful\n:class: warning\nTwo lines\nhere.\n:::\n\n"
        "See {doc}`notation`, {term}`coalition`, {ref}`ch1-shap-check` and {prf:ref}`ch2-thm-count`.\n\n"
        "```python\nx = {1: 2}\n```")
    assert mk.myst_leftovers(text) == []
    assert "**Theorem (Counting).**\n\n$\\mathbb{E}[X] = 1$" in text
    assert "*Proof.* Easy. $\\square$" in text
    assert "> **Careful**\n>\n> Two lines\n> here." in text
    assert f"[Notation]({SITE}/book/notation.html)" in text
    assert f"[coalition]({SITE}/book/glossary.html#term-coalition)" in text
    assert "a comment" not in text and "(sec-x)=" not in text
    assert f"({SITE}/book/02_shapley_weights.html#ch2-thm-count)" in text
    assert "[Theorem \u201cThe Shapley weight counts orderings\u201d]" in text
    assert "```python\nx = {1: 2}\n```" in text


def test_an_unknown_directive_or_role_is_an_error_not_raw_myst():
    with pytest.raises(ValueError, match="directive"):
        convert("```{sidebar} x\nbody\n```")
    with pytest.raises(ValueError, match="role"):
        convert("a {kbd}`Ctrl` b")


def small_chapter(tmp_path: Path) -> Path:
    md = tmp_path / "09_x.md"
    md.write_text(HEADER + code("a = 1\nglue('n', a, display=False)") + "\nA is {glue:text}`n:.1f`.\n"
                  + code("fig = make()\nglue('fig_a', fig, display=False)")
                  + "\nText between.\n\n```{glue:figure} fig_a\n:alt: A plot.\n:name: fig-a\n\n"
                  "The caption, {glue:text}`n:d`.\n```\n"
                  + solution("x-1", "b = a + 1", "assert b == 2")
                  + student_check("my_b = ...\ncheck('x-1', my_b)")
                  + "\nBetween.\n" + code("c = a")
                  + solution("x-2", "d = 4", prose="More prose.")
                  + "\n:::{solution} x-3\nOnly words.\n:::\n\nAfter {cite:p}`shapley1953`.\n")
    return md


def test_a_small_chapter_both_variants(tmp_path):
    md = small_chapter(tmp_path)
    run = fake_run(md, {"n": 1}, {"fig_a": 1})
    teacher = mk.to_notebook(md, "instructor", run, root=ROOT)
    student = mk.to_notebook(md, "student", run, root=ROOT)
    for nb in (teacher, student):
        nbformat.validate(nb)
        assert max(map(len, nb.cells[0].source.splitlines())) <= 88, "setup cell fits the page"
        assert nb.cells[0].source.startswith(mk.INSTALL_MARKER)
        assert "def glue(name, value, display=True):" in nb.cells[0].source
        assert mk.myst_leftovers(markdown_text(nb)) == []
        assert "A is 1.0." in markdown_text(nb)
        assert nb.cells[-1].source.startswith("## References\n\n- Shapley, L. S. (1953)")
        # the caption follows the cell that glues the figure, with its number
        index = code_sources(nb).index("fig = make()\nglue('fig_a', fig, display=False)")
        cell = [c for c in nb.cells if c.cell_type == "code"][index]
        after = nb.cells[nb.cells.index(cell) + 1]
        assert after.source.startswith("*Figure.* The caption, 1.\n\n<details><summary>")
        assert "A plot." in after.source and "Text between." in markdown_text(nb)
    # instructor: solutions shown, the student's check cell dropped
    assert code_sources(teacher)[1:] == ["a = 1\nglue('n', a, display=False)",
                                         "fig = make()\nglue('fig_a', fig, display=False)",
                                         "b = a + 1", "assert b == 2", "c = a", "d = 4"]
    assert "**Solution**" in markdown_text(teacher) and "Only words." in markdown_text(teacher)
    # student: solutions replaced, the check cell kept where the solution was, runnable
    codes = code_sources(student)[1:]
    assert codes == ["a = 1\nglue('n', a, display=False)", "fig = make()\nglue('fig_a', fig, display=False)",
                     f"{mk.PLACEHOLDER_CODE} (exercise x-1)", "my_b = ...\ncheck('x-1', my_b)",
                     "c = a", f"{mk.PLACEHOLDER_CODE} (exercise x-2)"]
    check = [c for c in student.cells if c.source.startswith("my_b")][0]
    assert check.metadata["tags"] == ["student-check"], "site-only tags must go"
    text = markdown_text(student)
    assert "Prose." not in text and "More prose." not in text and "Only words." not in text
    assert "Between." in text and "After" in text and mk.PLACEHOLDER_TEXT in text
    assert text.count("**Exercise: Title**") == 2 and "Do it." in text and "**Solution**" not in text


def test_the_setup_cell_does_nothing_when_everything_is_installed(tmp_path, monkeypatch):
    source = mk.to_notebook(small_chapter(tmp_path), "student", fake_run(small_chapter(tmp_path), {"n": 1}),
                            root=ROOT).cells[0].source
    calls: list = []
    monkeypatch.setattr(subprocess, "check_call", lambda args, **kw: calls.append(list(args)))
    namespace: dict = {}
    exec(compile(source, "<setup cell>", "exec"), namespace)
    assert calls == []
    exec(compile(source.replace("_requirements = {", "_requirements = {'no_such_xyz': 'no-such==1.0',"),
                 "<setup cell>", "exec"), {})
    assert len(calls) == 1 and calls[0][-1] == "no-such==1.0" and calls[0][1:4] == ["-m", "pip", "install"]


def test_setup_cell_glue_shows_figures_once(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    namespace: dict = {}
    exec(compile(mk.install_cell_source([], {}, REPO_URL, "x.md"), "<setup>", "exec"), namespace)
    shown: list = []
    namespace["_show"] = shown.append
    class Picture:  # an object shown as an image, as a chapter's figure with alt text
        def _repr_mimebundle_(self, include=None, exclude=None):
            return {"image/png": "iVBORw0KGgo=", "text/plain": "a picture"}

    fig, _ = plt.subplots()
    picture = Picture()
    namespace["glue"]("fig", fig, display=False)
    namespace["glue"]("n", 3, display=False)
    namespace["glue"]("pic", picture, display=False)
    namespace["glue"]("m", 4)
    assert shown == [fig, picture, 4] and not plt.fignum_exists(fig.number)


def test_an_unclosed_solution_is_an_error(tmp_path):
    md = tmp_path / "09_x.md"
    md.write_text(HEADER + "\n```{solution-start} x-1\n:class: dropdown\n```\n" + code("b = 1"))
    with pytest.raises(ValueError, match="not closed"):
        mk.to_notebook(md, "student", fake_run(md), root=ROOT)


def test_unknown_variant_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="variant"):
        mk.to_notebook(CHAPTERS[0], "teacher")


def test_imports_are_found_and_stdlib_is_left_out():
    found = mk.imported_modules([
        "import numpy as np\nimport os, itertools\nfrom sklearn.model_selection import x",
        "%matplotlib inline\n!ls\nfrom . import y\nimport companion.game",
        "from IPython.display import display",
    ])
    assert found == ["companion", "numpy", "sklearn"]


# ------------------------------------------------------------------ every chapter
def site_chapter(tmp_path: Path) -> Path:
    """A tiny chapter with each kind of output a chapter has, and a student-check cell."""
    md = tmp_path / "09_site.md"
    md.write_text(HEADER
                  + code("from myst_nb import glue\nimport matplotlib.pyplot as plt\nprint('hello')")
                  + code("a = 3\nglue('n', a, display=False)\nglue('shown', 'words', display=True)\na + 1")
                  + code("fig, ax = plt.subplots(figsize=(2, 1))\nax.plot([0, 1])\n"
                         "glue('fig_a', fig, display=False)\nplt.close(fig)")
                  + student_check("a = 100")
                  + code("print(a)"))
    return md


def run_as_the_site(md: Path, folder: Path) -> None:
    """Execute `md` as MyST-NB does (``skip-execution`` cells skipped) into a jupyter-cache."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.main import CacheBundleIn
    from nbclient import NotebookClient

    nb = jupytext.read(md)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(md.parent)}}).execute()
    get_cache(folder).cache_notebook_bundle(CacheBundleIn(nb, uri=str(md.resolve())),
                                            check_validity=False)


def test_a_chapter_the_site_ran_is_not_run_again_and_reads_the_same(tmp_path, monkeypatch):
    md, cache = site_chapter(tmp_path), tmp_path / "cache"
    monkeypatch.setattr(site_cache, "newest_input", lambda root=ROOT: 0.0)  # inputs: old
    own = mk.execute_chapter(md, ROOT, site_cache=tmp_path / "no-cache")  # its own kernel
    assert site_cache.prune(ROOT, cache) == []  # as make book does: notes the inputs
    run_as_the_site(md, cache)

    def no_kernel(*args, **kwargs):
        raise AssertionError("the chapter was run again")

    with monkeypatch.context() as patched:
        patched.setattr("nbclient.NotebookClient", no_kernel)
        reused = mk.execute_chapter(md, ROOT, site_cache=cache)
    assert (reused.outputs, reused.counts, reused.glued_in) == (own.outputs, own.counts, own.glued_in)
    assert reused.glue == own.glue and set(own.glue) == {"n", "shown", "fig_a"}
    assert (own.source, reused.source) == ("kernel", "site")
    assert [o["text"] for o in own.outputs[-1]] == ["3\n"], "the student check did not run"
    assert sum("image/png" in o.get("data", {}) for o in own.outputs[2]) == 1, "figure shown once"
    # not taken: a changed chapter, other inputs than at the last prune, a run that began
    # before an input's last change (and prune then removes it)
    cells, _ = mk._chapter_code(md, ROOT)
    assert mk.site_run(md, cells, ROOT, cache) is not None
    md.write_text(md.read_text().replace("print(a)", "print(a + 1)"))
    assert mk.site_run(md, mk._chapter_code(md, ROOT)[0], ROOT, cache) is None
    md.write_text(md.read_text().replace("print(a + 1)", "print(a)"))
    stamp = site_cache.digest_file(ROOT, cache)
    digest = stamp.read_text()
    stamp.write_text("an older companion")
    assert mk.site_run(md, cells, ROOT, cache) is None
    stamp.write_text(digest)
    assert mk.site_run(md, cells, ROOT, cache) is not None
    monkeypatch.setattr(site_cache, "newest_input", lambda root=ROOT: time.time() + 60)
    assert mk.site_run(md, cells, ROOT, cache) is None
    assert site_cache.prune(ROOT, cache) == [md.name]
    monkeypatch.setattr(site_cache, "newest_input", lambda root=ROOT: 0.0)
    assert mk.site_run(md, cells, ROOT, cache) is None, "pruned"


def test_a_site_run_that_left_a_glued_figure_open_is_not_taken(tmp_path, monkeypatch):
    """The site's inline backend shows a glued figure left open once more; the notebook's
    glue closes it: such a run would read differently, so the chapter is run afresh."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.main import CacheBundleIn

    md, cache = site_chapter(tmp_path), tmp_path / "cache"
    monkeypatch.setattr(site_cache, "newest_input", lambda root=ROOT: 0.0)
    site_cache.prune(ROOT, cache)
    cells, _ = mk._chapter_code(md, ROOT)
    image = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})
    cases = [("<Figure size 200x100 with 1 Axes>", [image], False),  # left open: twice
             ("<Figure size 200x100 with 1 Axes>", [], True),  # closed by the chapter
             ("<companion.plots.AltFigure>", [image], True)]  # not a figure: no extra
    for text, extra, taken in cases:
        nb = jupytext.read(md)
        code = [c for c in nb.cells if c.cell_type == "code"]
        for count, cell in enumerate(c for c in code if not is_student_check(c)):
            cell.execution_count, cell.outputs = count + 1, []
        code[2].outputs = [nbformat.v4.new_output(
            "display_data", data={mk.GLUE_PREFIX + "text/plain": text},
            metadata={"scrapbook": {"name": "fig_a", "mime_prefix": mk.GLUE_PREFIX}}),
            *extra]
        get_cache(cache).cache_notebook_bundle(CacheBundleIn(nb, uri=str(md.resolve())),
                                               check_validity=False, overwrite=True)
        assert (mk.site_run(md, cells, ROOT, cache) is not None) == taken, (text, extra)


def test_the_site_build_left_every_chapter_for_the_export(built):
    """`make test` builds the site first (test_browser.py, same worker): every chapter's
    run is then there to take, or the export would run every chapter again."""
    noted = site_cache.digest_file(ROOT)  # written by the build's prune, before it runs
    if (not site_cache.inputs_noted(ROOT)
            or max(md.stat().st_mtime for md in CHAPTERS) > noted.stat().st_mtime):
        pytest.skip("no site built since the chapters or the companion last changed")
    missing = [md.name for md in CHAPTERS
               if mk.site_run(md, mk._chapter_code(md, ROOT)[0], ROOT) is None]
    assert not missing, f"the site build left no run to take for {missing}"


def test_there_are_chapters():
    assert CHAPTERS, "no MyST notebooks (chapters) found in book/"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every chapter exported once (runs cached with `make notebooks`'s)."""
    out = tmp_path_factory.mktemp("notebooks")
    result = mk.build(out / "out", cache_dir=ROOT / "_build" / "notebooks" / ".executed")
    return out / "out", result


def exported(built, md: Path, variant: str):
    out, _ = built
    return nbformat.read(out / variant / f"{md.stem}.ipynb", as_version=4)


def site_figures(md: Path, run: mk.ChapterRun) -> int:
    """Figures the site shows: glued figures, figure directives and images cells display."""
    text = md.read_text(encoding="utf-8")
    directives = sum(text.count(d) for d in ("{glue:figure}", "{figure}", "{image}")) + text.count("![")
    figure_cells = set(run.glued_in[n] for n, b in run.glue.items() if "image/png" in b)
    shown = sum("image/png" in o.get("data", {}) for k, outputs in enumerate(run.outputs)
                if k not in figure_cells for o in outputs)
    return directives + shown


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_instructor_notebook_shows_every_figure(built, md):
    nb = exported(built, md, "instructor")
    expected = site_figures(md, built[1]["runs"][md.stem])
    assert images(nb) >= expected, f"{md.name}: {images(nb)} images, the site shows {expected} figures"
    assert md.read_text(encoding="utf-8").count("{glue:figure}") == markdown_text(nb).count("*Figure.*")


@pytest.mark.parametrize("variant", mk.VARIANTS)
@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_no_myst_is_left_in_the_markdown(built, md, variant):
    nb = exported(built, md, variant)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert mk.myst_leftovers(cell.source) == [], f"{md.name}: MyST left in\n{cell.source}"
            assert "\\E" not in cell.source.replace("\\Eq", ""), "a math macro left unexpanded"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_numbers_in_the_markdown_are_the_glued_values(built, md):
    """Each {glue:text} of the chapter, formatted from the run's glue record, in order."""
    nb = exported(built, md, "instructor")
    glue = built[1]["runs"][md.stem].glue
    text = markdown_text(nb).replace("\\", "")
    # Figure captions move to just after the cell that draws the figure: their numbers
    # are checked apart from the ordered check of the running text.
    source = built[1]["runs"][md.stem].text  # the chapter as exported
    prose = re.sub(r"(?ms)^```\{glue:figure\}.*?^```$", "", source)
    caption_text = "\n".join(re.findall(r"(?ms)^```\{glue:figure\}.*?^```$", source))
    for source, ordered in ((prose, True), (caption_text, False)):
        position = 0
        for match in GLUE_TEXT.finditer(source):
            if match.group("name") != "glue:text":
                continue
            content = match.group("content")
            key, _, fmt = content.rpartition(":") if ":" in content else (content, "", "")
            value = glue_text(glue[key], fmt)
            found = text.find(value, position)
            assert found >= 0, f"{md.name}: {key} = {value} is not in the notebook's text"
            position = found if ordered else 0


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_has_no_solutions(built, md):
    nb = exported(built, md, "student")
    text = md.read_text(encoding="utf-8")
    codes = code_sources(nb)
    assert not [c for c in solution_code(md) if mk.code_for_notebook(c) in codes], \
        "solution code left in the student notebook"
    assert len([c for c in codes if c.startswith(mk.PLACEHOLDER_CODE)]) == text.count("{solution-start}")
    markdown = markdown_text(nb)
    assert text.count("{exercise}") == markdown.count("**Exercise"), "an exercise was lost"
    assert "**Solution**" not in markdown
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_needs_no_solution(md):
    """No cell after a solution uses a name that only solutions define (NameError)."""
    solutions = solution_code(md)
    defined_elsewhere: set[str] = set()
    only_in_solutions: set[str] = set()
    for cell in jupytext.read(md).cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        if source in solutions:
            only_in_solutions |= bound_names(source) - defined_elsewhere
            continue
        if mk.STUDENT_CHECK in cell.metadata.get("tags", []):
            continue  # the check cells take the student's own answer
        missing = (used_names(source) & only_in_solutions) - defined_elsewhere
        assert not missing, (f"{md.name}: a cell outside the solutions uses {missing}, "
                             "defined only in a solution")
        defined_elsewhere |= bound_names(source)


def test_zips_hold_the_notebooks_and_the_companion_source(built):
    out, result = built
    for variant in mk.VARIANTS:
        with zipfile.ZipFile(out / mk.ZIP_NAME.format(variant=variant)) as archive:
            names = archive.namelist()
            folder = f"shapley-book-{variant}"
            for md in CHAPTERS:
                nbformat.validate(nbformat.reads(archive.read(f"{folder}/{md.stem}.ipynb").decode(),
                                                 as_version=4))
            assert f"{folder}/README.md" in names and f"{folder}/requirements.txt" in names
            assert f"{folder}/companion-src/pyproject.toml" in names
            assert f"{folder}/companion-src/companion/__init__.py" in names
            assert "pip install ./companion-src" in archive.read(f"{folder}/README.md").decode()
            assert not [n for n in names if "__pycache__" in n]


def test_make_notebooks_is_deterministic(built, tmp_path):
    out, _ = built
    again = mk.build(tmp_path / "again",
                     cache_dir=ROOT / "_build" / "notebooks" / ".executed")
    # the first export left every run in the cache: nothing ran or was converted again
    assert {run.source for run in again["runs"].values()} == {"cache"}
    for variant in mk.VARIANTS:
        name = mk.ZIP_NAME.format(variant=variant)
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes()


def test_committed_notebooks_match_the_chapters(built):
    """The Colab/Binder buttons open book/NAME.ipynb: it must be today's export."""
    problems = mk.stale_synced_copies(built[1]["instructor"], ROOT / "book")
    assert not problems, ("\n".join(problems)
                          + "\nRun `make notebooks` and commit the book/*.ipynb files.")


def rotation() -> list[int]:
    if os.environ.get("BOOK_STUDENT_NOTEBOOKS") == "all":
        return list(range(len(CHAPTERS)))
    return [datetime.date.today().toordinal() % len(CHAPTERS)]


def run_notebook(path: Path, python: str | None = None, cwd: Path | None = None) -> str:
    """Execute `path` top to bottom in a fresh kernel of `python`; return its printed text."""
    script = ("import sys, nbformat\nfrom nbclient import NotebookClient\n"
              "nb = nbformat.read(sys.argv[1], as_version=4)\n"
              "NotebookClient(nb, timeout=900, kernel_name='python3', "
              "resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
              "print('\\n'.join(o.get('text', '') for c in nb.cells for o in c.get('outputs', [])))\n")
    run = subprocess.run([python or sys.executable, "-c", script, str(path), str(cwd or path.parent)],
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run.stdout


@pytest.mark.parametrize("index", rotation(), ids=lambda i: CHAPTERS[i].stem)
def test_student_notebook_runs_top_to_bottom(built, index):
    out, _ = built
    printed = run_notebook(out / "student" / f"{CHAPTERS[index].stem}.ipynb")
    assert "Installing:" not in printed


@pytest.mark.slow
def test_fresh_venv_runs_chapter_1_from_the_course_zip(built, tmp_path):
    """A fresh JupyterHub: pinned requirements, `companion` from the zip, chapter 1 runs."""
    out, _ = built
    with zipfile.ZipFile(out / mk.ZIP_NAME.format(variant="student")) as archive:
        archive.extractall(tmp_path)
    course = tmp_path / "shapley-book-student"
    venv = tmp_path / "venv"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # What a JupyterHub has (a kernel, nbclient to run it here) and the package from the
    # zip with the dependencies its pyproject.toml declares, at the versions of the zip's
    # requirements.txt (torch==2.13.0 is the CPU wheel these machines carry).
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "-c", str(course / "requirements.txt")]
    subprocess.run([*pip, str(course / "companion-src"), "ipykernel", "nbclient"], check=True,
                   cwd=tmp_path, timeout=1800)
    installed = time.perf_counter() - started
    where = subprocess.run([python, "-c", "import companion; print(companion.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert str(venv) in where and str(ROOT) not in where, where
    printed = run_notebook(course / f"{CHAPTERS[0].stem}.ipynb", python=python)
    assert "Installing:" not in printed
    print(f"fresh venv: installed in {installed:.0f} s, "
          f"chapter 1 ran in {time.perf_counter() - started - installed:.0f} s")


# ------------------------------------------------------------------ installable anywhere
def test_the_repository_url_is_only_in_config():
    """A fork re-points everything by editing `repository.url` in _config.yml alone."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    holders = [name for name in tracked if not name.endswith(".ipynb") and (ROOT / name).is_file()
               and REPO_URL.encode() in (ROOT / name).read_bytes()]
    assert holders == ["_config.yml"], holders


def test_binder_pins_are_the_requirements():
    pins = mk.pinned_requirements(ROOT)
    binder = [line for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
              if line and not line.startswith(("#", "-"))]
    assert binder and all(pins[mk.notebook_parts_normalise(line.split("==")[0])] == line
                          for line in binder), binder
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_companion_declares_what_the_chapters_import():
    """`pip install companion` alone must bring every module a chapter imports."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {mk.notebook_parts_normalise(re.split(r"[<>=!~ ]", d)[0]) for d in declared}
    needed = set()
    for md in CHAPTERS:
        code = [mk.code_for_notebook(c.source) for c in jupytext.read(md).cells if c.cell_type == "code"]
        needed |= {mk.notebook_parts_normalise(mk.requirement_for(m, {}, REPO_URL).split("==")[0])
                   for m in mk.imported_modules(code)
                   if m != "companion" and not mk.is_repository_module(m, ROOT)}
    assert needed <= names, f"pyproject.toml misses {needed - names}"
