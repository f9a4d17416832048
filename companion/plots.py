"""Shared figure style: a colour-blind-safe palette and readable defaults.

The palette is Okabe & Ito's (2008), distinguishable under the common forms of colour
blindness. Chapters call :func:`use_book_style` once at the top.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["PALETTE", "POSITIVE", "NEGATIVE", "use_book_style"]

#: Okabe-Ito colours: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Colours for attributions that push the output up / down.
POSITIVE, NEGATIVE = "#D55E00", "#0072B2"


def use_book_style() -> None:
    """Set matplotlib defaults for every figure of the book: palette, font sizes, grid."""
    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 12,
        "axes.titlesize": 13,
        "axes.labelsize": 12,
        "legend.fontsize": 11,
        "xtick.labelsize": 11,
        "ytick.labelsize": 11,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "image.cmap": "cividis",
    })
