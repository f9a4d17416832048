"""The input checks every module shares (companion/checks.py), and the rule that keeps
them shared: a module imports only public names from another, with no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from companion import checks as C
from companion.coalitions import check_budget, coalition_design, default_budget
from companion.weights import kernel_weight

PACKAGE = Path(__file__).resolve().parents[1] / "companion"


def test_check_int():
    assert C.check_int(np.int64(3), "k") == 3
    with pytest.raises(TypeError, match="k must be an int, not float"):
        C.check_int(3.0, "k")
    with pytest.raises(TypeError, match="k must be an int"):
        C.check_int(True, "k")
    with pytest.raises(ValueError, match="k must be at least 2, got 1"):
        C.check_int(1, "k", minimum=2)


def test_as_rng():
    g = np.random.default_rng(1)
    assert C.as_rng(g) is g
    assert C.as_rng(7).integers(1 << 30) == np.random.default_rng(7).integers(1 << 30)
    with pytest.raises(TypeError, match="seed must be a numpy Generator"):
        C.as_rng(True, "seed")
    with pytest.raises(ValueError, match="rng must be a non-negative int seed"):
        C.as_rng(-1)


def test_check_model_and_masks():
    f = np.sum
    assert C.check_model(f) is f
    with pytest.raises(TypeError, match="f must be callable"):
        C.check_model(3)
    masks = np.zeros((2, 3), bool)
    assert C.check_masks(masks, 3) is masks
    with pytest.raises(TypeError, match="dtype bool"):
        C.check_masks(masks.astype(int), 3)
    with pytest.raises(ValueError, match=r"shape \(k, 4\)"):
        C.check_masks(masks, 4)


def test_as_float_array():
    assert C.as_float_array([1, 2], "x").dtype == np.float64
    with pytest.raises(TypeError, match="x must hold real numbers"):
        C.as_float_array(["a"], "x")
    with pytest.raises(TypeError, match="rows of different lengths"):
        C.as_float_array([[1, 2], [3]], "x")


def test_check_feature_names():
    assert C.check_feature_names(None, 3) is None
    assert C.check_feature_names(("a", 2, "c"), 3) == ["a", "2", "c"]
    for one_string in ("abc", b"abc"):   # as many characters as features: not names
        with pytest.raises(TypeError, match="feature_names must be a list of 3 names"):
            C.check_feature_names(one_string, 3)
    with pytest.raises(TypeError, match="feature_names"):
        C.check_feature_names(iter("abc"), 3)
    with pytest.raises(ValueError, match="feature_names has 2 names for 3 features"):
        C.check_feature_names(["a", "b"], 3)


def test_check_positive():
    assert C.check_positive(2, "tol") == 2.0
    assert isinstance(C.check_positive(np.float32(0.5), "tol"), float)
    for bad in (True, "1", None, [1.0]):
        with pytest.raises(TypeError, match="tol must be a positive number.*; hint"):
            C.check_positive(bad, "tol", "; hint")
    for bad in (0, -1.0, np.nan, np.inf, 10**400):
        with pytest.raises(ValueError, match="tol must be a positive finite number"):
            C.check_positive(bad, "tol")


def test_check_flag():
    assert C.check_flag(True, "paired") is True
    assert C.check_flag(np.bool_(False), "paired") is False
    for bad in (1, 0, "yes", None, np.array([True])):
        with pytest.raises(TypeError, match="paired must be True or False"):
            C.check_flag(bad, "paired")
    with pytest.raises(TypeError, match="name must be the argument's name"):
        C.check_flag(True, "")


def test_the_checks_refuse_bad_parameters_of_their_own():
    """A caller's mistake in a check's own parameters is named too, not passed on."""
    with pytest.raises(TypeError, match="minimum must be an int"):
        C.check_int(3, "k", minimum=1.5)
    with pytest.raises(TypeError, match="n must be the number of players"):
        C.check_masks(np.zeros((2, 3), bool), 3.0)
    with pytest.raises(ValueError, match="n must be at least 1"):
        C.check_masks(np.zeros((2, 0), bool), 0)
    for check in (C.as_rng, C.as_float_array):
        with pytest.raises(TypeError, match="name must be the argument's name"):
            check(1, 3)
    with pytest.raises(TypeError, match="name must be the argument's name"):
        C.check_int(1, "")
    with pytest.raises(TypeError, match="name must be the argument's name"):
        C.check_positive(1.0, None)
    with pytest.raises(TypeError, match="hint must be a str"):
        C.check_positive(1.0, "tol", 3)


def test_check_budget():
    assert check_budget(None, 12) == default_budget(12) == 2 * 12 + 2048
    assert check_budget(None, 10) == default_budget(10) == 2**10 - 2
    assert check_budget(np.int64(11), 10) == 11
    with pytest.raises(ValueError, match="below the minimum of 11"):
        check_budget(10, 10)
    with pytest.raises(TypeError, match="n_samples must be an int"):
        check_budget(20.0, 10)
    with pytest.raises(TypeError, match="p must be an int number of features"):
        check_budget(20, 10.0)


def test_design_weights_are_the_kernel_times_the_factor():
    design = coalition_design(8, 60, rng=0)
    expected = np.array([kernel_weight(int(s), 8) for s in design.sizes]) * design.factor
    np.testing.assert_allclose(design.weights, expected, rtol=1e-15, atol=0)
    assert not np.allclose(design.weights, expected * 1.01, rtol=1e-3, atol=0)


def _imports(path: Path):
    """``(module, [names])`` of every ``from .module import names`` and
    ``from companion.module import names`` in the file, function-level ones included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not node.module:
            continue
        if node.level == 1:
            yield node.module, [a.name for a in node.names]
        elif node.level == 0 and node.module.startswith("companion."):
            yield node.module.removeprefix("companion."), [a.name for a in node.names]


def _private_imports(root: Path) -> list[str]:
    return [
        f"{path.name}: {name} from .{module}"
        for path in sorted(root.glob("*.py"))
        for module, names in _imports(path)
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]


def test_no_module_imports_another_modules_private_names(tmp_path):
    assert _private_imports(PACKAGE) == []
    planted = tmp_path / "planted.py"
    planted.write_text("from .game import _check_n, shapley_values\n"
                       "def f():\n    from companion.fits import _cv_score\n",
                       encoding="utf-8")
    assert _private_imports(tmp_path) == ["planted.py: _check_n from .game",
                                          "planted.py: _cv_score from .fits"]


def _cycle(root: Path) -> list[str] | None:
    """A cycle of imports between the package's modules (function-level imports
    count too: a lazy import hides a cycle from Python, not from the design), or None."""
    graph = {p.stem: {m.split(".")[0] for m, _ in _imports(p)} for p in root.glob("*.py")}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path + [nxt]
            if nxt not in state and (found := visit(nxt, path + [nxt])):
                return found
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [node])):
            return found
    return None


def test_imports_between_modules_are_one_way(tmp_path):
    assert _cycle(PACKAGE) is None
    (tmp_path / "a.py").write_text("from .b import x\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("from .a import y\n", encoding="utf-8")
    assert _cycle(tmp_path) == ["a", "b", "a"]
