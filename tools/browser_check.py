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
* the sidebar toggles work: at 1280 x 900 the hamburger hides and shows the chapter
  list; at 390 x 844 (a phone) it opens the chapter list as a drawer and a tap beside
  the drawer closes it, and the contents button does the same for the page contents;
* at 1280 px no code block and no display equation is wider than its column (each would
  scroll sideways, hiding the end of its lines);
* at 390 px the page does not scroll sideways and no content is cut off (sticks out of
  the screen, or out of a box that hides its overflow) unless it sits in a box that
  scrolls sideways;
* axe-core (``.ci/node/node_modules/axe-core``, installed by ``.ci/run`` from the npm
  registry; ``AXE_CORE_JS`` names another copy) finds no critical, serious or moderate
  violation on the page, apart from moderate ones listed in KNOWN_AXE_ISSUES with the
  reason they are not ours; minor ones are listed as notes and in the table. Without
  axe-core the accessibility check is skipped and the report says so.

It saves a full-page screenshot of each page at 1280 px and at 390 px under
``_build/screenshots/`` (``desktop/`` and ``mobile/``), the phone with its chapter list
opened from the hamburger (``mobile-nav/``), and a ``report.json``.

Usage: ``python tools/browser_check.py [--build] [--html _build/html] [--out _build/screenshots]``
(``--build`` first runs ``jupyter-book build . --all -W -n --keep-going``, as ``make book``).
Exit status 1 when any page has a problem.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fnmatch
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
DESKTOP_WIDTH, DESKTOP_HEIGHT = 1280, 900
MOBILE_WIDTH, MOBILE_HEIGHT = 390, 844
AXE_JS = Path(os.environ.get(
    "AXE_CORE_JS", ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"))
TOGGLE_SETTLE_S = 2.0  # at most, after a tap: the drawers slide in and out in 0.3 s
TOGGLE_FALLBACK_S = 0.6  # a fixed wait instead, when the page cannot list its animations
# At most, after a tap, for the sidebar to reach the state the tap asks for. On a loaded
# machine the browser's frames starve: the drawer's 0.3 s slide can outlast the settle
# wait, and a drawer read mid-slide is not yet "shown". A toggle that does nothing still
# fails, after this wait.
TOGGLE_STATE_S = 8.0
AXE_TIMEOUT_S = 240  # axe-core on a long chapter, on a busy machine
PAGE_TIMEOUT_S = 120  # a long chapter on a busy machine
COMMAND_TIMEOUT_S = 600
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
    """Build the book as `make book` does (execution results come from jupyter-cache;
    runs that may have used other files than today's are removed first: site_cache.prune)."""
    import site_cache

    site_cache.prune(root)
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
        # selenium gives chromedriver 120 s per command; a full-page screenshot of a long
        # chapter (or axe-core on it) can take longer on a busy machine.
        config = getattr(web.command_executor, "client_config", None)
        if config is not None:
            config.timeout = COMMAND_TIMEOUT_S
        web.set_page_load_timeout(PAGE_TIMEOUT_S)
        web.set_script_timeout(PAGE_TIMEOUT_S)
        try:
            yield web
        finally:
            web.quit()


# Awaited inside the async function of a page script: every image decoded, MathJax
# typeset and the fonts loaded, so what is measured or printed is the final page.
SETTLE_JS = r"""
  const imgs = Array.from(document.images);
  imgs.forEach(img => { img.loading = "eager"; });
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
""".lstrip("\n")

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
""" + SETTLE_JS + r"""  const article = document.querySelector("article") || document.querySelector("main") || document.body;
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

# Runs in the page at 1280 px: code blocks and display equations wider than their column.
OVERFLOW_JS = r"""
const article = document.querySelector("article") || document.querySelector("main");
const found = [];
const where = el => {
  const section = el.closest("section[id]");
  return section ? "#" + section.id : "";
};
article.querySelectorAll("div.highlight pre").forEach(pre => {
  if (!pre.getClientRects().length) return;  // in a collapsed dropdown
  if (pre.scrollWidth > pre.clientWidth + 1) {
    const longest = Math.max(...pre.textContent.split("\n").map(line => line.length));
    found.push({kind: "code", where: where(pre), width: pre.scrollWidth, column: pre.clientWidth,
                text: `longest line ${longest} characters`});
  }
});
article.querySelectorAll('mjx-container[display="true"]').forEach(box => {
  const math = box.querySelector("mjx-math") || box.firstElementChild;
  if (!math || !box.getClientRects().length) return;
  const width = Math.ceil(math.getBoundingClientRect().width);
  if (width > box.clientWidth + 1) {
    const tex = box.closest(".math");
    found.push({kind: "equation", where: where(box), width, column: box.clientWidth,
                text: (box.getAttribute("aria-label") || "").slice(0, 60)});
  }
});
return found;
"""

# Runs in the page at 390 px: content that sticks out of the screen, or out of a box
# that hides its overflow, and is not inside a box that scrolls sideways; and inline
# formulas that scroll although they fit their line.
CLIPPED_JS = r"""
const article = document.querySelector("article") || document.querySelector("main");
const viewport = window.innerWidth;
const selector = "img, svg, pre, table, mjx-container, p, li, dt, dd, h1, h2, h3, h4, "
               + "figcaption, blockquote, .admonition, .cell_output, .highlight, iframe";
const scrolls = el => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
const hides = el => ["hidden", "clip"].includes(getComputedStyle(el).overflowX);
const found = [];
for (const el of article.querySelectorAll(selector)) {
  if (el.closest("mjx-assistive-mml, .visually-hidden, .sr-only, svg svg")) continue;
  if (el.matches("svg") && el.closest("mjx-container")) continue;
  const box = el.getBoundingClientRect();
  if (box.width < 1 || box.height < 1) continue;
  let cut = null;
  let inScroller = false;
  for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
    if (scrolls(up)) { inScroller = true; break; }
    if (hides(up)) {
      const outer = up.getBoundingClientRect();
      if (box.right > outer.right + 1 || box.left < outer.left - 1) {
        cut = `cut off by <${up.tagName.toLowerCase()} class="${up.className}">`;
        break;
      }
    }
  }
  if (!cut && !inScroller && (box.right > viewport + 1 || box.left < -1)) {
    cut = `sticks out of the ${viewport} px screen `
        + `(${Math.round(box.left)} to ${Math.round(box.right)} px)`;
  }
  if (cut) {
    const section = el.closest("section[id]");
    found.push(`<${el.tagName.toLowerCase()}> ${section ? "in #" + section.id : ""} `
               + `"${(el.getAttribute("alt") || el.textContent || "").trim().slice(0, 50)}": `
               + cut);
  }
  if (found.length >= 10) break;
}
// an inline formula that fits its line must not scroll (something invisible in it, such
// as MathJax's copy for screen readers, wider than the formula shown)
for (const span of article.querySelectorAll("span.math")) {
  const math = span.querySelector("mjx-math");
  if (!math || !span.getClientRects().length || found.length >= 10) continue;
  const shown = Math.ceil(math.getBoundingClientRect().width);
  if (shown <= span.clientWidth + 1 && span.scrollWidth > span.clientWidth + 1) {
    const section = span.closest("section[id]");
    found.push(`inline formula ${section ? "in #" + section.id : ""} `
               + `"${span.textContent.trim().slice(0, 30)}" scrolls (${span.scrollWidth} `
               + `px of content in ${span.clientWidth} px) although it is ${shown} px wide`);
  }
}
return {found, scrollWidth: document.documentElement.scrollWidth, innerWidth: viewport};
"""

# The state of a sidebar: is it on the screen, and which dialog is open.
SIDEBAR_JS = r"""
const which = arguments[0];
const bar = document.querySelector(
  which === "primary" ? ".bd-sidebar-primary" : ".bd-sidebar-secondary");
const buttons = Array.from(document.querySelectorAll(`button.${which}-toggle`))
  .filter(b => b.getClientRects().length && getComputedStyle(b).visibility !== "hidden")
  .map(b => { const r = b.getBoundingClientRect();
              return {x: r.x + r.width / 2, y: r.y + r.height / 2,
                      label: b.getAttribute("aria-label") || b.title || ""}; })
  .filter(b => b.x > 0 && b.x < window.innerWidth && b.y > 0 && b.y < window.innerHeight);
const searches = Array.from(document.querySelectorAll(".search-button-field, .search-button"))
  .filter(b => b.getClientRects().length && b.getBoundingClientRect().width > 0
               && getComputedStyle(b).visibility !== "hidden").length;
if (!bar) return {exists: false, buttons, searches};
const r = bar.getBoundingClientRect();
const style = getComputedStyle(bar);
const shown = style.display !== "none" && style.visibility !== "hidden" && r.width > 50
              && r.right > 20 && r.left < window.innerWidth - 20;
return {exists: true, shown, left: Math.round(r.left), width: Math.round(r.width),
        items: bar.querySelectorAll("a").length, buttons, searches};
"""

# axe-core's verdict on the page (violations only; MathJax's output is left to MathJax).
AXE_RUN_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const result = await axe.run(document, {resultTypes: ["violations"]});
  done(result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
    examples: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + n.html.slice(0, 120)),
  })));
})().catch(error => done({error: String(error)}));
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


