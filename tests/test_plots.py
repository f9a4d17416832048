"""companion.plots.AltFigure: a glued figure whose page image carries generated alt text."""

from __future__ import annotations

import base64
import html.parser

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from companion.plots import AltFigure  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImgTags(html.parser.HTMLParser):
    """Collect the attributes of every <img> tag, unescaped, as a browser reads them."""

    def __init__(self):
        super().__init__()
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


def bar_figure(heights):
    fig, ax = plt.subplots()
    ax.bar(range(len(heights)), heights)
    return fig


def test_the_page_image_carries_the_alt_text_written_from_the_data():
    heights = np.array([86.67, 66.67, 46.67])
    alt = (f'Bars of heights {", ".join(f"{h:.2f}" for h in heights)}; '
           'quotes " and <tags> & ampersands survive')
    fig = bar_figure(heights)
    bundle = AltFigure(fig, alt)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "image/png", "text/plain"}
    parser = ImgTags()
    parser.feed(bundle["text/html"])
    assert len(parser.images) == 1
    img = parser.images[0]
    assert img["alt"] == alt  # escaped in the HTML, exact once parsed
    assert "86.67, 66.67, 46.67" in img["alt"]
    prefix = "data:image/png;base64,"
    assert img["src"].startswith(prefix)
    assert img["src"][len(prefix):] == bundle["image/png"]
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_SIGNATURE)
    assert bundle["text/plain"] == alt


def test_the_figure_is_closed_after_rendering():
    fig = bar_figure([1, 2])
    assert plt.fignum_exists(fig.number)
    AltFigure(fig, "Two bars, of heights 1 and 2.")
    assert not plt.fignum_exists(fig.number)


@pytest.mark.parametrize("fig", [None, "figure.png", np.zeros((2, 2))])
def test_fig_must_be_a_matplotlib_figure(fig):
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        AltFigure(fig, "a description")


def test_an_axes_is_refused_with_a_hint():
    fig, ax = plt.subplots()
    try:
        with pytest.raises(TypeError, match="not an Axes"):
            AltFigure(ax, "a description")
    finally:
        plt.close(fig)


@pytest.mark.parametrize("alt, error", [(None, TypeError), (3.5, TypeError),
                                        ("", ValueError), ("  \n", ValueError)])
def test_alt_must_be_a_non_empty_str(alt, error):
    fig = bar_figure([1])
    try:
        with pytest.raises(error, match="alt must be"):
            AltFigure(fig, alt)
    finally:
        plt.close(fig)
