"""Self-checking exercises: ``check(exercise, answer)`` prints a short verdict.

Each checked exercise of the book has an entry in a registry, keyed by the exercise's
label (``"ch1-glove"``). :func:`check` compares a student's answer with the expected one
and prints one of three verdicts:

* ``correct``;
* ``not yet``, with a hint that points at the idea ("the shares should sum to v(N)"),
  never at the number;
* ``not answered yet``, while the answer is still the placeholder ``...`` (or ``None``).

It never raises on an answer, whatever its type: a string, a wrong shape or a function
that crashes gets a "not yet" that says what was expected.

How the expected answers are hidden
-----------------------------------
Numeric answers are stored as SHA-256 digests of the answer rounded to a stated number
of decimals and salted with the exercise label, never as numbers. A student who reads
this file sees ``"c4e1..."``, not ``2/3``. Typical wrong answers are stored the same way,
each with its own hint. Function answers (a student's own ``shapley_weight``) are called
on test cases and compared with the companion's own implementation at check time.

This is feedback, not an exam: the digests of a few decimals can be brute-forced, and
the function checks call the companion, whose source a student can read. The aim is that
the answer is not visible at a glance in the notebook a student works in.

Adding a check
--------------
Compute the digest of the expected answer with :func:`digest` and add an
:class:`Exercise` to ``_REGISTRY`` (see the entries below); then put a cell
``check("label", my_answer)`` in the exercise's solution and a placeholder cell tagged
``student-check`` after it. ``tests/test_exercises.py`` checks that every entry accepts
its solution, reports the placeholder and rejects its typical mistakes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Real

import numpy as np

__all__ = ["Exercise", "Verdict", "check", "digest", "exercise_ids"]

CORRECT, NOT_YET, NOT_ANSWERED = "correct", "not yet", "not answered yet"


# ---------------------------------------------------------------- canonical forms
def _number(value: object) -> float | None:
    """A finite real number as float, or None (bools, strings, NaN are not numbers)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real | np.number):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _numbers(answer: object, shape: tuple) -> list[float] | None:
    """The answer as a flat list of floats in the expected shape, or None."""
    if shape == ():
        x = _number(answer)
        return None if x is None else [x]
    if isinstance(answer, str | bytes | Mapping):
        return None
    try:
        items = np.asarray(answer, dtype=object)
    except (TypeError, ValueError):
        return None
    if items.shape != shape:
        return None
    out = [_number(a) for a in items.ravel()]
    return None if any(a is None for a in out) else out


def _text(values: Sequence[float], decimals: int) -> str:
    parts = []
    for x in values:
        r = round(x, decimals) + 0.0  # + 0.0 turns -0.0 into 0.0
        parts.append(f"{r:.{decimals}f}")
    return ",".join(parts)


def digest(label: str, values: object, decimals: int) -> str:
    """First 24 hex digits of SHA-256(``label|values``), numbers rounded to ``decimals``.

    ``values`` is a number, a sequence of numbers or a mapping (ordered by its keys as
    strings). This is how the expected answers are stored.
    """
    if isinstance(values, Mapping):
        values = [values[k] for k in sorted(values, key=str)]
    flat = [float(v) for v in np.ravel(np.asarray(values, dtype=float))]
    text = f"{label}|{_text(flat, decimals)}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _digests_near(label: str, values: list[float], decimals: int) -> set[str]:
    """Digests of the answer and of the answer nudged by a quarter of the last decimal.

    The nudges accept an answer that sits on a rounding boundary (0.08333 against
    1/12 at three decimals), so "correct" means "correct to ``decimals`` places".
    """
    step = 0.25 * 10.0 ** (-decimals)
    return {
        digest(label, [v + d for v in values], decimals) for d in (-step, 0.0, step)
    }


