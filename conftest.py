"""Let pytest run the book's MyST text notebooks through nbval.

Chapters live in ``book/*.md`` as jupytext MyST notebooks (a YAML header with a
``kernelspec``). This hook reads each one with jupytext and hands the in-memory notebook
to nbval, which runs every code cell in a fresh kernel: a cell that raises (a failing
``assert``, a shape error) fails the test. No ``.ipynb`` is written. Outputs are not
compared (the text notebooks store none); the checks are the notebooks' own asserts.

It also tells pytest-xdist which test files share a worker (see `SITE_GROUP`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

try:
    import jupytext
    from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags
except ImportError:  # pragma: no cover - the Makefile installs both
    jupytext = None


def is_myst_notebook(path: Path) -> bool:
    """True for a Markdown file whose front matter declares a Jupyter kernel."""
    if path.suffix != ".md":
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "kernelspec:" in head and "format_name: myst" in head


if jupytext is not None:

    class MySTNotebook(IPyNbFile):
        """An nbval collector for a jupytext MyST notebook (``.md``)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.compare_outputs = False  # text notebooks carry no outputs to compare

        def collect(self):
            self.nb = jupytext.read(self.path)
            code_cells = (c for c in self.nb.cells if c.cell_type == "code")
            for number, cell in enumerate(code_cells):
                options = defaultdict(bool, find_metadata_tags(cell.metadata))
                options.update(dict(find_comment_markers(cell.source)))
                options["check"] = False
                yield IPyNbCell.from_parent(
                    self, name=f"Cell {number}", cell_num=number, cell=cell, options=options
                )

    def pytest_collect_file(file_path: Path, parent):
        if is_myst_notebook(file_path):
            return MySTNotebook.from_parent(parent, path=file_path)
        return None


#: Test modules that share one pytest-xdist worker, in this order: the browser test
#: builds the site, which runs every chapter (MyST-NB's jupyter-cache keeps the runs),
#: and the notebook export then takes those runs instead of running every chapter again
#: (tools/make_notebooks.py, `site_run`). On two workers this saves about four minutes.
SITE_GROUP = ("tests/test_browser.py", "tests/test_notebooks.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` (the Makefile's: nbval runs a chapter's cells in one kernel),
    with `SITE_GROUP`'s files as one unit of work, in that order."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SiteTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "book-site" if path in SITE_GROUP else path

    return SiteTogether(config, log)
