"""The whole book as one PDF, without TeX: a single-page HTML build printed by Chromium.

1. ``jupyter-book build . --builder singlehtml -W -n --keep-going`` writes every chapter
   into one page, ``_build/singlehtml/index.html`` (executed outputs come from the
   jupyter-cache that ``make book`` fills, so nothing runs twice).
2. That page is served on 127.0.0.1 and opened in headless Chromium (the Debian
   ``chromium`` and ``chromium-driver`` the browser test uses). The script waits until
   every image is decoded and MathJax (served from the book's own ``_static``) has
   typeset all the math, opens the exercise solutions (paper cannot expand a dropdown),
   switches to print media and scales a display equation wider than the printed column
   down to fit it (``bookFitEquations`` in ``_static/book.js``).
3. ``Page.printToPDF`` prints it on A4 with page numbers; the print rules of
   ``_static/book.css`` wrap long code lines, so nothing is cut off.

The PDF lands in ``_build/pdf/`` and, when the HTML book is built, next to its
``index.html``, where the link in every page's footer and under the chapter list points.

Usage: ``python tools/make_pdf.py [--path-output DIR] [--skip-build]`` (``make pdf`` runs it).
Prints the page count, the pages with figures and the size; exit status 1 on failure.
"""

from __future__ import annotations

import argparse
import base64
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import browser_check  # noqa: E402
from book_html_fixes import PDF_NAME  # noqa: E402

A4 = {"paperWidth": 8.27, "paperHeight": 11.69}  # inches
MARGIN_IN = 0.55
RENDER_TIMEOUT_S = 300
SINGLE_PAGE = "book-single-page.html"

# Runs in the page: wait for images and MathJax, open the solutions, report the state.
PREPARE_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  for (let waited = 0; document.readyState !== "complete" && waited < 60000; waited += 100) {
    await sleep(100);
  }
