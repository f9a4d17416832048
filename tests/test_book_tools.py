"""The book's build helpers, without a browser: the HTML fixes and the environment lock.

tools/book_html_fixes.py rewrites each page body (tests/test_browser.py checks the
result in Chromium); tools/lock.py writes constraints.txt. Each check here is shown to
catch the fault it exists for.
"""

from __future__ import annotations

import base64
import io
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import book_html_fixes as fixes  # noqa: E402
import lock  # noqa: E402


def test_empty_table_headers_become_cells():
    body = ('<table><thead><tr><th></th><th>v(S)</th>'
            '<th class="blank level0" >&nbsp;</th><th>\n </th></tr></thead></table>')
    fixed = fixes.empty_headers_to_cells(body)
    assert "<th>v(S)</th>" in fixed
    assert len(re.findall(r"<th[\s>]", fixed)) == 1 and fixed.count("<td") == 3
    assert '<td class="blank level0" >&nbsp;</td>' in fixed


def test_bibliography_entries_are_list_items():
    body = '<div role="list"><div class="citation" role="doc-biblioentry">x</div></div>'
    assert 'role="listitem"' in fixes.bibliography_list_items(body)
    assert "doc-biblioentry" not in fixes.bibliography_list_items(body)


def test_toggles_are_named_by_their_text():
    body = '<summary aria-label="Toggle hidden content"><p>Show code cell source</p>'
    assert fixes.summary_names(body) == "<summary><p>Show code cell source</p>"


def test_inline_math_keeps_the_punctuation_touching_it():
    math = '<span class="math notranslate nohighlight">\\(z_r\\)</span>'
    body = f"<p>each {math}. and ({math}), then {math} alone</p>"
    assert fixes.math_keeps_its_punctuation(body) == (
        f'<p>each <span class="book-nowrap">{math}.</span> and '
        f'<span class="book-nowrap">({math}),</span> then {math} alone</p>'
    )
    # a formula holding a bracket, and two formulas in a row, each wrapped on its own
    two = '<span class="math notranslate nohighlight">\\(f(x)\\)</span>'
    assert fixes.math_keeps_its_punctuation(f"{two}{math};") == (
        f'{two}<span class="book-nowrap">{math};</span>'
    )


def test_images_link_to_themselves_and_wide_ones_are_marked():
    body = ('<figure><img alt="wide" src="../_images/a.png" /></figure>'
            '<img alt="square" class="x" src="../_images/b.png" />'
            '<a href="page.html"><img alt="linked" src="../_images/c.png" /></a>'
            '<img alt="inline" src="data:image/png;base64,AAAA" />')
    sizes = {"a.png": (1600, 600), "b.png": (500, 500), "c.png": (900, 300)}
    fixed = fixes.link_images(body, lambda src: sizes.get(Path(src).name))
    links = re.findall(r'<a class="[^"]*book-image-link" href="([^"]+)"', fixed)
    assert links == ["../_images/a.png", "../_images/b.png"]  # c is a link already
    assert '<img class="book-wide-figure" alt="wide"' in fixed
    assert 'class="x"' in fixed and 'class="book-wide-figure x"' not in fixed
    assert '<a href="page.html"><img class="book-wide-figure" alt="linked"' in fixed
    assert 'src="data:image/png;base64,AAAA"' in fixed  # left to extract_data_images


def test_data_images_are_written_to_images(tmp_path):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (300, 100), "white").save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    image = f'src="data:image/png;base64,{data}"'
    body = f'<img alt="a" {image} /><img {image}>'
    sizes: dict = {}
    fixed = fixes.extract_data_images(body, tmp_path, "../_images", sizes)
    files = list((tmp_path / "_images").iterdir())
    assert len(files) == 1 and files[0].read_bytes() == buffer.getvalue()
    assert fixed.count(f'src="../_images/{files[0].name}"') == 2
    assert sizes == {files[0].name: (300, 100)}
    assert "data:" not in fixed


def test_lock_pins_every_package_and_drops_local_labels():
    freeze = "numpy==2.4.6\nTorch==2.13.0+cpu\nshap==0.51.0\nsphinx_book_theme==1.2.0\n"
    assert lock.lock_lines(freeze) == [
        "numpy==2.4.6", "shap==0.51.0", "sphinx_book_theme==1.2.0", "Torch==2.13.0"]


@pytest.mark.parametrize("freeze, message", [
    ("torch==2.14.0\nshap==0.51.0\n", "torch is 2.14.0"),
    ("shap==0.51.0\n", "torch is None"),
    ("torch==2.13.0\nshap==0.51.0\nfoo @ git+https://example.org/foo\n", "cannot lock"),
])
def test_lock_refuses_an_environment_it_cannot_reproduce(freeze, message):
    with pytest.raises(ValueError, match=message):
        lock.lock_lines(freeze)


def test_the_committed_lock_holds_the_required_versions():
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    pins = dict(line.split("==") for line in text.splitlines()
                if line and not line.startswith("#"))
    pins = {lock.normalise(name): version for name, version in pins.items()}
    assert pins["torch"] == "2.13.0" and pins["shap"] == "0.51.0"
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)$", line.strip())
        if match:
            name = lock.normalise(match[1])
            assert pins.get(name) == match[2], (
                f"requirements.txt pins {line.strip()} but constraints.txt has "
                f"{pins.get(name)}: run `make lock` and commit constraints.txt")
