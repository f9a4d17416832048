"""Every check in chapters 1 and 2 can fail: plant an error, run the chapter, see it.

A check that holds whatever the code does proves nothing. Each test below runs the
chapter's own code cells (read from ``book/*.md`` with jupytext, executed in order in
one namespace, up to the chapter's last check) with one mistake planted in the companion
or in the chapter's code, of the size the chapter's prose says the check detects. It
then requires that the named checks raise ``AssertionError``. The unplanted run must
pass every check, which is what makes the planted failures meaningful.

The checks are found by a piece of their source, so a test fails loudly if a check is
rewritten and the test is not.
"""

from __future__ import annotations

import ast
import contextlib
import io
import itertools
import re
from pathlib import Path

import jupytext
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import companion  # noqa: E402
import companion.weights  # noqa: E402
import myst_nb  # noqa: E402
from myst_nb.core.variables import format_plain_text  # noqa: E402
from companion.game import (  # noqa: E402
    DEFAULT_CHUNK,
    _ordering_marginals,
    coalition_masks,
)

BOOK = Path(__file__).resolve().parents[1] / "book"
CH1 = BOOK / "01_three_player_game.md"
CH2 = BOOK / "02_shapley_weights.md"

#: Each check of a chapter, by a piece of source found in exactly one code cell.
CHECKS = {
    CH1: {
        "routes": "np.testing.assert_allclose(phi, phi_orders, rtol=0, atol=1e-12)",
        "efficiency": 'assert abs(phi.sum() - (game.value("ABC") - game.value("")))',
        # The prose's "every player gets the same amount less" (a hidden guard).
        "equal shortfall": "assert np.ptp(each_less) < 1e-12",
        "symmetry": "assert abs(phi_sym[1] - phi_sym[2]) < 1e-12",
        "null player": "assert abs(phi_null[3]) < 1e-12",
        "additivity": "np.testing.assert_allclose(companion.shapley_values(both),",
        "shap": "np.testing.assert_allclose(shap_exact.values[0], phi, rtol=0,",
        "sampling": "assert np.all(np.abs(ratio - 1) < 4 * ratio_se), sampling",
    },
    CH2: {
        "counts": "assert count == math.factorial(s) * math.factorial(n - s - 1)",
        "size weights": "assert by_count == [Fraction(1, n)] * n, n",
        "routes and shap": "np.testing.assert_allclose(phi_shap[n], phi_subsets[n]",
        # A demonstration (true by construction of the closed form), listed so that a
        # planted error in the closed form itself is recorded rather than raised.
        "closed-form identity": "assert total == 1, n",
    },
}


def code_cells(md: Path) -> list[str]:
    """The chapter's code cells before its exercises."""
    cells = []
    for cell in jupytext.read(md).cells:
        if cell.cell_type == "markdown" and "## Exercises" in cell.source:
            break
        if cell.cell_type == "code":
            cells.append(cell.source)
    return cells


def check_cells(md: Path, cells: list[str]) -> dict[str, int]:
    """The index of the code cell holding each check of the chapter."""
    where = {}
    for check, piece in CHECKS[md].items():
        found = [k for k, source in enumerate(cells) if piece in source]
        assert len(found) == 1, f"{md.name}: check {check!r} ({piece}) in cells {found}"
        where[check] = found[0]
    return where


def run_chapter(md: Path, edits: dict[str, str] | None = None, to_the_end=False):
    """Run the chapter's cells up to its last check (or, with ``to_the_end``, up to its
    exercises); return (failed checks, namespace).

    ``edits`` replaces pieces of the chapter's code (each must occur exactly once). An
    ``AssertionError`` in a check cell is recorded and the run goes on; any other error,
    or an assertion failing outside a check cell, is raised.
    """
    cells = code_cells(md)
    for old, new in (edits or {}).items():
        hits = [k for k, source in enumerate(cells) if old in source]
        assert len(hits) == 1 and cells[hits[0]].count(old) == 1, f"edit target {old!r}"
        cells[hits[0]] = cells[hits[0]].replace(old, new)
    where = check_cells(md, cells)
    names = {k: check for check, k in where.items()}
    namespace: dict = {"__name__": "__chapter__"}
    failed = set()
    with contextlib.redirect_stdout(io.StringIO()):
        last = len(cells) if to_the_end else max(where.values()) + 1
        for k, source in enumerate(cells[:last]):
            try:
                exec(compile(source, f"{md.name} cell {k}", "exec"), namespace)
            except AssertionError:
                if k not in names:
                    raise
                failed.add(names[k])
    return failed, namespace


@pytest.fixture(autouse=True)
def quiet_glue(monkeypatch):
    """glue() outside a notebook: record nothing, print nothing."""
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: None)


GLUED: dict[Path, dict[str, object]] = {}


@pytest.fixture(scope="module")
def clean_runs():
    """The unplanted chapters: every check passes. Their namespaces give the sizes."""
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        for md in (CH1, CH2):
            glued = GLUED.setdefault(md, {})
            mp.setattr(myst_nb, "glue",
                       lambda name, value, display=True, glued=glued: glued.update(
                           {name: value}))
            runs[md] = run_chapter(md, to_the_end=True)
    return runs