# axe-core rules that fail on markup that is not the book's to change: (rule id, why).
# Each is reported as a note, so it stays visible. Critical and serious ones are never
# tolerated. Minor findings (best practice) are reported as notes, and in the table.
KNOWN_AXE_ISSUES: tuple[tuple[str, str], ...] = ()
AXE_BLOCKING = ("critical", "serious", "moderate")

CATEGORIES = ("page", "console", "images", "alt", "math", "solutions", "toggles",
              "overflow", "mobile", "axe")


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
    axe: dict[str, int] | None = None  # violated rules by impact; None: axe not run
    axe_rules: list[str] = field(default_factory=list)  # "rule (impact): n nodes"
    overflow: list[dict] = field(default_factory=list)  # code / equations too wide
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


def check_page(web, base_url: str, html_dir: Path, page: Path, out_dir: Path,
               axe_source: str | None = None) -> PageReport:
    """Open one page and return what is wrong with it (axe-core too, given its source)."""
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

    report.overflow = web.execute_script(OVERFLOW_JS)
    for item in report.overflow:
        report.problems["overflow"].append(
            f"{item['kind']} {item['where']} is {item['width']} px wide in a "
            f"{item['column']} px column at {DESKTOP_WIDTH} px ({item['text']})")
    if axe_source is not None:
        run_axe(web, axe_source, report)
    _set_viewport(web, DESKTOP_WIDTH, DESKTOP_HEIGHT)
    check_toggles(web, report, DESKTOP_WIDTH, DESKTOP_HEIGHT)

    stem = page.with_suffix("").as_posix().replace("/", "__")
    desktop = out_dir / "desktop" / f"{stem}.png"
    _screenshot(web, desktop, DESKTOP_WIDTH, DESKTOP_HEIGHT, full_page=True)

    # The phone: a fresh load at 390 x 844, as a phone opens the page.
    _set_viewport(web, MOBILE_WIDTH, MOBILE_HEIGHT)
    web.get(base_url + page.as_posix())
    web.execute_async_script(INSPECT_JS, served_images)
    clipped = web.execute_script(CLIPPED_JS)
    if clipped["scrollWidth"] > clipped["innerWidth"] + 1:
        report.problems["mobile"].append(
            f"at {MOBILE_WIDTH} px wide the page scrolls sideways "
            f"(content {clipped['scrollWidth']} px wide)")
    report.problems["mobile"] += [f"at {MOBILE_WIDTH} px: {item}" for item in clipped["found"]]
    nav_shot = out_dir / "mobile-nav" / f"{stem}.png"
    check_toggles(web, report, MOBILE_WIDTH, MOBILE_HEIGHT, nav_screenshot=nav_shot)
    mobile = out_dir / "mobile" / f"{stem}.png"
    _screenshot(web, mobile, MOBILE_WIDTH, MOBILE_HEIGHT, full_page=True)
    web.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    report.screenshots = [desktop.relative_to(out_dir).as_posix(),
                          mobile.relative_to(out_dir).as_posix()]
    if nav_shot.exists():
        report.screenshots.append(nav_shot.relative_to(out_dir).as_posix())
    return report


