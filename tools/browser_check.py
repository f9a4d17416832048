"""Open every page of the built book in headless Chromium and check what a reader sees.

Serves ``_build/html`` on 127.0.0.1 (a free port), opens each page with selenium and the
Debian ``chromium`` / ``chromium-driver`` packages, and checks that

* the page logs no console errors (errors about other hosts are reported apart: the
  machine is offline, and the book loads nothing from the network);
* every image has loaded (``naturalWidth > 0``);
* the math is rendered: every ``.math`` element holds MathJax output, no TeX error box,
  and no raw ``$...$``, ``\\(...\\)`` or ``\\[...\\]`` is left in the text;
* every image in the content has non-empty alt text that is not just a file name;
* every exercise solution is collapsed (its content hidden until the reader opens it);
* at 400 px wide (a phone) the page does not scroll sideways.

It saves a full-page screenshot of each page at 1280 px and at 400 px under
``_build/screenshots/`` (``desktop/`` and ``mobile/``), and a ``report.json``.

Usage: ``python tools/browser_check.py [--build] [--html _build/html] [--out _build/screenshots]``
(``--build`` first runs ``jupyter-book build . --all -W -n --keep-going``, as ``make book``).
Exit status 1 when any page has a problem.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
DESKTOP_WIDTH, DESKTOP_HEIGHT = 1280, 900
MOBILE_WIDTH, MOBILE_HEIGHT = 400, 850
PAGE_TIMEOUT_S = 30
MAX_SCREENSHOT_HEIGHT = 60000  # px: a longer page is cut there
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--metrics-recording-only",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads"}


def find_browser() -> tuple[str | None, str | None]:
    """Paths of the Debian chromium and chromedriver, or None where missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return browser, driver


def build_book(root: Path = ROOT, timeout: int = 1800) -> subprocess.CompletedProcess:
    """Build the book as `make book` does (execution results come from jupyter-cache)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    command = [str(exe) if exe.exists() else "jupyter-book", "build", ".", "--all", "-W", "-n",
               "--keep-going"]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout)


def pages(html_dir: Path) -> list[Path]:
    """Every HTML page of the built book (not the theme's assets), relative to `html_dir`."""
    found = []
    for path in sorted(Path(html_dir).rglob("*.html")):
        relative = path.relative_to(html_dir)
        if not SKIP_DIRS.intersection(relative.parts):
            found.append(relative)
    return found


@contextlib.contextmanager
def serve(directory: Path):
    """Serve `directory` over HTTP on 127.0.0.1 at a free port; yield the base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output readable
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def chromium(browser: str, driver: str):
    """A headless Chromium driven by selenium through the system chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={DESKTOP_WIDTH},{DESKTOP_HEIGHT}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        web = webdriver.Chrome(options=options, service=Service(executable_path=driver))
        web.set_page_load_timeout(PAGE_TIMEOUT_S)
        web.set_script_timeout(PAGE_TIMEOUT_S)
        try:
            yield web
        finally:
            web.quit()


# Runs in the page: wait for fonts, images and MathJax, then report what we check.
INSPECT_JS = r"""
const expectedImages = arguments[0];
const done = arguments[arguments.length - 1];
(async () => {
  // Wait until the document is complete and shows every <img> of the served file (a busy
  // machine can hand us the page before it has all its elements), at most 15 s.
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  for (let waited = 0; waited < 15000; waited += 100) {
    if (document.readyState === "complete" && document.images.length >= expectedImages) break;
    await sleep(100);
  }
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = "eager"; });
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  const article = document.querySelector("article") || document.querySelector("main") || document.body;
  const images = imgs.map(img => ({
    src: img.currentSrc || img.src,
    alt: img.getAttribute("alt"),
    inContent: article.contains(img),
    inFigure: !!img.closest("figure"),
    loaded: img.complete && img.naturalWidth > 0,
    width: img.naturalWidth,
    height: img.naturalHeight,
  }));
  const mathNodes = Array.from(article.querySelectorAll(".math"));
  const unrendered = mathNodes.filter(el => !el.querySelector("mjx-container"))
                              .map(el => el.textContent.slice(0, 80));
  const mathErrors = Array.from(article.querySelectorAll("mjx-merror, .MathJax_Error"))
                          .map(el => el.textContent.slice(0, 80));
  const clone = article.cloneNode(true);
  clone.querySelectorAll("pre, code, .highlight, mjx-container, script, style, .cell_output")
       .forEach(el => el.remove());
  const text = clone.textContent;
  // Exercise solutions (sphinx-exercise) and dropdown admonitions must start collapsed.
  // myst-nb's "show code cell source" toggles are code, not solutions: left out.
  const solutions = Array.from(article.querySelectorAll(".solution, .admonition.dropdown, details.dropdown"))
                         .filter(el => !el.matches(".hide, .tag_hide-input *")).map(el => {
    if (el.tagName === "DETAILS") {
      return {id: el.id || el.className, open: el.open, visibleParts: 0};
    }
    const title = el.querySelector(":scope > .admonition-title");
    const body = Array.from(el.children).filter(child => child !== title && child.tagName !== "BUTTON");
    const visible = body.filter(child => child.offsetParent !== null
                                         && child.getBoundingClientRect().height > 1);
    return {id: el.id || el.className, open: false, visibleParts: visible.length};
  });
  done({title: document.title, images, mathCount: mathNodes.length,
        mathjaxLoaded: !!window.MathJax, unrendered, mathErrors, text, solutions,
        scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth});
})().catch(error => done({jsError: String(error)}));
"""

# Console errors that are not the book's: (pattern, why it is tolerated). Each is reported
# as a note, so it stays visible.
KNOWN_CONSOLE_ISSUES = (
    (re.compile(r"/favicon\.ico - Failed to load resource"),
     "the browser asks for /favicon.ico by itself; the book sets no favicon"),
    (re.compile(r"Identifier 'THEBE_JS_URL' has already been declared"),
     "Sphinx 7.4 writes sphinx-thebe's inline script twice (harmless: thebe is not used); "
     "tools/book_html_fixes.py removes the copy once enabled in _config.yml"),
)
RAW_MATH = re.compile(r"(?<![\\$])\$[^$\s][^$\n]{0,200}?\$|\\\(.{1,200}?\\\)|\\\[.{1,400}?\\\]", re.S)
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}


