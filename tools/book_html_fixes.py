"""Sphinx extension: the book's fixes to the rendered HTML, kept in one place.

Enabled in ``_config.yml``::

    sphinx:
      local_extensions:
        book_html_fixes: tools/

What it does, and why:

* **One copy of each inline script per page.** Sphinx 7.4 adds an inline script that an
  extension registers after the builder starts (``app.add_js_file(None, body=...)``, as
  sphinx-thebe and sphinx-togglebutton do) twice; sphinx-thebe's declares ``const
  THEBE_JS_URL``, so the second copy threw an error in every reader's console.
* **The book's CSS and JS** (``_static/book.css``, ``_static/book.js``): code that fits the
  column, display equations that scroll inside their own box instead of being cut off,
  wide figures that a phone shows enlarged, print styles for the PDF, and links that keep
  their contrast on tinted boxes.
* **Templates** (``_templates/``): the theme's search button and colour-mode switch with
  accessible names that match their visible text, and a link to the PDF of the book
  (``make pdf``) in the page footer and at the foot of the chapter list.
* **The page body, rewritten** before the theme wraps it:

  - an image embedded in the page as a ``data:`` URI (a figure glued as HTML, so that
    it carries its alt text) is written to ``_images/`` and linked from there: the page
    gets lighter, and the image gets an address a tap can open;
  - every figure and output image is a link to the image file, so a tap opens it at full
    size; images at least WIDE_RATIO times wider than tall (multi-panel figures) get the
    class ``book-wide-figure``, which book.css enlarges on narrow screens;
  - an empty table header cell (pandas writes one above the index, and one per column
    in the index-name row) becomes an empty data cell: a header that names nothing
    confuses a screen reader (axe: empty-table-header);
  - the bibliography's entries get ``role="listitem"`` in place of the deprecated
    ``doc-biblioentry``, so the list holds list items (axe: aria-required-children);
  - myst-nb's "Show code cell source" toggles lose their ``aria-label="Toggle hidden
    content"``, so their name is the text a reader sees on them (axe:
    label-content-name-mismatch);
  - an inline formula and the punctuation that touches it (an opening bracket before,
    a full stop, comma, colon, semicolon or closing bracket after) are wrapped in one
    ``<span class="book-nowrap">``: the theme shows inline math as an inline box, and
    the browser may break a line between a box and the next character, which left a
    full stop alone at the start of a line.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import posixpath
import re
from pathlib import Path
from typing import Any

PDF_NAME = "shapley-values-from-first-principles.pdf"
WIDE_RATIO = 2.0  # width / height from which an image counts as multi-panel
HERE = Path(__file__).resolve().parent
EMPTY_HEADER = re.compile(r"<th(\s[^>]*)?>((?:\s|&nbsp;|&#160;)*)</th>")
BIBLIOENTRY = re.compile(r'role="doc-biblioentry"')
IMG = re.compile(r"<img\b[^>]*>")
ANCHOR_OPEN = re.compile(r"<a\b")
DATA_IMAGE = re.compile(r'src="data:image/(png|jpeg|gif|svg\+xml);base64,([A-Za-z0-9+/=\s]+)"')
DATA_EXTENSIONS = {"png": "png", "jpeg": "jpg", "gif": "gif", "svg+xml": "svg"}
SUMMARY_LABEL = re.compile(r'<summary aria-label="Toggle hidden content">')
INLINE_MATH_PUNCTUATION = re.compile(
    r'(\(?)(<span class="math notranslate nohighlight">(?:(?!</span>).)*?</span>)'
    r"([.,;:!?)]*)",
    re.DOTALL,
)


def dedupe_inline_scripts(app, pagename: str, templatename: str, context: dict[str, Any],
                          doctree) -> None:
    """Keep the first copy of every inline script (same body) in ``script_files``."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[str] = set()
    unique = []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body")
        if body and getattr(script, "filename", None) in (None, "", "_static/"):
            if body in seen:
                continue
            seen.add(body)
        unique.append(script)
    scripts[:] = unique


def empty_headers_to_cells(body: str) -> str:
    """Every ``<th>`` holding nothing (or only spaces / ``&nbsp;``) as a ``<td>``."""
    return EMPTY_HEADER.sub(lambda m: f"<td{m[1] or ''}>{m[2]}</td>", body)


def bibliography_list_items(body: str) -> str:
    """sphinxcontrib-bibtex's deprecated ``doc-biblioentry`` role as ``listitem``."""
    return BIBLIOENTRY.sub('role="listitem"', body)


def summary_names(body: str) -> str:
    """``<summary>`` toggles named by their visible text, not a different aria-label."""
    return SUMMARY_LABEL.sub("<summary>", body)


def math_keeps_its_punctuation(body: str) -> str:
    """Each inline formula with the punctuation touching it in one no-wrap span."""

    def wrap(m: re.Match) -> str:
        if not (m[1] or m[3]):
            return m[0]
        return f'<span class="book-nowrap">{m[1]}{m[2]}{m[3]}</span>'

    return INLINE_MATH_PUNCTUATION.sub(wrap, body)


