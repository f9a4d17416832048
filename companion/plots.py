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
