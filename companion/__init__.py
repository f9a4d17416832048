"""Companion package of *Shapley Values from First Principles*.

Every method the book teaches, implemented from scratch in small functions over numpy
arrays (torch only for the gradient methods). Names are imported lazily, so
``import companion`` is cheap and torch is loaded only when a gradient or model helper
is first used.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # chapter 1: games
    "TabularGame": "game",
    "three_player_game": "game",
    "shapley_values": "game",
    "shapley_by_permutations": "game",
    "permutation_estimate": "game",
    "coalition_masks": "game",
    "MAX_EXACT_PLAYERS": "game",
    # chapter 2: weights
    "shapley_weight": "weights",
    "count_orderings": "weights",
    "kernel_weight": "weights",
    "lime_kernel": "weights",
    "random_table_game": "weights",
    # chapter 3: missing features
    "baseline_game": "missing",
    "marginal_game": "missing",
    "conditional_game": "missing",
    # chapter 4: Kernel SHAP and LIME
    "kernel_shap": "kernel",
    "lime": "kernel",
    # chapter 5: gradients
    "gradient_shap": "gradient",
    "integrated_gradients": "gradient",
    "gradient_shap_samples": "gradient",
    # models, data, evaluation, plots
    "BinaryClassification": "models",
    "AgeBPNet": "models",
    "DiskNet": "models",
    "train_classifier": "models",
    "predict_fn": "models",
    "confusion_groups": "evaluation",
    "mean_ci": "evaluation",
}
_MODULES = {"checks", "game", "weights", "missing", "coalitions", "fits", "kernel", "gradient", "models", "datasets",
            "exercises",
            "evaluation", "plots"}

__all__ = sorted(_EXPORTS) + sorted(_MODULES)


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'companion' has no attribute {name!r}")


def __dir__():
    return __all__
