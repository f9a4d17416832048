"""companion.exercises: every checked exercise accepts its solution, reports the
placeholder, and answers each typical mistake with its own hint."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import exercises
from companion.exercises import check, exercise_ids

BOOK = Path(__file__).resolve().parents[1] / "book"


def _w(s, n):
    return Fraction(math.factorial(s) * math.factorial(n - s - 1), math.factorial(n))


# label -> (a right answer, [(typical mistake, a word its hint must contain), ...])
CASES = {
    "ch1-glove": (
        {"L": Fraction(2, 3), "R1": Fraction(1, 6), "R2": Fraction(1, 6)},
        [
            ({"L": 1 / 3, "R1": 1 / 3, "R2": 1 / 3}, "scarce"),  # equal split
            ({"L": 0.5, "R1": 0.25, "R2": 0.25}, "pivotal"),  # L gets "half"
            ({"L": 1, "R1": 0, "R2": 0}, "core"),  # the core's answer
            ({"L": 0.7, "R1": 0.2, "R2": 0.2}, "sum to v(N)"),  # breaks efficiency
            ({"L": 0.5, "R1": 0.3, "R2": 0.2}, "interchangeable"),  # breaks symmetry
        ],
    ),
    "ch1-shortfall": (
        np.full(3, 40 / 3),
        [(np.full(3, -40 / 3), "sign"), ([40, 40, 40], "shared")],
    ),
    "ch2-four-weights": (
        [_w(s, 4) for s in range(4)],
        [
            ([1, 1 / 4, 1 / 6, 1 / 4], "n - s - 1"),  # s!(n-s)!/n!
            ([6, 2, 2, 6], "divide"),  # counts, not divided by n!
            ([1 / 8] * 4, "Banzhaf"),  # equal weights
            ([0.3, 0.1, 0.1, 0.3], "add up to 1"),
        ],
    ),
    "ch2-weight-function": (
        lambda s, n: _w(s, n),
        [
            (lambda s, n: math.factorial(s) * math.factorial(n - s) / math.factorial(n),
             "n - s - 1"),  # swapped: counts the players after i as n - s
            (lambda s, n: math.factorial(s) * math.factorial(n - s - 1)
             / math.factorial(n - 1), "not by (n - 1)!"),  # divides by the wrong n!
            (lambda s, n: math.factorial(s) * math.factorial(n - s - 1), "divide by n!"),
            (lambda s, n: 1 / 2 ** (n - 1), "Banzhaf"),
            (lambda s, n: 1 / n, "wrong for"),
        ],
    ),
    "ch3-marginal-conditional": (
        {"marginal": 1.0, "conditional": 1.8},
        [
            ({"marginal": 1.8, "conditional": 1.0}, "swapped"),
            ({"marginal": 1.0, "conditional": 1.0}, "E[X2 | X1 = x1]"),
        ],
    ),
    "ch3-additive": ([4.0, 2.0], [([6.0, 0.0], "background mean"), ([5, 2], "sum")]),
    "ch4-kernel-weights": (
        [0.25, 0.125, 0.25],
        [([1, 0.75, 1], "C(p, s)"), ([1 / 12, 1 / 12, 1 / 4], "Shapley weights")],
    ),
    "ch4-two-players": ([5, 3], [([3, 1], "average"), ([6, 3], "sum")]),
    "ch5-linear": ([0, -3, -1.5], [([2, -4, -1], "baseline"), ([0, -3, 0], "sum")]),
    "ch5-sqrt-law": (4, [(16, "square root")]),
}


def test_every_exercise_has_cases():
    assert sorted(CASES) == exercise_ids()


@pytest.mark.parametrize("label", sorted(CASES))
def test_solution_is_correct(label, capsys):
    verdict = check(label, CASES[label][0])
    assert verdict.correct, verdict
    assert f"[{label}] correct" in capsys.readouterr().out


@pytest.mark.parametrize("label", sorted(CASES))
@pytest.mark.parametrize("placeholder", [..., None])
def test_placeholder_is_not_answered(label, placeholder, capsys):
    verdict = check(label, placeholder)
    assert verdict.status == "not answered yet"
    assert "not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "label, wrong, word",
    [(label, wrong, word) for label, (_, ms) in CASES.items() for wrong, word in ms],
)
def test_typical_mistake_gets_its_hint(label, wrong, word):
    verdict = check(label, wrong)
    assert verdict.status == "not yet"
    assert word in verdict.message, verdict.message


@pytest.mark.parametrize("label", sorted(CASES))
def test_hints_do_not_give_the_answer_away(label):
    """No hint or description prints the expected numbers (to 3 decimals)."""
    ex = exercises._REGISTRY[label]
    right = CASES[label][0]
    if callable(right):
        return
    values = right.values() if isinstance(right, dict) else np.ravel(right)
    texts = [ex.hint, ex.what, *(h for _, h in ex.mistakes), *(h for _, h in ex.rules)]
    for v in values:
        v = float(v)
        if v in (0.0, 1.0) or float(v).is_integer() and abs(v) < 10:
            continue  # small integers appear in any sentence ("3 players")
        for t in texts:
            assert f"{v:.3f}" not in t and f"{v:.2f}" not in t, (label, t)


def test_no_expected_value_in_the_source():
    """The module stores digests, never the expected fractions or decimals."""
    src = Path(exercises.__file__).read_text()
    for needle in ("2 / 3", "2/3,", "0.6667", "40 / 3", "13.33", "1.8,", "0.125"):
        assert needle not in src, needle


def test_rounding_boundary_is_accepted():
    assert check("ch2-four-weights", [0.25, 0.08333, 0.08334, 0.25]).correct
    assert not check("ch2-four-weights", [0.25, 0.0830, 0.0833, 0.25]).correct


def test_unknown_exercise_names_the_known_ones():
    with pytest.raises(ValueError, match="exercise must be one of"):
        check("ch9-nothing", 1)


@settings(max_examples=60, deadline=None)
@given(
    label=st.sampled_from(sorted(CASES)),
    answer=st.one_of(
        st.none(),
        st.text(max_size=5),
        st.floats(allow_nan=True, allow_infinity=True),
        st.lists(st.floats(allow_nan=True), max_size=5),
        st.dictionaries(st.text(max_size=3), st.floats(), max_size=3),
        st.booleans(),
    ),
)
def test_never_raises_on_any_answer(label, answer):
    verdict = check(label, answer)
    assert verdict.status in ("correct", "not yet", "not answered yet")


def test_a_crashing_function_is_reported():
    verdict = check("ch2-weight-function", lambda s, n: 1 / 0)
    assert verdict.status == "not yet" and "ZeroDivisionError" in verdict.message


def _check_cells(text: str) -> list[str]:
    return re.findall(r'check\("([a-z0-9-]+)"', text)


def test_every_checked_exercise_is_in_the_book():
    """Each label is checked in its chapter's solution and has a student cell."""
    text = "\n".join(p.read_text() for p in sorted(BOOK.glob("0*.md")))
    used = _check_cells(text)
    for label in exercise_ids():
        assert used.count(label) >= 2, (label, "solution check + student-check cell")
    assert text.count("student-check") >= len(exercise_ids())