CATEGORIES = ("page", "console", "images", "alt", "math", "solutions", "mobile")


@dataclass
class PageReport:
    """What one page showed: counts, and problems by category (see CATEGORIES)."""

    page: str
    problems: dict[str, list[str]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    notes: list[str] = field(default_factory=list)
    images: int = 0
    figures: int = 0
    figure_sizes: list[str] = field(default_factory=list)
    math: int = 0
    solutions: int = 0
    screenshots: list[str] = field(default_factory=list)

    @property
    def problem_count(self) -> int:
        return sum(len(found) for found in self.problems.values())


def _external(message: str) -> bool:
    """True when a console message is about a URL on another host (offline machine)."""
    urls = re.findall(r"(?:https?|wss?)://[^\s'\")]+", message)
    return bool(urls) and all(urlparse(u).hostname not in LOCAL_HOSTS for u in urls)


def _alt_problem(image: dict) -> str | None:
    alt = (image.get("alt") or "").strip()
    name = Path(urlparse(image["src"]).path).name
    if not alt:
        return f"image without alt text: {name}"
    if alt == name or re.fullmatch(r"[\w./-]+\.(png|jpe?g|svg|gif|webp)", alt):
        return f"image whose alt text is a file name ({alt}): {name}"
    return None


def _screenshot(web, path: Path, width: int, height: int, full_page: bool) -> None:
    """Save a PNG of the page at this width (the whole page height when `full_page`)."""
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
    web.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    if full_page:
        total = web.execute_script("return document.documentElement.scrollHeight")
        metrics["height"] = min(max(int(total), height), MAX_SCREENSHOT_HEIGHT)
        web.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    web.execute_async_script(
        "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));")
    data = web.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(data))