def extract_data_images(body: str, outdir: Path, imgpath: str,
                        sizes: dict[str, tuple[int, int] | None]) -> str:
    """Write every ``data:image/...;base64`` image of `body` to outdir/_images/.

    The file is named by a hash of its bytes (the same figure on two pages is one file);
    `imgpath` is the page's relative path to _images/. Records each image's size in
    `sizes` under its file name.
    """
    def write(match: re.Match) -> str:
        kind, data = match[1], match[2]
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            return match[0]
        name = f"book-{hashlib.sha1(raw).hexdigest()[:20]}.{DATA_EXTENSIONS[kind]}"
        target = Path(outdir, "_images", name)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(raw)
        if name not in sizes:
            sizes[name] = _size_of(raw)
        return f'src="{posixpath.join(imgpath, name)}"'

    return DATA_IMAGE.sub(write, body)


def _size_of(raw: bytes) -> tuple[int, int] | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as image:
            return image.size
    except (OSError, ValueError):
        return None


def _inside_link(body: str, position: int) -> bool:
    """True when `position` of the HTML `body` lies inside an open ``<a>`` element."""
    before = body[:position]
    last_open = max((m.start() for m in ANCHOR_OPEN.finditer(before)), default=-1)
    return last_open > before.rfind("</a>")


def link_images(body: str, image_size=None) -> str:
    """Wrap every image that is not already a link in a link to the image file.

    `image_size(src)` returns (width, height) in pixels, or None when unknown; images at
    least WIDE_RATIO times wider than tall get the class ``book-wide-figure``.
    """
    pieces, last = [], 0
    for match in IMG.finditer(body):
        tag = match[0]
        src = re.search(r'\ssrc="([^"]+)"', tag)
        if not src or src[1].startswith("data:"):
            continue
        size = image_size(html.unescape(src[1])) if image_size else None
        if size and size[1] and size[0] / size[1] >= WIDE_RATIO:
            if re.search(r'\sclass="', tag):
                tag = re.sub(r'\sclass="', ' class="book-wide-figure ', tag, count=1)
            else:
                tag = tag.replace("<img", '<img class="book-wide-figure"', 1)
        if not _inside_link(body, match.start()):
            tag = (f'<a class="reference internal image-reference book-image-link" '
                   f'href="{src[1]}" title="Open the image at full size">{tag}</a>')
        pieces += [body[last:match.start()], tag]
        last = match.end()
    pieces.append(body[last:])
    return "".join(pieces)


def _image_sizes(app) -> dict[str, tuple[int, int]]:
    """(width, height) of every image the builder copies, by its name under _images/."""
    cache = getattr(app, "_book_image_sizes", None)
    if cache is None:
        cache = app._book_image_sizes = {}
    images = getattr(app.builder, "images", {})
    missing = {dest: src for src, dest in images.items() if dest not in cache}
    if missing:
        from PIL import Image

        for dest, src in missing.items():
            try:
                with Image.open(Path(app.srcdir, src)) as image:
                    cache[dest] = image.size
            except (OSError, ValueError):
                cache[dest] = None
    return cache


def rewrite_body(app, pagename: str, templatename: str, context: dict[str, Any],
                 doctree) -> None:
    """Apply the body fixes above to the page, and tell templates the PDF's name."""
    context["book_pdf_name"] = PDF_NAME
    body = context.get("body")
    if not body:
        return
    sizes = _image_sizes(app)

    def image_size(src: str):
        return sizes.get(posixpath.basename(src.split("?")[0]))

    imgpath = getattr(app.builder, "imgpath", "_images")
    body = extract_data_images(body, Path(app.outdir), imgpath, sizes)
    body = empty_headers_to_cells(body)
    body = bibliography_list_items(body)
    body = summary_names(body)
    body = math_keeps_its_punctuation(body)
    context["body"] = link_images(body, image_size)


def configure(app, config) -> None:
    """Templates and theme options: the repository's _templates/, the PDF link."""
    templates = str(Path(app.confdir, "_templates"))
    if Path(templates).is_dir() and templates not in config.templates_path:
        config.templates_path.insert(0, templates)
    static = Path(app.confdir, "_static")
    if static.is_dir() and not any(Path(app.confdir, p).resolve() == static.resolve()
                                   for p in config.html_static_path):
        config.html_static_path.append(str(static))
    options = config.html_theme_options
    footer = options.get("footer_content_items") or [
        "author.html", "copyright.html", "last-updated.html", "extra-footer.html"]
    if "pdf-link.html" not in footer:
        options["footer_content_items"] = [*footer, "pdf-link.html"]
    options.setdefault("primary_sidebar_end", ["pdf-link.html"])


def singlehtml_handlers(app) -> None:
    """The single-page builder renders every node the HTML builder renders.

    Sphinx looks up an extension's node renderers by builder name and falls back to the
    builder's format only when no extension registered any for that name; once one
    extension registers a ``singlehtml`` renderer, the ``html`` ones of the others
    (sphinx-jupyterbook-latex's HiddenCellNode) are lost and the build (``make pdf``)
    fails. Copy the missing ones over.
    """
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.get("singlehtml")
    if single is None:
        return  # none registered: Sphinx falls back to the html ones by itself
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def add_assets(app) -> None:
    if Path(app.confdir, "_static", "book.css").exists():
        app.add_css_file("book.css")
    if Path(app.confdir, "_static", "book.js").exists():
        app.add_js_file("book.js", loading_method="defer")


def setup(app) -> dict[str, Any]:
    app.connect("config-inited", configure)
    app.connect("builder-inited", add_assets)
    app.connect("builder-inited", singlehtml_handlers)
    app.connect("html-page-context", dedupe_inline_scripts, priority=900)
    app.connect("html-page-context", rewrite_body)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
