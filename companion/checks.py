"""Input checks shared by the companion's modules.

Every public function of the companion validates its arguments before the first model
call, with these checks: each names the argument it refuses and says what to pass
instead, so that bad input is a clear ``TypeError`` or ``ValueError``, never a raw error
from deep inside numpy or torch, and never a silent wrong answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "as_float_array",
    "as_rng",
    "check_feature_names",
    "check_flag",
    "check_int",
    "check_masks",
    "check_model",
    "check_positive",
]


def _check_name(name: object) -> None:
    """The argument name a check puts in its messages must be text."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be the argument's name as a str, got {name!r}")


def as_rng(rng: np.random.Generator | int | None, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy`` Generator from a Generator, an int seed, or ``None`` (fresh entropy)."""
    _check_name(name)
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_))):
        if rng is not None and rng < 0:
            raise ValueError(f"{name} must be a non-negative int seed, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(
        f"{name} must be a numpy Generator, an int seed or None, not {type(rng).__name__}"
    )


def check_flag(value: object, name: str) -> bool:
    """``value`` as a Python bool: a TypeError naming ``name`` for anything but
    ``True``, ``False`` or a numpy bool (``1``, ``"yes"`` and ``None`` included)."""
    _check_name(name)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_int(value: object, name: str, minimum: int = 1, kind: str = "an int") -> int:
    """``value`` as a Python int ``>= minimum``.

    A TypeError for anything that is not an integer (bools and floats such as ``2.0``
    included), a ValueError below ``minimum``; both name the argument.
    """
    _check_name(name)
    if isinstance(minimum, (bool, np.bool_)) or not isinstance(minimum, (int, np.integer)):
        raise TypeError(f"minimum must be an int, not {type(minimum).__name__}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {kind}, not {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def as_float_array(a: object, name: str) -> np.ndarray:
    """``a`` (array, list, DataFrame, torch tensor) as a float64 ndarray, or a TypeError.

    Refuses text, objects, complex numbers and ragged lists with a message naming
    ``name``; a torch tensor is detached and copied to the host first.
    """
    _check_name(name)
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor (torch not imported)
        try:
            a = a.detach().cpu().numpy()
        except (RuntimeError, NotImplementedError, TypeError) as err:
            raise TypeError(f"{name} is a tensor that cannot be copied to numpy: {err}") \
                from None
    try:
        arr = np.asarray(a)
    except ValueError:
        raise TypeError(
            f"{name} must be a rectangular array of numbers; rows of different lengths "
            "cannot form one"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{name} must hold real numbers, got dtype {arr.dtype}; encode text columns "
            f"and convert with np.asarray({name}, dtype=float)"
        )
    return arr.astype(float)


def check_masks(masks: object, n: int) -> np.ndarray:
    """Validate a coalition batch: a boolean ndarray of shape ``(k, n)``."""
    n = check_int(n, "n", minimum=1, kind="the number of players, an int")
    if not isinstance(masks, np.ndarray):
        raise TypeError(
            f"masks must be a numpy bool array of shape (k, {n}), got {type(masks).__name__}"
        )
    if masks.dtype != np.bool_:
        raise TypeError(
            f"masks must have dtype bool (True = player present), got {masks.dtype}; "
            "convert with masks.astype(bool)"
        )
    if masks.ndim != 2 or masks.shape[1] != n:
        raise ValueError(
            f"masks must have shape (k, {n}) for a game on {n} players, got {masks.shape}"
        )
    return masks


def check_positive(value: object, name: str, hint: str = "") -> float:
    """``value`` as a positive finite float: a TypeError for a non-number (bools
    included), a ValueError for zero, a negative, NaN or inf; ``hint`` ends both."""
    _check_name(name)
    if not isinstance(hint, str):
        raise TypeError(f"hint must be a str, got {type(hint).__name__}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a positive number, got {value!r}{hint}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        number = float("inf")
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}{hint}")
    return number


def check_model(f: object) -> Callable:
    """``f`` itself if it is callable, else a TypeError naming the contract
    ``f(X) -> (m,)``; the output's shape is checked where ``f`` is first called."""
    if not callable(f):
        raise TypeError(f"f must be callable as f(X) -> (m,), got {type(f).__name__}")
    return f


def check_feature_names(feature_names: object, p: int) -> list[str] | None:
    """``None``, or one name per feature as a list of ``p`` strings.

    A TypeError for a single string (or bytes) or anything without a length, a
    ValueError for the wrong number of names.
    """
    p = check_int(p, "p", kind="the number of features, an int")
    if feature_names is None:
        return None
    if isinstance(feature_names, (str, bytes)) or not hasattr(feature_names, "__len__"):
        raise TypeError(
            f"feature_names must be a list of {p} names, one per feature, "
            f"got {type(feature_names).__name__}"
        )
    names = [str(name) for name in feature_names]
    if len(names) != p:
        raise ValueError(
            f"feature_names has {len(names)} names for {p} features; give one per column"
        )
    return names
