"""The rendered book, opened page by page in headless Chromium (tools/browser_check.py).

The module builds the book exactly as `make book` does (`jupyter-book build . --all -W -n
--keep-going`; executed chapters come from the jupyter-cache in `_build/.jupyter_cache`, so
a later `make book` does not execute them again), serves `_build/html` on 127.0.0.1, and
checks every page as a reader meets it, at 1280 x 900 and at 390 x 844 (a phone): the
sidebar toggles, code and equations that fit their column, nothing cut off on a phone, and
axe-core's accessibility rules. Screenshots of every page at both widths land in
`_build/screenshots/`. It then prints the PDF of the book (tools/make_pdf.py, as `make
pdf`) and checks it. Without Chromium the whole module is skipped; without axe-core
(`.ci/run` installs it from the npm registry) the accessibility test is. pytest's summary
says so.
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
import make_pdf  # noqa: E402
from book_html_fixes import PDF_NAME  # noqa: E402
from make_notebooks import chapter_sources  # noqa: E402

BROWSER, DRIVER = browser_check.find_browser()
pytestmark = pytest.mark.skipif(
    not (BROWSER and DRIVER),
    reason="BROWSER TEST SKIPPED: no chromium/chromedriver on PATH. Install the Debian "
           "packages (`apt-get install chromium chromium-driver`; .ci/run does) to run it.",
)
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
# An absolute path of the machine that built the book (a warning, a traceback).
MACHINE_PATH = re.compile(r"(?<![\w.:/])/(?:work|root|home|tmp|usr|opt|var)/[\w.+-]+"
                          r"|site-packages|\.venv/lib/")
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
        assert len(report.screenshots) >= 2, page
        for shot in report.screenshots:
            path = SHOTS / shot
            assert path.exists() and path.stat().st_size > 1000, f"missing or empty screenshot {path}"


def test_sidebar_toggles_open_and_close_the_drawers(reports):
    assert not problems(reports, "toggles"), "\n".join(problems(reports, "toggles"))
    shots = [page for page, r in reports.items() if any("mobile-nav/" in s for s in r.screenshots)]
    assert "book/01_three_player_game.html" in shots, (
        "no phone screenshot of chapter 1 with its chapter list opened from the hamburger")


# Planted into a built page before the toggle check: a hamburger whose taps are swallowed,
# and one that opens its drawer 2.5 s late (a browser whose frames starve on a busy
# machine; longer than the settle wait after a tap, shorter than TOGGLE_STATE_S).
DEAD_TOGGLE_JS = r"""
window.addEventListener("click", e => {
  if (e.target.closest(".primary-toggle")) { e.stopImmediatePropagation(); e.preventDefault(); }
}, true);
"""
SLOW_TOGGLE_JS = r"""
let late = false;
window.addEventListener("click", e => {
  const button = e.target.closest(".primary-toggle");
  if (!button || late) return;
  e.stopImmediatePropagation(); e.preventDefault();
  setTimeout(() => { late = true; button.click(); late = false; }, 2500);
}, true);
"""


def test_toggle_check_rejects_a_dead_hamburger_and_waits_for_a_slow_one(reports):
    """The toggle check can fail: on a phone, a hamburger that does nothing is reported;
    one whose drawer opens 2.5 s after the tap is not (CI once failed a working drawer
    that was read before it had slid in)."""
    found = {}
    with browser_check.serve(HTML) as base_url, \
            browser_check.chromium(BROWSER, DRIVER) as web:
        browser_check._set_viewport(web, browser_check.MOBILE_WIDTH,
                                    browser_check.MOBILE_HEIGHT)
        for name, script in (("dead", DEAD_TOGGLE_JS), ("slow", SLOW_TOGGLE_JS),
                             ("as built", "")):
            web.get(base_url + "book/01_three_player_game.html")
            if script:
                web.execute_script(script)
            report = browser_check.PageReport(page=name)
            browser_check.check_toggles(web, report, browser_check.MOBILE_WIDTH,
                                        browser_check.MOBILE_HEIGHT)
            found[name] = report.problems["toggles"]
    assert any("did not open the chapter list" in p for p in found["dead"]), found
    assert not found["slow"], found
    assert not found["as built"], found


def test_code_and_equations_fit_their_column(reports):
    """At 1280 px no code block or display equation scrolls sideways.

    Code lines of at most 88 characters fit (tests/test_style.py keeps them so); a longer
    equation is split over lines in the chapter (aligned / multline environments).
    """
    found = problems(reports, "overflow")
    assert not found, f"{len(found)} blocks wider than their column:\n" + "\n".join(found)


def test_accessibility_axe(reports):
    if browser_check.load_axe() is None:
        pytest.skip(f"AXE-CORE CHECK SKIPPED: {browser_check.AXE_JS} not found. Install it "
                    "with `npm ci --prefix .ci/node` (.ci/run does), or set AXE_CORE_JS.")
    not_run = [page for page, r in reports.items() if r.axe is None]
    assert not not_run, f"axe-core did not run on {not_run}"
    print(browser_check.axe_table(list(reports.values())))
    found = problems(reports, "axe")
    assert not found, "axe-core violations:\n" + "\n".join(found)


def test_no_path_of_the_build_machine(reports):
    """No page or notebook shows where the book was built (a warning, a traceback)."""
    found = []
    files = [p for p in HTML.rglob("*.html") if "_static" not in p.parts]
    files += sorted((ROOT / "book").glob("*.ipynb"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in MACHINE_PATH.finditer(text):
            context = text[max(0, match.start() - 60):match.end() + 40].replace("\n", " ")
            found.append(f"{path.relative_to(ROOT)}: ...{context}...")
            break
    assert not found, "pages or notebooks show a path of the build machine:\n" + "\n".join(found)


def test_footer_reads_naturally_and_links_the_pdf(reports):
    page = (HTML / "book" / "01_three_player_game.html").read_text(encoding="utf-8")
    author = re.search(r'<p class="component-author">\s*(.*?)\s*</p>', page, re.S)
    assert author, "the page footer names no author"
    line = " ".join(author[1].split())
    assert not re.match(r"By The\b", line), f"the footer reads {line!r}"
    assert line.startswith("By the authors of "), line
    links = re.findall(r'<a class="book-pdf-link" href="([^"]+)"', page)
    assert len(links) == 2, "the PDF link belongs in the footer and under the chapter list"
    assert all(link.endswith(PDF_NAME) for link in links), links


@pytest.fixture(scope="module")
def pdf(reports) -> make_pdf.PdfReport:
    try:
        import pypdf  # noqa: F401
    except ImportError:
        pytest.fail("pypdf is missing: it is pinned in requirements.txt; run `make test`")
    return make_pdf.make_pdf(ROOT)


def test_pdf_of_the_whole_book(pdf):
    """The PDF (make pdf) holds every chapter with its figures and math, on A4."""
    print(f"{pdf.path}: {pdf.pages} pages, {pdf.pages_with_images} with figures, "
          f"{pdf.size_bytes / 1e6:.1f} MB")
    assert not pdf.problems, "\n".join(pdf.problems)
    chapters_with_figures = [md.stem for md in chapter_sources(ROOT / "book")
                             if FIGURE_DIRECTIVE.search(md.read_text(encoding="utf-8"))]
    assert pdf.pages_with_images >= len(chapters_with_figures), (
        f"{pdf.pages_with_images} pages of the PDF show a figure; "
        f"{len(chapters_with_figures)} chapters have figures: {chapters_with_figures}")
    assert pdf.math > 0 and pdf.pages > 10
    assert (HTML / PDF_NAME).exists(), "the PDF is not next to the site's index.html"