# ---------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Exercise:
    """One checked exercise.

    ``shape`` is ``()`` for a number, ``(k,)`` for a vector of k numbers; ``keys`` (if
    given) makes the answer a mapping ``{key: number}`` in that key order. ``answer`` is
    the digest of the right answer at ``decimals`` places; ``mistakes`` maps digests of
    typical wrong answers paired with their hints; ``rules`` are checks (predicate on
    the flat answer, hint) that a right answer passes, so a wrong one learns which idea it misses.
    A function exercise has ``reference`` and ``cases`` instead: the student's function
    is called on every case and compared with ``reference`` to a relative ``rtol``;
    ``wrong_functions`` pairs typical wrong formulas with their hints.
    """

    label: str
    what: str
    hint: str
    shape: tuple = ()
    keys: tuple | None = None
    decimals: int = 4
    answer: str | None = None
    mistakes: Sequence[tuple[str, str]] = ()
    rules: Sequence[tuple[Callable[[list[float]], bool], str]] = ()
    reference: Callable | None = None
    cases: Sequence[tuple] = ()
    wrong_functions: Sequence[tuple[Callable, str]] = ()
    rtol: float = 1e-9


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` decided: ``status`` is "correct", "not yet" or
    "not answered yet"."""

    exercise: str
    status: str
    message: str

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def _ipython_display_(self) -> None:  # the verdict is printed once, not echoed too
        pass


def _sums_to(total: float) -> Callable[[list[float]], bool]:
    return lambda a: abs(sum(a) - total) <= 1e-3 * max(1.0, abs(total))


def _equal(i: int, j: int) -> Callable[[list[float]], bool]:
    return lambda a: abs(a[i] - a[j]) <= 1e-6 * max(1.0, abs(a[i]))


def _w_wrong_after(s: int, n: int) -> float:
    return math.factorial(s) * math.factorial(n - s) / math.factorial(n)


def _w_wrong_total(s: int, n: int) -> float:
    return math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n - 1)


def _w_equal(s: int, n: int) -> float:
    return 1 / 2 ** (n - 1)


def _w_counts(s: int, n: int) -> float:
    return float(math.factorial(s) * math.factorial(n - s - 1))


def _shapley_weight(s: int, n: int) -> float:
    from .weights import shapley_weight  # the companion's own, at check time

    return float(shapley_weight(s, n))


_WEIGHT_CASES = tuple((s, n) for n in (1, 2, 3, 5, 7, 10) for s in range(n))

_REGISTRY: dict[str, Exercise] = {
    e.label: e
    for e in [
        Exercise(
            label="ch1-glove",
            what="a dict {'L': ..., 'R1': ..., 'R2': ...} of the three Shapley values",
            keys=("L", "R1", "R2"),
            shape=(3,),
            answer="f49e3c7d635a6a84eefa0c9f",
            hint="list the 3! = 6 orderings and, in each, see who completes the first pair",
            rules=(
                (_sums_to(1.0), "the shares should sum to v(N) = 1 (efficiency)"),
                (
                    _equal(1, 2),
                    "R1 and R2 are interchangeable, so they get the same share",
                ),
            ),
            mistakes=(
                (
                    "ba0c7193602afbbfdb495fe5",
                    "an equal split ignores that the left glove is scarce: "
                    "count the orderings in which L completes the pair",
                ),
                (
                    "48322e7f900f4a9fd597c58a",
                    "L is pivotal in more than half of the orderings",
                ),
                (
                    "9f7cb7794a7c224765a6b153",
                    "taking everything is what the scarce player can demand in the "
                    "core; the Shapley value averages marginal contributions over orderings",
                ),
            ),
        ),
        Exercise(
            label="ch1-shortfall",
            what="a vector of the three shortfalls v({i}) - phi_i, for A, B, C",
            shape=(3,),
            answer="1e1cbaa6356fa5cd83608043",
            hint="compare what each friend earns alone with the Shapley value phi_i",
            mistakes=(
                (
                    "87f3fb0202408bb981702fdb",
                    "the sign: the shortfall is solo earnings minus the share, "
                    "v({i}) - phi_i",
                ),
                (
                    "40452a5a9079d7a0a3a65e2c",
                    "that is the whole coalition's loss: how is it shared among "
                    "three symmetric players?",
                ),
            ),
        ),
        Exercise(
            label="ch2-four-weights",
            what="a vector [w(0, 4), w(1, 4), w(2, 4), w(3, 4)]",
            shape=(4,),
            answer="d77dc32b76b98aade5eb6123",
            hint="w(s, n) = s! (n - s - 1)! / n!: the players before i, the players "
            "after i, all orderings",
            rules=(
                (
                    lambda a: abs(a[0] + 3 * a[1] + 3 * a[2] + a[3] - 1) < 1e-3,
                    "the weights of the 8 sets S without i should add up to 1 "
                    "(one set of size 0, three of size 1, three of size 2, one of size 3)",
                ),
            ),
            mistakes=(
                (
                    "f8da5340a961fd3527bc55b1",
                    "the players after i number n - s - 1, not n - s: i itself is "
                    "neither before nor after",
                ),
                (
                    "085c0d4700b4350f6afd8e5b",
                    "divide the count of orderings by n!, the number of all orderings",
                ),
                (
                    "8259023c69526c34e03daa65",
                    "equal weights 1/2^(n-1) give the Banzhaf value, not Shapley's",
                ),
            ),
        ),
        Exercise(
            label="ch2-weight-function",
            what="a function w(s, n) that returns the Shapley weight",
            hint="w(s, n) = s! (n - s - 1)! / n!",
            reference=_shapley_weight,
            cases=_WEIGHT_CASES,
            wrong_functions=(
                (
                    _w_wrong_after,
                    "the players after i number n - s - 1, not n - s: "
                    "i itself is neither before nor after",
                ),
                (
                    _w_wrong_total,
                    "divide by n!, the number of orderings of all n players, "
                    "not by (n - 1)!",
                ),
                (_w_counts, "that counts orderings; divide by n! to get a probability"),
                (
                    _w_equal,
                    "equal weights 1/2^(n-1) give the Banzhaf value, not Shapley's",
                ),
            ),
        ),
        Exercise(
            label="ch3-marginal-conditional",
            what="a dict {'marginal': ..., 'conditional': ...} of v({1}) under each game",
            keys=("conditional", "marginal"),
            shape=(2,),
            answer="433dec2f99753d07d4471832",
            hint="the marginal game averages x2 over its own distribution; the conditional "
            "game over its distribution given x1",
            mistakes=(
                (
                    "f5c76f8e63a43fb2c7d2ab9c",
                    "the two are swapped: the marginal game ignores the correlation",
                ),
                (
                    "024b450f2af4b1690afb1b12",
                    "given x1 = 1, x2 is not centred at 0 when the features are correlated:"
                    " E[X2 | X1 = x1] = rho x1",
                ),
            ),
        ),
        Exercise(
            label="ch3-additive",
            what="a vector [phi_1, phi_2] of the marginal Shapley values",
            shape=(2,),
            answer="c93bd6f50b21490226b4d6a6",
            hint="for an additive model, phi_i = g_i(x_i) minus the background mean of g_i",
            rules=(
                (
                    _sums_to(6.0),
                    "efficiency: the values should sum to f(x) minus the base "
                    "value, the background mean of f",
                ),
            ),
            mistakes=(
                (
                    "203cff87afa1110afea19d57",
                    "subtract the background mean of each term: a feature is compared "
                    "with the background, not with zero",
                ),
            ),
        ),
        Exercise(
            label="ch4-kernel-weights",
            what="a vector [pi(1), pi(2), pi(3)] of Shapley-kernel weights for p = 4",
            shape=(3,),
            answer="d05138f797c22fe00ac305ec",
            hint="pi(s) = (p - 1) / (C(p, s) s (p - s))",
            rules=((_equal(0, 2), "the kernel is symmetric: pi(s) = pi(p - s)"),),
            mistakes=(
                (
                    "df8b910dc89cd72dd27bda45",
                    "divide by C(p, s), the number of coalitions of that size",
                ),
                (
                    "e5053805681201b3a6b1c79d",
                    "those are the Shapley weights w(s, n); the kernel pi(s) is a "
                    "different weight on coalitions",
                ),
            ),
        ),
        Exercise(
            label="ch4-two-players",
            what="a vector [phi_1, phi_2] of the Kernel SHAP values",
            shape=(2,),
            answer="447f6100ad1485b5eb7d1ccc",
            hint="for p = 2 the regression averages the two marginal contributions of each"
            " player",
            rules=(
                (
                    _sums_to(8.0),
                    "efficiency: the values should sum to v(N) - v(empty set)",
                ),
            ),
            mistakes=(
                (
                    "c20d4e10c839c89c9fc6cbca",
                    "that is only the contribution to the empty coalition: average it "
                    "with the contribution to the other player's coalition",
                ),
            ),
        ),
        Exercise(
            label="ch5-linear",
            what="a vector [phi_1, phi_2, phi_3] of expected-gradients attributions",
            shape=(3,),
            answer="c35815999be972b883d505bd",
            hint="for a linear model the gradient is w everywhere, so phi_i = w_i times "
            "(x_i minus the background mean of feature i)",
            rules=(
                (
                    _sums_to(-4.5),
                    "completeness: the attributions should sum to f(x) minus "
                    "the background mean of f",
                ),
            ),
            mistakes=(
                (
                    "8ae19306dfc0cb643e2137ae",
                    "expected gradients integrate from a baseline: subtract the "
                    "background mean of each feature from x",
                ),
            ),
        ),
        Exercise(
            label="ch5-sqrt-law",
            what="a number: how many times smaller the standard errors get",
            answer="0891822a2a2ee39c23296c5e",
            hint="the standard error of a mean of n draws is sd / sqrt(n)",
            mistakes=(
                (
                    "23604f17ed8f9971962a42e6",
                    "standard errors shrink with the square root of the number of draws, "
                    "not in proportion to it",
                ),
            ),
        ),
    ]
}


def exercise_ids() -> list[str]:
    """The labels of every checked exercise, sorted."""
    return sorted(_REGISTRY)


# ---------------------------------------------------------------- checking
def _is_placeholder(answer: object) -> bool:
    if answer is None or answer is Ellipsis:
        return True
    if isinstance(answer, Mapping):
        return any(_is_placeholder(v) for v in answer.values())
    if isinstance(answer, list | tuple):
        return any(a is None or a is Ellipsis for a in answer)
    return False


def _flat(ex: Exercise, answer: object) -> list[float] | None:
    if ex.keys is None:
        return _numbers(answer, ex.shape)
    if not isinstance(answer, Mapping) or {str(k) for k in answer} != set(ex.keys):
        return None
    by_name = {str(k): v for k, v in answer.items()}
    return _numbers([by_name[k] for k in sorted(ex.keys)], ex.shape)


def _returns_placeholder(func: object, case: tuple) -> bool:
    """True for a function whose body is still the placeholder ``return ...``."""
    if not callable(func):
        return False
    try:
        return func(*case) is Ellipsis
    except Exception:  # a crash is reported by _check_function
        return False


def _check_values(ex: Exercise, answer: object) -> tuple[str, str]:
    values = _flat(ex, answer)
    if values is None:
        return (
            NOT_YET,
            f"expected {ex.what}, got {type(answer).__name__} {answer!r:.60}",
        )
    near = _digests_near(ex.label, values, ex.decimals)
    if ex.answer in near:
        return CORRECT, "correct"
    for key, hint in ex.mistakes:
        if key in near:
            return NOT_YET, hint
    for rule, hint in ex.rules:
        if not rule(values):
            return NOT_YET, hint
    return NOT_YET, ex.hint


def _call(func: Callable, case: tuple) -> float | str:
    try:
        out = _number(func(*case))
    except Exception as err:  # the student's code: report, never raise
        return f"{type(err).__name__}: {err}"
    return "it returned something that is not a finite number" if out is None else out


def _same(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


def _check_function(ex: Exercise, func: object) -> tuple[str, str]:
    if not callable(func):
        return NOT_YET, f"expected {ex.what}, got {type(func).__name__}"
    results = [_call(func, case) for case in ex.cases]
    for case, got in zip(ex.cases, results):
        if isinstance(got, str):
            return NOT_YET, f"calling it with {case} failed ({got})"
    expected = [ex.reference(*case) for case in ex.cases]
    if all(_same(g, e, ex.rtol) for g, e in zip(results, expected)):
        return CORRECT, f"correct on all {len(ex.cases)} test cases"
    for wrong, hint in ex.wrong_functions:
        if all(_same(g, wrong(*c), ex.rtol) for g, c in zip(results, ex.cases)):
            return NOT_YET, hint
    bad = next(
        c for c, g, e in zip(ex.cases, results, expected) if not _same(g, e, ex.rtol)
    )
    return NOT_YET, f"wrong for (s, n) = {bad}; {ex.hint}"


def check(exercise: str, answer: object) -> Verdict:
    """Compare a student's ``answer`` to exercise ``exercise`` and print the verdict.

    Prints "correct", "not yet: <hint>" or "not answered yet" (for ``...`` or ``None``)
    and returns the :class:`Verdict`. Never raises because of the answer; an unknown
    exercise label raises a ``ValueError`` that lists the known ones.
    """
    if not isinstance(exercise, str) or exercise not in _REGISTRY:
        raise ValueError(
            f"exercise must be one of {exercise_ids()}, got {exercise!r}; copy the label "
            "from the exercise's check cell"
        )
    ex = _REGISTRY[exercise]
    if _is_placeholder(answer):
        status, message = NOT_ANSWERED, f"replace ... with {ex.what}"
    elif ex.reference is not None and _returns_placeholder(answer, ex.cases[0]):
        status, message = NOT_ANSWERED, "make your function return a number instead of ..."
    elif ex.reference is not None:
        status, message = _check_function(ex, answer)
    else:
        status, message = _check_values(ex, answer)
    text = status if status == CORRECT else f"{status}: {message}"
    if status == CORRECT and message != CORRECT:
        text = f"{CORRECT} ({message})"
    print(f"[{exercise}] {text}")
    return Verdict(exercise, status, message)
