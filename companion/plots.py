"""Shared figure style: a colour-blind-safe palette and readable defaults.

The palette is Okabe & Ito's (2008), distinguishable under the common forms of colour
blindness. Chapters call :func:`use_book_style` once at the top.
"""

from __future__ import annotations

import matplotlib as mpl

__all__ = ["PALETTE", "POSITIVE", "NEGATIVE", "use_book_style", "group_attribution_panels",
           "AltFigure"]

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


# ----------------------------------------------------------------------------- chapter 5 figures
def group_attribution_figure(values, feature_names, group: str, top: int = 10, level: float = 0.95,
                             xlabel: str = "mean attribution (logit)", xlim=None):
    """Mean attribution per feature over one group of rows, with its t-interval; top features.

    ``values`` is (n, p): one row of attributions per member of the group. The ``top``
    features with the largest |mean| are drawn as horizontal bars (largest on top), coloured
    by sign (POSITIVE pushes the output up), with the ``level`` Student-t interval of
    :func:`companion.evaluation.mean_ci`. A group of one row gets bars and the title says
    "n = 1, no interval"; an empty group gets an empty panel that says so.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    from companion.evaluation import mean_ci

    arr = np.asarray(values, dtype=float)
    names = list(feature_names)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise ValueError(f"values must be (n, {len(names)}) for {len(names)} feature names, got {arr.shape}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a positive int, got {top!r}")
    ci = mean_ci(arr, level=level)
    fig, ax = plt.subplots(figsize=(7.0, 0.38 * min(top, len(names)) + 1.6))
    ax.axvline(0.0, color="0.3", linewidth=1)
    if ci.n == 0:
        ax.text(0.5, 0.5, "n = 0: no rows in this group", transform=ax.transAxes,
                ha="center", va="center", fontsize=13)
        ax.set_yticks([])
    else:
        order = np.argsort(-np.abs(ci.mean))[:top][::-1]  # largest |mean| at the top
        means = ci.mean[order]
        colours = [POSITIVE if v > 0 else NEGATIVE for v in means]
        ax.barh(np.arange(len(order)), means, color=colours)
        if ci.n > 1:
            err = np.vstack([means - ci.lower[order], ci.upper[order] - means])
            ax.errorbar(means, np.arange(len(order)), xerr=err, fmt="none", ecolor="black",
                        capsize=3, linewidth=1.2)
        ax.set_yticks(np.arange(len(order)), [names[i] for i in order])
    interval = f"{level:.0%} t-interval" if ci.n > 1 else ci.note.split(", ", 1)[-1]
    ax.set_title(f"{group}: n = {ci.n}, {interval}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("feature")
    if xlim is not None:
        ax.set_xlim(*xlim)
    fig.tight_layout()
    return fig


def group_attribution_panels(values_by_group, feature_names, features, level: float = 0.95,
                             max_points: int = 5, xlabel: str = "attribution (logit units)",
                             positive_label: str = "pushes the output up",
                             negative_label: str = "pushes the output down"):
    """One figure, one panel per group, the same features in the same order in every panel.

    ``values_by_group`` maps a group name to its (n, p) attributions (one row per member);
    ``features`` are the indices of the features to show, top to bottom, chosen by the
    caller *before* looking at the groups. A group of more than ``max_points`` rows is drawn
    as a dot at the mean phi_bar_i with its ``level`` Student-t interval
    phi_bar_i +- t_{(1 + level)/2, n - 1} s_i / sqrt(n) (pass a Bonferroni-adjusted level
    for simultaneous intervals); a smaller group as its individual rows (one marker each)
    and a vertical tick at their mean, without an interval. Markers are coloured by the
    sign of the mean (POSITIVE above zero; a small group's rows by their own sign), and the
    sign legend is part of the figure. Panels are laid out two per line.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.lines import Line2D

    from companion.evaluation import mean_ci

    names = list(feature_names)
    p = len(names)
    if not isinstance(values_by_group, dict) or not values_by_group:
        raise ValueError("values_by_group must be a non-empty dict {group name: (n, p) array}")
    groups = {}
    for name, vals in values_by_group.items():
        arr = np.asarray(vals, dtype=float)
        if arr.ndim != 2 or arr.shape[1] != p:
            raise ValueError(f"values_by_group[{name!r}] must be (n, {p}) for {p} feature "
                             f"names, got {arr.shape}")
        groups[name] = arr
    idx = np.asarray(features)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer) \
            or np.any((idx < 0) | (idx >= p)) or len(set(idx.tolist())) != idx.size:
        raise ValueError(f"features must be distinct int indices in 0..{p - 1}")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
        raise ValueError(f"max_points must be a positive int, got {max_points!r}")
    k = idx.size
    ypos = np.arange(k)[::-1]  # the first feature on top
    ncols = 2 if len(groups) > 1 else 1
    nrows = -(-len(groups) // ncols)
    fig, axes = plt.subplots(nrows, ncols, sharey=True, sharex=True, squeeze=False,
                             figsize=(4.2 * ncols + 2.6, (0.36 * k + 1.3) * nrows + 0.8),
                             layout="constrained")
    axes = axes.ravel()
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    for ax, (name, arr) in zip(axes, groups.items()):
        ax.axvline(0.0, color="0.3", linewidth=1)
        n = arr.shape[0]
        if n == 0:
            ax.text(0.5, 0.5, "no rows", transform=ax.transAxes, ha="center", va="center")
            ax.set_title(f"{name}: n = 0")
            continue
        sub = arr[:, idx]
        mean = sub.mean(axis=0)
        colours = np.where(mean > 0, POSITIVE, NEGATIVE)
        if n > max_points:
            ci = mean_ci(sub, level=level)
            for y, m, lo, hi, c in zip(ypos, mean, ci.lower, ci.upper, colours):
                ax.plot([lo, hi], [y, y], color=c, linewidth=2, solid_capstyle="butt")
                ax.plot(m, y, "o", color=c, markersize=6)
            pct = f"{100 * level:.2f}".rstrip("0").rstrip(".")
            ax.set_title(f"{name}, n = {n}: mean, {pct}% interval")
        else:
            offsets = np.linspace(-0.25, 0.25, n) if n > 1 else np.zeros(1)
            for j, off in enumerate(offsets):
                for y, v in zip(ypos, sub[j]):
                    ax.plot(v, y + off, "D", color=POSITIVE if v > 0 else NEGATIVE,
                            markersize=4.5, markeredgecolor="white", markeredgewidth=0.5)
            ax.plot(mean, ypos, "|", color="black", markersize=14, markeredgewidth=2)
            ax.set_title(f"{name}, n = {n}: each row")
    for ax in axes[len(groups) - ncols:len(groups)]:
        ax.set_xlabel(xlabel)
        ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:len(groups):ncols]:
        ax.set_yticks(ypos, [names[i] for i in idx])
        ax.set_ylabel("feature")
    handles = [Line2D([], [], color=POSITIVE, marker="o", linestyle="-", label=positive_label),
               Line2D([], [], color=NEGATIVE, marker="o", linestyle="-", label=negative_label),
               Line2D([], [], color="black", marker="|", linestyle="none", markersize=12,
                      markeredgewidth=2, label="mean of a small group")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return fig


def confusion_matrix_figure(y_true, y_pred, class_names=("benign", "malignant"),
                            title: str = "Confusion matrix, test set"):
    """2 x 2 confusion matrix: rows the true class, columns the predicted class, counts printed."""
    import matplotlib.pyplot as plt
    import numpy as np

    from companion.evaluation import confusion_groups

    groups = confusion_groups(y_true, y_pred)
    counts = np.array([[len(groups["TN"]), len(groups["FP"])],
                       [len(groups["FN"]), len(groups["TP"])]])
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(counts, cmap="cividis")
    ax.grid(False)
    labels = [["TN", "FP"], ["FN", "TP"]]
    for i in range(2):
        for j in range(2):
            dark = counts[i, j] < counts.max() / 2
            ax.text(j, i, f"{labels[i][j]}\n{counts[i, j]}", ha="center", va="center",
                    fontsize=14, color="white" if dark else "black")
    ax.set_xticks([0, 1], [f"{c}\n(predicted)" for c in class_names])
    ax.set_yticks([0, 1], [f"{c}\n(true)" for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- alt text
class AltFigure:
    """A matplotlib figure to glue, carrying alt text written from the data it shows.

    MyST-NB cannot glue text into a figure directive's ``:alt:`` option, so the chapters
    glue this object instead: ``glue(name, AltFigure(fig, alt), display=False)``, then
    ``{glue:figure} name`` with a glued caption. Write ``alt`` as an f-string of the
    plotted arrays, so that the description cannot drift from the picture.

    The figure is rendered once, to a PNG (``bbox_inches="tight"``, the style's
    ``savefig.dpi``), and then closed. The mime bundle holds:

    - ``text/html``: ``<img src="data:image/png;base64,..." alt="...">`` (the alt text
      HTML-escaped), which the HTML build prefers, so the page's image carries ``alt``;
    - ``image/png``: the same PNG, for notebooks and the PDF;
    - ``text/plain``: the alt text itself.

    Raises TypeError if ``fig`` is not a :class:`matplotlib.figure.Figure` or ``alt``
    is not a str, and ValueError if ``alt`` is empty or only white space.
    """

    def __init__(self, fig, alt: str):
        import base64
        import io

        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        if not isinstance(fig, Figure):
            raise TypeError(
                f"fig must be a matplotlib Figure, got {type(fig).__name__}; pass the "
                "figure itself (e.g. fig from fig, ax = plt.subplots()), not an Axes"
            )
        if not isinstance(alt, str):
            raise TypeError(f"alt must be a str describing the figure, "
                            f"got {type(alt).__name__}")
        if not alt.strip():
            raise ValueError("alt must be a non-empty description of the figure, "
                             "written from the data it shows")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(fig)
        self.png = base64.b64encode(buffer.getvalue()).decode("ascii")
        self.alt = alt

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The PNG as HTML (an <img> with the alt text), as PNG, and the alt as text."""
        import html

        img = (f'<img src="data:image/png;base64,{self.png}" '
               f'alt="{html.escape(self.alt, quote=True)}" '
               'style="max-width: 100%; height: auto;">')
        return {"text/html": img, "image/png": self.png, "text/plain": self.alt}

    def __repr__(self) -> str:
        return f"AltFigure(alt={self.alt!r})"