def _set_viewport(web, width: int, height: int) -> None:
    web.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


# Awaited after a tap: two frames (the click's style change starts its transitions), then
# every running animation or transition finished. Answers false after `arguments[0]` ms
# whatever is pending (an endless animation, frames that stall), or if the page cannot
# list its animations.
SETTLE_TAP_JS = r"""
const limit = arguments[0];
const done = arguments[arguments.length - 1];
let answered = false;
const answer = ok => { if (!answered) { answered = true; done(ok); } };
setTimeout(() => answer(false), limit);
const frame = () => new Promise(resolve => requestAnimationFrame(resolve));
(async () => {
  await frame();
  await frame();
  await Promise.all(document.getAnimations().filter(a => a.playState === "running")
                            .map(a => a.finished.catch(() => null)));
  await frame();
  answer(true);
})().catch(() => answer(false));
"""


def _tap(web, x: float, y: float) -> None:
    """A real click (mouse down and up) at viewport point (x, y), as a reader's tap; then
    wait until the page's animations (the drawer sliding) have ended, at most
    ``TOGGLE_SETTLE_S``; if the page cannot tell, a further ``TOGGLE_FALLBACK_S``."""
    for kind in ("mousePressed", "mouseReleased"):
        web.execute_cdp_cmd("Input.dispatchMouseEvent", {
            "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})
    if not web.execute_async_script(SETTLE_TAP_JS, 1000 * TOGGLE_SETTLE_S):
        time.sleep(TOGGLE_FALLBACK_S)


def _sidebar(web, which: str) -> dict:
    return web.execute_script(SIDEBAR_JS, which)


def _sidebar_after_tap(web, which: str, shown: bool) -> dict:
    """The sidebar's state once it is ``shown`` (or hidden) as the tap asked, read every
    0.1 s for at most ``TOGGLE_STATE_S``; then the animations are let finish, so that a
    screenshot or the next tap finds the drawer at rest. Returns the last state read."""
    deadline = time.monotonic() + TOGGLE_STATE_S
    state = _sidebar(web, which)
    while state["shown"] != shown and time.monotonic() < deadline:
        time.sleep(0.1)
        state = _sidebar(web, which)
    if state["shown"] == shown:
        web.execute_async_script(SETTLE_TAP_JS, 1000 * TOGGLE_SETTLE_S)
        state = _sidebar(web, which)
    return state


def check_toggles(web, report: PageReport, width: int, height: int,
                  nav_screenshot: Path | None = None) -> None:
    """The sidebar toggles open and close their sidebars, as a reader taps them.

    Wide screen: both sidebars show; the hamburger hides the chapter list and shows it
    again. Phone: both start hidden; each toggle opens its drawer, and a tap on the page
    beside the drawer closes it. Each toggle leaves the page as it found it.
    """
    problems = report.problems["toggles"]
    at = f"at {width} px"
    for which, name in (("primary", "chapter list"), ("secondary", "page contents")):
        state = _sidebar(web, which)
        if not state["exists"]:
            if which == "primary":
                problems.append(f"{at}: the page has no chapter list")
            continue
        if width >= 1200:
            if state["searches"] > 1:
                problems.append(f"{at}: {state['searches']} search boxes are shown")
            if not state["shown"]:
                problems.append(f"{at}: the {name} is not shown")
            if which == "secondary":
                continue  # wide screens show the contents beside the page, no toggle
            if not state["buttons"]:
                problems.append(f"{at}: no button toggles the {name}")
                continue
            button = state["buttons"][0]
            _tap(web, button["x"], button["y"])
            hidden = _sidebar_after_tap(web, which, shown=False)
            if hidden["shown"]:
                problems.append(f"{at}: the hamburger did not hide the {name}")
            if not hidden["buttons"]:
                problems.append(f"{at}: with the {name} hidden, no button shows it again")
                web.refresh()
                continue
            button = hidden["buttons"][0]  # the page widened: the button moved
            _tap(web, button["x"], button["y"])
            if not _sidebar_after_tap(web, which, shown=True)["shown"]:
                problems.append(f"{at}: the hamburger did not show the {name} again")
                web.refresh()
            continue
        if state["shown"]:
            problems.append(f"{at}: the {name} covers the page before any tap")
            continue
        if not state["buttons"]:
            if which == "primary" or state["items"]:
                problems.append(f"{at}: no button opens the {name}")
            continue
        button = state["buttons"][0]
        _tap(web, button["x"], button["y"])
        opened = _sidebar_after_tap(web, which, shown=True)
        if not opened["shown"]:
            problems.append(f"{at}: tapping '{button['label']}' did not open the {name}")
            continue
        if which == "primary" and nav_screenshot is not None:
            _screenshot(web, nav_screenshot, width, height, full_page=False)
        beside = width - 12 if which == "primary" else 12
        _tap(web, beside, height / 2)
        if _sidebar_after_tap(web, which, shown=False)["shown"]:
            problems.append(f"{at}: a tap beside the open {name} did not close it")
            web.refresh()


def load_axe(path: Path = AXE_JS) -> str | None:
    """The source of axe-core, or None where it is not installed."""
    return Path(path).read_text(encoding="utf-8") if Path(path).is_file() else None


def run_axe(web, axe_source: str, report: PageReport) -> None:
    """Run axe-core on the open page; record violations by impact, and the problems."""
    web.execute_script(axe_source)
    web.set_script_timeout(AXE_TIMEOUT_S)
    try:
        result = web.execute_async_script(AXE_RUN_JS)
    finally:
        web.set_script_timeout(PAGE_TIMEOUT_S)
    if isinstance(result, dict) and "error" in result:
        report.problems["axe"].append(f"axe-core failed: {result['error']}")
        return
    known = dict(KNOWN_AXE_ISSUES)
    report.axe = {}
    for rule in result:
        impact = rule["impact"] or "unknown"
        report.axe[impact] = report.axe.get(impact, 0) + 1
        report.axe_rules.append(f"{rule['id']} ({impact}): {rule['nodes']} nodes")
        detail = f"{rule['id']} ({impact}, {rule['nodes']} nodes): {rule['help']}; " + \
            " | ".join(rule["examples"])
        if impact not in ("critical", "serious") and rule["id"] in known:
            report.notes.append(f"axe, not ours ({known[rule['id']]}): {detail[:300]}")
        elif impact not in AXE_BLOCKING:
            report.notes.append(f"axe, {impact}: {detail[:300]}")
        else:
            report.problems["axe"].append(detail[:500])


def check_site(html_dir: Path = ROOT / "_build" / "html",
               out_dir: Path = ROOT / "_build" / "screenshots",
               axe_js: Path | None = AXE_JS, only: str | None = None) -> list[PageReport]:
    """Check every page of `html_dir`; write screenshots and report.json to `out_dir`.

    axe-core runs on every page when `axe_js` is an installed axe.min.js. `only`: a
    glob pattern (``book/0*``) that limits the check to the pages it matches.
    """
    browser, driver = find_browser()
    if not browser or not driver:
        raise RuntimeError("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
    html_dir, out_dir = Path(html_dir), Path(out_dir)
    if not (html_dir / "index.html").exists():
        raise FileNotFoundError(f"{html_dir}/index.html not found: build the book first (make book)")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    from selenium.common.exceptions import WebDriverException
    from urllib3.exceptions import HTTPError

    reports = []
    axe_source = load_axe(axe_js) if axe_js else None
    with serve(html_dir) as base_url, chromium(browser, driver) as web:
        for page in pages(html_dir):
            if only and not fnmatch.fnmatch(page.as_posix(), only):
                continue
            try:
                reports.append(check_page(web, base_url, html_dir, page, out_dir, axe_source))
            except (WebDriverException, HTTPError, OSError) as error:  # report, go on
                failed = PageReport(page=page.as_posix())
                failed.problems["page"].append(
                    f"the browser gave up on the page: {getattr(error, 'msg', error)}")
                reports.append(failed)
    (out_dir / "report.json").write_text(json.dumps([asdict(r) for r in reports], indent=1))
    return reports


def axe_table(reports: list[PageReport]) -> str:
    """axe-core's violations per page: rules by impact, then the rules."""
    impacts = ("critical", "serious", "moderate", "minor")
    lines = [f"{'page':38} " + " ".join(f"{i:>8}" for i in impacts) + "  rules"]
    for r in reports:
        if r.axe is None:
            lines.append(f"{r.page:38} (axe-core not run)")
            continue
        counts = " ".join(f"{r.axe.get(i, 0):>8}" for i in impacts)
        lines.append(f"{r.page:38} {counts}  {'; '.join(r.axe_rules) or '-'}")
    return "\n".join(lines)


def summary(reports: list[PageReport]) -> str:
    """One line per page, then every problem, then the axe-core table."""
    lines = [f"{r.page}: {r.images} images ({r.figures} in figures), {r.math} math, "
             f"{r.solutions} solutions, {r.problem_count} problems" for r in reports]
    for r in reports:
        lines += [f"  PROBLEM {r.page} [{c}]: {p}" for c, ps in r.problems.items() for p in ps]
        lines += [f"  note {r.page}: {n}" for n in r.notes]
    lines += ["", "axe-core violations (rules) by impact:", axe_table(reports)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="build the book first (as make book)")
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    parser.add_argument("--only", help="check only the pages matching this glob (book/0*)")
    args = parser.parse_args(argv)
    if args.build:
        result = build_book()
        if result.returncode != 0:
            print(result.stdout[-5000:], result.stderr[-5000:], sep="\n")
            print("the book build failed")
            return 1
    reports = check_site(args.html, args.out, only=args.only)
    print(summary(reports))
    print(f"screenshots in {args.out}")
    return 1 if any(r.problem_count for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