def check_page(web, base_url: str, html_dir: Path, page: Path, out_dir: Path) -> PageReport:
    """Open one page and return what is wrong with it."""
    report = PageReport(page=page.as_posix())
    web.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    web.set_window_size(DESKTOP_WIDTH, DESKTOP_HEIGHT)
    web.get_log("browser")  # drop messages from the previous page
    web.get(base_url + page.as_posix())
    served_images = len(re.findall(r"<img\b", (html_dir / page).read_text(encoding="utf-8")))
    state = web.execute_async_script(INSPECT_JS, served_images)
    if "jsError" in state:
        report.problems["page"].append(f"the page inspection script failed: {state['jsError']}")
        return report

    for entry in web.get_log("browser"):
        if entry.get("level") != "SEVERE":
            continue
        message = entry.get("message", "")
        known = next((why for pattern, why in KNOWN_CONSOLE_ISSUES if pattern.search(message)), None)
        if known:
            report.notes.append(f"known console message ({known}): {message[:160]}")
        elif _external(message):
            report.notes.append(f"external resource not loaded (offline): {message[:200]}")
        else:
            report.problems["console"].append(message[:300])

    for image in state["images"]:
        report.images += 1
        name = Path(urlparse(image["src"]).path).name
        if urlparse(image["src"]).hostname not in LOCAL_HOSTS:
            report.problems["images"].append(f"image loaded from another host: {image['src']}")
        elif not image["loaded"]:
            report.problems["images"].append(f"image did not load: {name}")
        if image["inContent"]:
            report.figures += image["inFigure"]
            report.figure_sizes.append(f"{name}: {image['width']}x{image['height']}")
            problem = _alt_problem(image)
            if problem:
                report.problems["alt"].append(problem)

    if report.images < served_images:
        report.problems["images"].append(
            f"the browser shows {report.images} of the {served_images} <img> elements of the file")

    report.math = state["mathCount"]
    if state["mathCount"] and not state["mathjaxLoaded"]:
        report.problems["math"].append(f"{state['mathCount']} math elements but MathJax did not load")
    for raw in state["unrendered"][:5]:
        report.problems["math"].append(f"math not rendered by MathJax: {raw!r}")
    for error in state["mathErrors"][:5]:
        report.problems["math"].append(f"MathJax error: {error!r}")
    for raw in RAW_MATH.findall(state["text"])[:5]:
        report.problems["math"].append(f"raw TeX left in the text: {raw[:80]!r}")

    for solution in state["solutions"]:
        report.solutions += 1
        if solution["open"] or solution["visibleParts"]:
            report.problems["solutions"].append(f"solution not collapsed: {solution['id']}")

    stem = page.with_suffix("").as_posix().replace("/", "__")
    desktop = out_dir / "desktop" / f"{stem}.png"
    _screenshot(web, desktop, DESKTOP_WIDTH, DESKTOP_HEIGHT, full_page=True)
    mobile = out_dir / "mobile" / f"{stem}.png"
    _screenshot(web, mobile, MOBILE_WIDTH, MOBILE_HEIGHT, full_page=True)
    width = web.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1] + 1:
        report.problems["mobile"].append(f"at {MOBILE_WIDTH} px wide the page scrolls sideways "
                               f"(content {width[0]} px wide)")
    web.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    report.screenshots = [desktop.relative_to(out_dir).as_posix(), mobile.relative_to(out_dir).as_posix()]
    return report


def check_site(html_dir: Path = ROOT / "_build" / "html",
               out_dir: Path = ROOT / "_build" / "screenshots") -> list[PageReport]:
    """Check every page of `html_dir`; write screenshots and report.json to `out_dir`."""
    browser, driver = find_browser()
    if not browser or not driver:
        raise RuntimeError("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    html_dir, out_dir = Path(html_dir), Path(out_dir)
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"{html_dir}/index.html not found: build the book first (make book)")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    reports = []
    with serve(html_dir) as base_url, chromium(browser, driver) as web:
        for page in pages(html_dir):
            reports.append(check_page(web, base_url, html_dir, page, out_dir))
    (out_dir / "report.json").write_text(json.dumps([asdict(r) for r in reports], indent=1))
    return reports


def summary(reports: list[PageReport]) -> str:
    """One line per page, then every problem."""
    lines = [f"{r.page}: {r.images} images ({r.figures} in figures), {r.math} math, "
             f"{r.solutions} solutions, {r.problem_count} problems" for r in reports]
    for r in reports:
        lines += [f"  PROBLEM {r.page} [{c}]: {p}" for c, ps in r.problems.items() for p in ps]
        lines += [f"  note {r.page}: {n}" for n in r.notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="build the book first (as make book)")
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    args = parser.parse_args(argv)
    if args.build:
        result = build_book()
        if result.returncode != 0:
            print(result.stdout[-5000:], result.stderr[-5000:], sep="\n")
            print("the book build failed")
            return 1
    reports = check_site(args.html, args.out)
    print(summary(reports))
    print(f"screenshots in {args.out}")
    return 1 if any(r.problem_count for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
