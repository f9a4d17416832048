"""Code the reader sees fits the page: at most 88 characters a line in every chapter.

The book's code cells are shown as they are written; a longer line scrolls sideways on
the page and is cut off in print. `make format` (tools/format_cells.py, ruff) wraps the
long lines of the code cells; strings and comments it cannot wrap are split by hand.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import format_cells  # noqa: E402

LIMIT = format_cells.LINE_LENGTH
CHAPTERS = sorted((ROOT / "book").glob("*.md"))
# A literal code block of the Markdown (```python, ```bash, ```console, ```{code-block}).
LITERAL_FENCE = re.compile(r"^(`{3,}|~{3,})(\{code-block\}\s*\w*|\{code\}\s*\w*|[a-z]+)\s*$")


def literal_long_lines(text: str, limit: int = LIMIT) -> list[tuple[int, int]]:
    """(line number, length) of every line longer than `limit` in a literal code block."""
    lines, found, i = text.split("\n"), [], 0
    while i < len(lines):
        match = LITERAL_FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != match[1]:
            if len(lines[j]) > limit:
                found.append((j + 1, len(lines[j])))
            j += 1
        i = j + 1
    return found


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_code_cells_at_most_88_characters(chapter):
    found = format_cells.long_lines(chapter.read_text(encoding="utf-8"))
    assert not found, (
        f"{chapter.name}: {len(found)} code-cell lines longer than {LIMIT} characters "
        f"(longest {max(n for _, n, _ in found)}); run `make format`, then split the "
        "strings and comments it leaves by hand:\n"
        + "\n".join(f"  line {number} ({length} chars): {line.strip()[:70]}"
                    for number, length, line in found))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_literal_code_blocks_at_most_88_characters(chapter):
    found = literal_long_lines(chapter.read_text(encoding="utf-8"))
    assert not found, f"{chapter.name}: literal code lines longer than {LIMIT}: {found}"


NOTEBOOK = """\
---
kernelspec:
  name: python3
---
# A page

```{code-cell} ipython3
:tags: [remove-cell]
x = 1
```

Text with a long line of prose that is not code and may be as long as the author likes it to be.

````{code-cell} ipython3
---
tags: [hide-input]
---
result = some_function(first_argument_value, second_argument_value, third_argument_value_1)
````
"""


def test_the_check_finds_a_planted_long_line():
    found = format_cells.long_lines(NOTEBOOK)
    assert [(number, length) for number, length, _ in found] == [(18, 91)]
    planted = NOTEBOOK.replace("x = 1", "x = 1  # " + "a" * 80)
    assert len(format_cells.long_lines(planted)) == 2
    assert literal_long_lines("```python\n" + "y" * 89 + "\n```\n") == [(2, 89)]
    assert literal_long_lines("```python\n" + "y" * 88 + "\n```\n") == []


def test_the_formatter_wraps_long_code_and_keeps_the_rest():
    formatted, notes = format_cells.format_text(NOTEBOOK)
    assert notes == []
    assert format_cells.long_lines(formatted) == []
    assert "result = some_function(\n" in formatted
    # Everything outside the long cell's code is untouched.
    before, after = NOTEBOOK.split("result = ")[0], formatted.split("result = ")[0]
    assert before == after
    assert formatted.endswith("\n````\n")
    # A short cell keeps its layout unless every cell is asked for.
    aligned = "```{code-cell} ipython3\nm = [[1,  0],\n     [0,  1]]\n```\n"
    assert format_cells.format_text(aligned)[0] == aligned
    assert "[[1, 0], [0, 1]]" in format_cells.format_text(aligned, every_cell=True)[0]


def test_the_formatter_leaves_magics_alone():
    text = "```{code-cell} ipython3\n%time " + "f(x)" * 30 + "\n```\n"
    formatted, notes = format_cells.format_text(text)
    assert formatted == text and len(notes) == 1