def test_a_function_that_returns_the_placeholder_is_not_answered():
    def my_weight(s, n):
        return ...

    assert check("ch2-weight-function", my_weight).status == "not answered yet"


def _ch3_by_hand_values(shift=0.0):
    """Chapter 3's "marginal or conditional, by hand" computation, with the conditional
    mean optionally shifted (a biased sampler)."""
    from companion.missing import conditional_game, marginal_game

    rho = 0.8
    cov = np.array([[1.0, rho], [rho, 1.0]])
    x = np.array([1.0, 1.0])
    bg = np.random.default_rng(11).multivariate_normal([0, 0], cov, size=20_000)

    def f(X):
        return X[:, 0] + X[:, 1] + shift * ~np.isclose(X[:, 1], x[1])

    only_1 = np.array([[True, False]])
    v_marg = marginal_game(f, x, bg)(only_1)[0]
    game = conditional_game(f, x, [0, 0], cov, n_samples=20_000, rng=12)
    return np.array([v_marg, game(only_1)[0]]), 5 / np.sqrt(20_000)


def test_ch3_by_hand_check_rejects_a_bias_of_seven_standard_errors():
    """The exercise's assert (5 Monte-Carlo standard errors, rtol=0) holds for the honest
    games and fails when the filled-in x2 is off by 0.05, seven standard errors."""
    values, atol = _ch3_by_hand_values()
    np.testing.assert_allclose(values, [1.0, 1.8], rtol=0, atol=atol)
    biased, _ = _ch3_by_hand_values(shift=0.05)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(biased, [1.0, 1.8], rtol=0, atol=atol)
