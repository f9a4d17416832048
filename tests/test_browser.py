"""The rendered book, opened page by page in headless Chromium (tools/browser_check.py).

The module builds the book exactly as `make book` does (`jupyter-book build . --all -W -n
--keep-going`; executed chapters come from the jupyter-cache in `_build/.jupyter_cache`, so
a later `make book` does not execute them again), serves `_build/html` on 127.0.0.1, and
checks every page as a reader meets it. Screenshots of every page at 1280 px and 400 px
wide land in `_build/screenshots/`. Without Chromium the whole module is skipped, and
pytest's summary says so.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import browser_check  # noqa: E402
from make_notebooks import chapter_sources  # noqa: E402

BROWSER, DRIVER = browser_check.find_browser()
pytestmark = pytest.mark.skipif(
    not (BROWSER and DRIVER),
    reason="BROWSER TEST SKIPPED: no chromium/chromedriver on PATH. Install the Debian "
           "packages (`apt-get install chromium chromium-driver`; .ci/run does) to run it.",
)
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
FIGURE_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\s*\{(glue:figure|figure)\}", re.M)


@pytest.fixture(scope="module")
def reports() -> dict[str, browser_check.PageReport]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("selenium is missing: it is pinned in requirements.txt; run `make test` "
                    "(which installs requirements) or pip install -r requirements.txt")
    build = browser_check.build_book(ROOT)
    assert build.returncode == 0, (
        "the book does not build (same command as `make book`):\n"
        + build.stdout[-4000:] + build.stderr[-4000:])
    found = browser_check.check_site(HTML, SHOTS)
    print(browser_check.summary(found))
    return {r.page: r for r in found}


def toc_pages() -> list[str]:
    """The HTML page of every file listed in _toc.yml."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters", []) + entry.get("sections", []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return [f"{f}.html" for f in files]


def problems(reports, category: str) -> list[str]:
    return [f"{page}: {p}" for page, r in reports.items() for p in r.problems[category]]


def test_every_page_of_the_table_of_contents_was_opened(reports):
    missing = [page for page in toc_pages() if page not in reports]
    assert not missing, f"pages in _toc.yml that were not built or not opened: {missing}"
    assert not problems(reports, "page"), "\n".join(problems(reports, "page"))


def test_no_console_errors(reports):
    assert not problems(reports, "console"), "console errors:\n" + "\n".join(problems(reports, "console"))


def test_every_image_loads(reports):
    assert not problems(reports, "images"), "\n".join(problems(reports, "images"))


def test_every_figure_has_alt_text(reports):
    assert not problems(reports, "alt"), "\n".join(problems(reports, "alt"))


def test_math_is_rendered(reports):
    assert not problems(reports, "math"), "\n".join(problems(reports, "math"))
    assert reports["book/01_three_player_game.html"].math > 0, "chapter 1 shows no math at all"


def test_exercise_solutions_are_collapsed(reports):
    assert not problems(reports, "solutions"), "\n".join(problems(reports, "solutions"))
    for md in chapter_sources(ROOT / "book"):
        page = f"book/{md.stem}.html"
        expected = md.read_text(encoding="utf-8").count("{solution-start}")
        if page in reports:
            assert reports[page].solutions >= expected, (
                f"{page}: {expected} solutions in the source, {reports[page].solutions} on the page")


def test_every_chapter_shows_its_figures(reports):
    for md in chapter_sources(ROOT / "book"):
        page = f"book/{md.stem}.html"
        if page not in reports:
            continue  # not in _toc.yml yet: test_harness checks the table of contents
        expected = len(FIGURE_DIRECTIVE.findall(md.read_text(encoding="utf-8")))
        assert reports[page].figures >= expected, (
            f"{page}: {expected} figure directives in {md.name}, {reports[page].figures} figure images shown")


def test_readable_on_a_phone(reports):
    assert not problems(reports, "mobile"), "\n".join(problems(reports, "mobile"))


def test_screenshots_of_every_page(reports):
    for page, report in reports.items():
        assert len(report.screenshots) == 2, page
        for shot in report.screenshots:
            path = SHOTS / shot
            assert path.exists() and path.stat().st_size > 1000, f"missing or empty screenshot {path}"