@pytest.mark.parametrize("md", [CH1, CH2], ids=lambda p: p.stem)
def test_the_unplanted_chapter_passes_every_check(clean_runs, md):
    failed, _ = clean_runs[md]
    assert failed == set()


@pytest.mark.parametrize("md", [CH1, CH2], ids=lambda p: p.stem)
def test_every_glued_number_in_the_prose_renders(clean_runs, md):
    """Each {glue:text}`key:spec` before the exercises names a glued value that MyST-NB
    can format with that spec (a numpy scalar's repr, np.float64(...), cannot be)."""
    text = md.read_text(encoding="utf-8").split("## Exercises")[0]
    glued = GLUED[md]
    for match in re.finditer(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`", text):
        key, spec = match.group(1), match.group(2) or ""
        assert key in glued, f"{md.name}: {{glue:text}}`{key}` is never glued"
        plain = repr(glued[key])
        if spec and spec[-1] in "eEfFgGn%bcdoxX":
            value = ast.literal_eval(plain)  # what MyST-NB does with text/plain
            assert isinstance(value, (int, float)), (key, plain)
        format_plain_text(plain, spec)


# ------------------------------------------------------------ planted errors
def scaled_weight(size: int, error: float):
    """companion.weights' exact weight, with one size's weight times (1 + error)."""
    exact = companion.weights._exact_weight

    def wrong(s: int, n: int):
        w = exact(s, n)
        return w * (1 + error) if s == size else w

    return wrong


def reversed_players(game, n=None, **kwargs):
    """The right values, reported in the wrong player order (last player first)."""
    return ORIGINAL_SHAPLEY_VALUES(game, n, **kwargs)[::-1]


ORIGINAL_SHAPLEY_VALUES = companion.shapley_values


def banzhaf(game, n=None, **kwargs):
    """Every coalition without i gets the same weight 1 / 2^(n-1).

    Symmetric, additive and zero for null players, but not efficient.
    """
    n = game.n if n is None else n
    codes = np.arange(2**n)
    v = np.asarray(game(coalition_masks(codes, n)), dtype=float)
    without = [codes[(codes >> i) & 1 == 0] for i in range(n)]
    return np.array([np.mean(v[S | (1 << i)] - v[S]) for i, S in enumerate(without)])


def normalised_banzhaf(game, n=None, **kwargs):
    """Banzhaf values rescaled to add up to v(N) - v({}).

    Efficient, symmetric and zero for null players, but not additive: the rescaling
    factor depends on the game.
    """
    n = game.n if n is None else n
    codes = np.arange(2**n)
    v = np.asarray(game(coalition_masks(codes, n)), dtype=float)
    beta = np.array([np.mean(v[codes[(codes >> i) & 1 == 0] | (1 << i)]
                             - v[codes[(codes >> i) & 1 == 0]]) for i in range(n)])
    return beta * (v[-1] - v[0]) / beta.sum()


def equal_split(game, n=None, **kwargs):
    """(v(N) - v({})) / n for every player.

    Efficient, symmetric and additive, but it pays null players.
    """
    n = game.n if n is None else n
    v = np.asarray(game(coalition_masks(np.array([0, 2**n - 1]), n)), dtype=float)
    return np.full(n, (v[1] - v[0]) / n)


def one_fixed_order(game, n=None, **kwargs):
    """Each player's jump in the one order 0, 1, ..., n - 1.

    Efficient, additive and zero for null players, but not symmetric.
    """
    n = game.n if n is None else n
    firsts = (1 << np.arange(n + 1)) - 1  # {}, {0}, {0, 1}, ..., N
    return np.diff(np.asarray(game(coalition_masks(firsts, n)), dtype=float))


# ------------------------------------------------------------ chapter 1
@pytest.mark.parametrize("rule, caught_by", [(banzhaf, "efficiency"),
                                             (equal_split, "null player"),
                                             (one_fixed_order, "symmetry")])
def test_ch1_each_axiom_rejects_a_rule_the_other_three_accept(monkeypatch, rule,
                                                              caught_by):
    """The prose: for each axiom, a wrong rule that satisfies the other three and only
    this check rejects (the rescaled Banzhaf rule, for additivity, is tested below)."""
    monkeypatch.setattr(companion, "shapley_values", rule)
    failed, _ = run_chapter(CH1)
    axioms = {"efficiency", "symmetry", "null player", "additivity"}
    assert failed & axioms == {caught_by}


def scaled_subset_weights(size: int, error: float):
    """shapley_values' weights ``w[s]``, with one size's weight times (1 + error)."""
    exact = companion.game._subset_weights

    def wrong(n: int):
        w = exact(n).copy()
        w[size] *= 1 + error
        return w

    return wrong


@pytest.mark.parametrize("size", [0, 1, 2])
def test_ch1_one_weight_off_by_one_part_in_a_billion(monkeypatch, size):
    """The prose: 'a single weight wrong by one part in a billion fails them', the
    weight being the one companion.shapley_values uses."""
    monkeypatch.setattr(companion.game, "_subset_weights",
                        scaled_subset_weights(size, 1e-9))
    failed, _ = run_chapter(CH1)
    assert {"routes", "efficiency", "shap"} <= failed


def test_ch1_values_for_the_wrong_player(monkeypatch):
    """Symmetry and null player catch values reported in the wrong player order."""
    monkeypatch.setattr(companion, "shapley_values", reversed_players)
    failed, _ = run_chapter(CH1)
    assert {"routes", "symmetry", "null player"} <= failed


def test_ch1_a_rule_that_rescales_to_v_of_n(monkeypatch):
    """Additivity catches a rule that forces efficiency by rescaling (normalised
    Banzhaf), which efficiency, symmetry and null player all let through."""
    monkeypatch.setattr(companion, "shapley_values", normalised_banzhaf)
    failed, _ = run_chapter(CH1)
    assert "additivity" in failed
    assert not {"efficiency", "symmetry", "null player"} & failed


@pytest.mark.parametrize("coalition", [1, 5, 7])  # {A}, {A, C}, {A, B, C}
def test_ch1_shap_model_misreads_one_coalition(coalition):
    """The prose: 'a model that misreads a single coalition, off by 1e-6, fails'."""
    line = "all_values = game(coalition_masks(np.arange(2**game.n), game.n))"
    failed, _ = run_chapter(CH1, {line: f"{line}\nall_values[{coalition}] += 1e-6"})
    assert failed == {"shap"}


def test_ch1_sampler_with_the_bias_the_prose_names(monkeypatch, clean_runs):
    """The prose: a bias of `bias_detected` in every sampled value fails the check."""
    bias = clean_runs[CH1][1]["bias_detected"]
    estimate = companion.permutation_estimate
    monkeypatch.setattr(companion, "permutation_estimate",
                        lambda *args, **kwargs: estimate(*args, **kwargs) + bias)
    failed, _ = run_chapter(CH1)
    assert failed == {"sampling"}


def test_ch1_sampler_that_does_not_draw_orders_uniformly(monkeypatch):
    """A sampler that moves player 0 to the front of a fifth of its orders: caught."""

    def skewed(game, n_permutations, n=None, rng=None, antithetic=False, **kwargs):
        rng = np.random.default_rng(rng)
        n = game.n if n is None else n
        perms = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1)
        for row in perms[: n_permutations // 5]:
            row[:] = [0] + [p for p in row if p != 0]
        return _ordering_marginals(game, perms, DEFAULT_CHUNK) / n_permutations

    monkeypatch.setattr(companion, "permutation_estimate", skewed)
    failed, _ = run_chapter(CH1)
    assert failed == {"sampling"}


# ------------------------------------------------------------ chapter 2
def test_ch2_miscounting_orderings(monkeypatch):
    """Counting the orderings with S before i *and possibly others* (the first half of
    Step 1 only) fails the count check and the size-weight check."""

    def loose_count(s, n):
        S = set(range(1, s + 1))
        return sum(1 for order in itertools.permutations(range(n))
                   if S <= set(order[: order.index(0)]))

    monkeypatch.setattr(companion.weights, "count_orderings", loose_count)
    failed, _ = run_chapter(CH2)
    assert {"counts", "size weights"} <= failed
    assert "routes and shap" not in failed


def test_ch2_one_weight_off_by_one_part_in_a_billion(monkeypatch):
    """Exact fractions: the count checks catch any wrong weight, however small; the
    1e-9 route comparison does not see an error this small (as the prose measures)."""
    monkeypatch.setattr(companion.weights, "_exact_weight", scaled_weight(2, 1e-9))
    failed, _ = run_chapter(CH2)
    assert {"counts", "size weights"} <= failed
    assert "routes and shap" not in failed


def test_ch2_wrong_weight_of_the_size_the_prose_names(monkeypatch, clean_runs):
    """The prose: a relative error of `detectable_error` or more in the weight of any
    single size fails the route comparison. Plant it in the least sensitive size."""
    namespace = clean_runs[CH2][1]
    size = int(namespace["moved"].idxmin())
    error = 1.01 * namespace["detectable_error"]
    monkeypatch.setattr(companion.weights, "_exact_weight", scaled_weight(size, error))
    failed, _ = run_chapter(CH2)
    assert "routes and shap" in failed


def test_ch2_shap_model_misreads_one_coalition():
    """One v(S) off by 1e-6 in the model shap sees, for a middle coalition of the
    largest game (the smallest weight, 1/280), fails the shap comparison."""
    line = "explainer = shap.explainers.Exact(game.as_model(), masker)"
    middle = (1 << 4) - 1  # players 0..3: a coalition of size 4 out of 8
    wrong = (f"model = game.as_model()\n"
             f"    misread = (lambda X: model(X) + 1e-6 * (n == 8)\n"
             f"               * (np.asarray(X) @ (1 << np.arange(n)) == {middle}))\n"
             f"    explainer = shap.explainers.Exact(misread, masker)")
    failed, _ = run_chapter(CH2, {line: wrong})
    assert failed == {"routes and shap"}
