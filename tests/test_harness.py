"""Tests of the test harness itself: chapters run through nbval, and a failing check fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import yaml
from notebook_text import MYST_HEADER as HEADER
from notebook_text import code_cell

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
root_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(root_conftest)
is_myst_notebook = root_conftest.is_myst_notebook


def test_a_failing_assert_in_a_chapter_fails_pytest(tmp_path):
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    book = tmp_path / "book"
    book.mkdir()
    (book / "good.md").write_text(HEADER + code_cell("x = 1") + code_cell("assert x == 1"))
    (book / "bad.md").write_text(
        HEADER + code_cell("import numpy as np")
        + code_cell("np.testing.assert_allclose(1.0, 1.1, rtol=0, atol=1e-9, err_msg='caught by nbval')")
    )
    (book / "plain.md").write_text("# Just prose, not a notebook\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "book", "-q", "--nbval-current-env", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 failed, 3 passed" in out, out  # good.md: 2 cells; bad.md: 1 passes, 1 fails
    assert "caught by nbval" in out, out
    assert not list(tmp_path.rglob("*.ipynb")), "the harness must not write .ipynb files"


def test_notebook_detection():
    assert is_myst_notebook(ROOT / "book" / "01_three_player_game.md")
    assert not is_myst_notebook(ROOT / "book" / "intro.md")
    assert not is_myst_notebook(ROOT / "README.md")


def _toc_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        yield from _toc_files(entry.get("chapters", []) + entry.get("sections", []))


def test_every_chapter_is_in_the_table_of_contents_and_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = {toc["root"], *_toc_files(toc.get("parts", []) + toc.get("chapters", []))}
    for entry in listed:
        assert (ROOT / f"{entry}.md").exists(), f"_toc.yml lists {entry} but {entry}.md is missing"
    notebooks = {f"book/{p.stem}" for p in (ROOT / "book").glob("*.md") if is_myst_notebook(p)}
    assert notebooks <= listed, f"notebooks missing from _toc.yml: {sorted(notebooks - listed)}"
