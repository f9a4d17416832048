"""The book's text promises that every number it prints comes from code (MyST-NB glue).

Two checks on the chapters' source (``book/*.md``), one test per file so each chapter
passes or fails on its own:

* ``test_prose_has_no_hand_typed_numbers``: the prose of a chapter (Markdown outside
  code cells and other code blocks, outside math, outside roles such as
  ``{glue:text}`` and ``{ref}``, outside inline code and link targets; figure alt texts
  *are* prose) contains no number except the few on ``ALLOWED`` below. A number the
  code computes must reach the text through ``glue``, so that the text changes when the
  code does.
* ``test_absolute_tolerances_say_rtol_0``: ``np.testing.assert_allclose`` (and
  ``np.allclose`` / ``np.isclose``) with an ``atol`` must also pass ``rtol=0``.
  Otherwise the default relative tolerance (1e-7 for assert_allclose, 1e-5 for
  allclose) is added on top, and a check the prose calls "to 1e-12" really allows
  about 1e-5 on values of 100.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
#: The files whose prose is checked: every chapter, the appendix, and the introduction.
PROSE_FILES = sorted(BOOK.glob("0*.md")) + sorted(BOOK.glob("appendix*.md")) + [
    BOOK / "intro.md"
]
#: Every MyST notebook or page with code, for the tolerance rule.
CODE_FILES = sorted(BOOK.glob("*.md"))

# ---------------------------------------------------------------------- allow-list
#: Numbers prose may contain without glue. Keep this list short; each entry says why.
ALLOWED = [
    # Small counts and ordinals written as digits: "1 to 8 players", "chapter 4",
    # "Step 2", "0/1 inputs". Nothing the code computes is this small and unglued by
    # accident often enough to be worth forbidding them.
    re.compile(r"(?:10|[0-9])"),
    # Years, in citations and history: "Shapley (1953)", "Lundberg and Lee 2017".
    re.compile(r"(?:19|20)[0-9]{2}"),
    # Version numbers with two or more dots: "shap 0.51.0", "torch 2.13.0".
    re.compile(r"[0-9]+(?:\.[0-9]+){2,}"),
]
#: A number right after one of these words is a version: "Python 3.11", "shap 0.51".
VERSION_WORDS = re.compile(
    r"(?:Python|version|v|shap|shapiq|numpy|torch|captum|scikit-learn|jupyter-book)"
    r"\s*$",
    re.IGNORECASE,
)

# ---------------------------------------------------------------------- prose
#: Fenced blocks whose body is code or math, not prose (dropped whole).
CODE_FENCES = re.compile(
    r"^\{(?:code-cell|code-block|code|math|tableofcontents|glossary-data)\}|"
    r"^(?:python|ipython3?|console|bash|shell|text|yaml|toml|json|none)?$"
)
FENCE = re.compile(r"^(`{3,}|:{3,})\s*(\S*)")
ROLE = re.compile(r"\{[\w:.+-]+\}`[^`]*`")
INLINE_CODE = re.compile(r"`[^`]*`")
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.DOTALL)
INLINE_MATH = re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$")
LATEX_ENV = re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.DOTALL)
LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+")
LABEL_LINE = re.compile(r"^\(\S+\)=\s*$")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
WORD = re.compile(r"[A-Za-z][A-Za-z-]*")
NUMBER = re.compile(r"(?<![\w.])[0-9]+(?:[.,][0-9]+)*(?![\w])")


def prose_of(path: Path) -> str:
    """The reader-visible prose of a MyST file, with code, math and roles removed."""
    text = path.read_text(encoding="utf-8")
    if text.startswith("---"):
        text = text[text.index("\n---", 3) + 4:]  # YAML front matter
    kept: list[str] = []
    skipping: str | None = None  # the fence of the code block being skipped
    directives: list[str] = []  # the fences of the directives open around this line
    for line in text.splitlines():
        stripped = line.strip()
        fence = FENCE.match(stripped)
        if skipping is not None:
            if fence and fence.group(1) == skipping and not fence.group(2):
                skipping = None
            continue
        if fence:
            marks, name = fence.groups()
            if name and not CODE_FENCES.match(name):
                directives.append(marks)  # a directive opens: its body is prose
            elif not name and directives and directives[-1] == marks:
                directives.pop()  # a directive closes
            else:
                skipping = marks  # a code cell or code block opens
            continue
        if stripped.startswith(":") and not stripped.startswith(":alt:"):
            continue  # a directive option (:label:, :name:, :tags: ...)
        if LABEL_LINE.match(stripped):
            continue
        if stripped.startswith(":alt:"):
            line = line.replace(":alt:", "", 1)  # alt text is prose
        kept.append(line)
    prose = "\n".join(kept)
    for pattern in (HTML_COMMENT, DISPLAY_MATH, LATEX_ENV, ROLE):
        prose = pattern.sub(" ", prose)
    # Inline code goes, but a bare name stays: "`shap` 0.51" still reads as a version.
    prose = INLINE_CODE.sub(lambda m: m.group()[1:-1] if WORD.fullmatch(m.group()[1:-1])
                            else " ", prose)
    for pattern in (INLINE_MATH, LINK_TARGET):
        prose = pattern.sub(" ", prose)
    return prose


def hand_typed_numbers(prose: str) -> list[str]:
    """Numbers in ``prose`` not on the allow-list, each with a little context."""
    found = []
    for match in NUMBER.finditer(prose):
        number = match.group()
        if any(p.fullmatch(number) for p in ALLOWED):
            continue
        if VERSION_WORDS.search(prose[max(0, match.start() - 12):match.start()]):
            continue
        context = prose[max(0, match.start() - 40):match.end() + 30].replace("\n", " ")
        found.append(f"{number!r} in '...{context.strip()}...'")
    return found


@pytest.mark.parametrize("path", PROSE_FILES, ids=lambda p: p.name)
def test_prose_has_no_hand_typed_numbers(path):
    found = hand_typed_numbers(prose_of(path))
    assert not found, (
        f"{path.name}: numbers typed by hand in the prose; glue them from code "
        "(glue(name, value, display=False) and {glue:text}`name`) or, for a count, "
        "write it as a word:\n  " + "\n  ".join(found)
    )


# ---------------------------------------------------------------------- tolerances
CLOSE_CALLS = {"assert_allclose", "allclose", "isclose"}


def _code_cells(path: Path) -> list[str]:
    try:
        notebook = jupytext.read(path)
    except Exception:  # pragma: no cover - a page that is not a notebook
        return []
    return [c.source for c in notebook.cells if c.cell_type == "code"]


def loose_tolerances(source: str) -> list[str]:
    """Calls in ``source`` that pass ``atol`` without ``rtol=0``."""
    lines = [line for line in source.splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in CLOSE_CALLS:
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        rtol, atol = keywords.get("rtol"), keywords.get("atol")
        rtol_zero = isinstance(rtol, ast.Constant) and rtol.value == 0
        atol_zero = isinstance(atol, ast.Constant) and atol.value == 0  # relative only
        if atol is not None and not atol_zero and not rtol_zero:
            found.append(ast.get_source_segment("\n".join(lines), node) or name)
    return found


@pytest.mark.parametrize("path", CODE_FILES, ids=lambda p: p.name)
def test_absolute_tolerances_say_rtol_0(path):
    found = [call for source in _code_cells(path) for call in loose_tolerances(source)]
    assert not found, (
        f"{path.name}: an absolute tolerance needs rtol=0 (the default rtol is added "
        "to atol otherwise):\n  " + "\n  ".join(c.replace("\n", " ") for c in found)
    )


# ---------------------------------------------------------------------- the tools
def test_the_prose_filter_keeps_prose_and_drops_the_rest(tmp_path):
    page = tmp_path / "09_x.md"
    page.write_text(
        "---\njupytext: {}\n---\n\n(label-1)=\n# A chapter with 3 players\n\n"
        "Alone A earns 100; the pair earns {glue:text}`v_AB:.0f` and $v(N) = 200$.\n\n"
        "```{code-cell} ipython3\nx = 12345\n```\n\n"
        "$$\n\\phi = 86.67\n$$\n\n"
        "```{glue:figure} fig\n:alt: A bar of height 60 and one of 46.67.\n"
        ":name: fig-1\n\n"
        "Caption with {glue:text}`phi_A:.2f` and `atol=1e-12`, `shap` 0.51,\n"
        "Python 3.11,\n"
        "a [link](https://example.org/page/123) and Shapley (1953).\n```\n",
        encoding="utf-8",
    )
    found = hand_typed_numbers(prose_of(page))
    assert [f.split()[0] for f in found] == ["'100'", "'60'", "'46.67'"], found


def test_the_tolerance_rule():
    assert loose_tolerances("np.testing.assert_allclose(a, b, atol=1e-12)")
    assert loose_tolerances("np.allclose(a, b, atol=1e-9, rtol=1e-7)")
    assert not loose_tolerances("np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)")
    assert not loose_tolerances("np.testing.assert_allclose(a, b, rtol=1e-6)")
    assert not loose_tolerances("np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)")
    assert not loose_tolerances("%time x = 1\nnp.isclose(a, b, atol=1, rtol=0)")