""" + browser_check.SETTLE_JS + r"""  // Exercise solutions are collapsed dropdowns on the site; print them open.
  document.querySelectorAll(".solution.toggle-hidden, .solution .toggle-hidden")
          .forEach(el => el.classList.remove("toggle-hidden"));
  document.querySelectorAll("details.solution, .solution details")
          .forEach(d => { d.open = true; });
  const math = Array.from(document.querySelectorAll(".math"));
  done({
    images: imgs.length,
    broken: imgs.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src),
    math: math.length,
    unrendered: math.filter(el => !el.querySelector("mjx-container")).length,
    mathErrors: document.querySelectorAll("mjx-merror").length,
  });
})().catch(error => done({jsError: String(error)}));
"""


@dataclass
class PdfReport:
    """What was printed: the file, its pages, and the page state before printing."""

    path: Path
    pages: int
    pages_with_images: int
    size_bytes: int
    images: int
    math: int
    problems: list[str]


def build_singlehtml(root: Path = ROOT, output: Path | None = None,
                     timeout: int = 3600) -> subprocess.CompletedProcess:
    """Build the one-page HTML book of `root` into output/_build/singlehtml.

    `output` defaults to `root` (then the build shares make book's jupyter-cache, whose
    runs that may have used other files than today's are removed first: site_cache.prune).
    """
    import site_cache

    site_cache.prune(root, Path(output or root) / site_cache.SITE_CACHE)
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book", "build", ".", "--builder",
               "singlehtml", "-W", "-n", "--keep-going"]
    if output is not None and Path(output).resolve() != Path(root).resolve():
        command += ["--path-output", str(output)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True,
                          timeout=timeout, check=False)


def pages_with_images(pdf: Path) -> tuple[int, list[int]]:
    """(number of pages, 1-based numbers of the pages that draw an image) of `pdf`."""
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    found = []
    for number, page in enumerate(reader.pages, start=1):
        if _page_has_image(page.get("/Resources")):
            found.append(number)
    return len(reader.pages), found


def _page_has_image(resources, depth: int = 0) -> bool:
    """True when the resources (or a form XObject inside them) hold an image XObject."""
    if resources is None or depth > 6:
        return False
    resources = resources.get_object()
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return False
    for ref in xobjects.get_object().values():
        xobject = ref.get_object()
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            return True
        if subtype == "/Form" and _page_has_image(xobject.get("/Resources"), depth + 1):
            return True
    return False


def _start_page(html_dir: Path) -> str:
    """The page that holds the book, placed where its links expect it.

    Sphinx's single-page builder writes the book to the root document's path
    (``book/intro.html``, behind an ``index.html`` that redirects to it) but writes every
    link in it (``_static/``, ``_images/``) relative to the output folder: a copy of the
    page at the top of the folder loads them all.
    """
    index = (html_dir / "index.html").read_text(encoding="utf-8")
    redirect = re.search(r'http-equiv="Refresh" content="\d+;\s*url=([^"]+)"', index, re.I)
    if not redirect:
        return "index.html"
    page = redirect[1].split("#")[0]
    if "/" in page:
        shutil.copyfile(html_dir / page, html_dir / SINGLE_PAGE)
        return SINGLE_PAGE
    return page


def print_pdf(html_dir: Path, out: Path) -> PdfReport:
    """Print html_dir/index.html (a single-page build) to `out` with headless Chromium."""
    browser, driver = browser_check.find_browser()
    if not browser or not driver:
        raise RuntimeError("chromium and chromedriver are needed: "
                           "apt-get install chromium chromium-driver")
    problems = []
    with browser_check.serve(html_dir) as base_url, \
            browser_check.chromium(browser, driver) as web:
        web.set_script_timeout(RENDER_TIMEOUT_S)
        web.set_page_load_timeout(RENDER_TIMEOUT_S)
        web.get(base_url + _start_page(html_dir))
        state = web.execute_async_script(PREPARE_JS)
        if "jsError" in state:
            raise RuntimeError(f"preparing the page failed: {state['jsError']}")
        if state["broken"]:
            problems.append(f"images that did not load: {state['broken'][:5]}")
        if state["unrendered"] or state["mathErrors"]:
            problems.append(f"{state['unrendered']} math elements not typeset, "
                            f"{state['mathErrors']} MathJax errors")
        web.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        time.sleep(0.5)
        web.execute_script("if (window.bookFitEquations) window.bookFitEquations();")
        footer = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
                  '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
        result = web.execute_cdp_cmd("Page.printToPDF", {
            **A4, "marginTop": MARGIN_IN, "marginBottom": MARGIN_IN,
            "marginLeft": MARGIN_IN, "marginRight": MARGIN_IN,
            "printBackground": True, "displayHeaderFooter": True,
            "headerTemplate": "<div></div>", "footerTemplate": footer,
            "generateDocumentOutline": True, "generateTaggedPDF": True,
        })
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(result["data"]))
    pages, with_images = pages_with_images(out)
    return PdfReport(path=out, pages=pages, pages_with_images=len(with_images),
                     size_bytes=out.stat().st_size, images=state["images"],
                     math=state["math"], problems=problems)


def make_pdf(root: Path = ROOT, output: Path | None = None, build: bool = True) -> PdfReport:
    """Build the single-page book (unless `build` is False), print it, place the PDF.

    `output` is the folder holding _build/ (default `root`), as jupyter-book's
    --path-output.
    """
    root = Path(root)
    output = Path(output) if output is not None else root
    if build:
        result = build_singlehtml(root, output)
        if result.returncode != 0:
            raise RuntimeError("the single-page build failed:\n"
                               + result.stdout[-4000:] + result.stderr[-4000:])
    single = output / "_build" / "singlehtml"
    if not (single / "index.html").exists():
        raise FileNotFoundError(f"{single}/index.html not found: build it first")
    report = print_pdf(single, output / "_build" / "pdf" / PDF_NAME)
    site = output / "_build" / "html"
    if (site / "index.html").exists():
        shutil.copyfile(report.path, site / PDF_NAME)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path-output", type=Path, default=ROOT,
                        help="the folder holding _build/, as jupyter-book's --path-output "
                             "(default: the repository)")
    parser.add_argument("--skip-build", action="store_true",
                        help="print the existing _build/singlehtml without rebuilding it")
    args = parser.parse_args(argv)
    report = make_pdf(ROOT, args.path_output, build=not args.skip_build)
    print(f"{report.path}: {report.pages} pages, {report.pages_with_images} with figures, "
          f"{report.size_bytes / 1e6:.1f} MB ({report.images} images, "
          f"{report.math} math elements)")
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
