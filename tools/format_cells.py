"""Format the code cells of the book's MyST chapters with ruff, at most 88 characters a line.

Each ```` ```{code-cell} ```` block of ``book/*.md`` is handed to ``ruff format``
(line length 88, ruff's defaults otherwise, the project's settings ignored so the result
does not depend on where it runs). By default only the cells that hold a line longer than
88 characters are reformatted, so hand-aligned code elsewhere (a matrix written as rows)
keeps its layout; ``--all`` reformats every cell. Only the code of a cell changes: the cell's fence,
its options (``:tags: [...]`` lines or a ``---`` YAML block) and all the Markdown around
it stay byte for byte. Cells that hold IPython magics (``%time``, ``!pip``) are left
alone and reported, since they are not Python.

``ruff format`` wraps calls, lists and expressions; it does not split long strings or
comments. Lines still longer than 88 characters after formatting are listed, with their
file and line, for a person to split; ``tests/test_style.py`` fails while any is left.

Usage::

    python tools/format_cells.py [--check] [--all] [FILE.md ...]   # default: book/*.md

``--check`` changes nothing and exits 1 when a cell would be reformatted. Either way the
exit status is 1 when a code line longer than 88 characters is left. ``make format`` runs
it on every chapter.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE_LENGTH = 88
OPEN_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\{code-cell\}(?P<rest>.*)$")
MAGIC = re.compile(r"^\s*[%!]")


@dataclass
class CodeCell:
    """One code cell of a MyST notebook: where its code sits in the file's lines."""

    start: int  # index of the first code line (after the fence and the options)
    stop: int  # index of the closing fence (exclusive end of the code)
    code: list[str]  # the code lines, without their newlines

    def first_line_number(self) -> int:
        return self.start + 1


def _option_lines(lines: list[str], first: int, stop: int) -> int:
    """Index of the first code line after the cell's options (`:key:` lines or `---` YAML)."""
    i = first
    if i < stop and lines[i].rstrip() == "---":
        for j in range(i + 1, stop):
            if lines[j].rstrip() == "---":
                return j + 1
        return i  # an unclosed YAML block: treat everything as code, MyST will complain
    while i < stop and re.match(r"^:[\w-]+:", lines[i]):
        i += 1
    return i


def code_cells(text: str) -> list[CodeCell]:
    """Every code cell of a MyST notebook's text, in order."""
    lines = text.split("\n")
    cells, i = [], 0
    while i < len(lines):
        match = OPEN_FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence = match["fence"]
        close = next((j for j in range(i + 1, len(lines))
                      if lines[j].rstrip() == fence), None)
        if close is None:
            raise ValueError(f"code cell opened on line {i + 1} is never closed ({fence})")
        start = _option_lines(lines, i + 1, close)
        cells.append(CodeCell(start=start, stop=close, code=lines[start:close]))
        i = close + 1
    return cells


def long_lines(text: str, limit: int = LINE_LENGTH) -> list[tuple[int, int, str]]:
    """(line number, length, line) of every code-cell line longer than `limit` characters."""
    found = []
    for cell in code_cells(text):
        for offset, line in enumerate(cell.code):
            if len(line) > limit:
                found.append((cell.first_line_number() + offset, len(line), line))
    return found


def _ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    if shutil.which("ruff"):
        return [shutil.which("ruff")]
    return [sys.executable, "-m", "ruff"]


def format_code(code: str, line_length: int = LINE_LENGTH) -> str:
    """`code` as `ruff format` writes it (no trailing newline, like a cell's source)."""
    result = subprocess.run(
        [*_ruff(), "format", "--isolated", "--line-length", str(line_length),
         "--stdin-filename", "cell.py", "-"],
        input=code + "\n", capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ValueError(f"ruff could not format this cell:\n{code}\n{result.stderr}")
    return result.stdout.rstrip("\n")


def format_text(text: str, every_cell: bool = False) -> tuple[str, list[str]]:
    """The notebook text with its code cells formatted, and notes on cells left alone.

    Only cells with a line longer than LINE_LENGTH, unless `every_cell`.
    """
    lines = text.split("\n")
    notes = []
    # From the last cell to the first, so earlier indices stay valid after a cell grows.
    for cell in reversed(code_cells(text)):
        code = "\n".join(cell.code)
        if not code.strip():
            continue
        if not every_cell and all(len(line) <= LINE_LENGTH for line in cell.code):
            continue
        if any(MAGIC.match(line) for line in cell.code):
            notes.append(f"line {cell.first_line_number()}: cell with IPython magic left as is")
            continue
        formatted = format_code(code)
        if formatted != code.rstrip("\n"):
            lines[cell.start:cell.stop] = formatted.split("\n")
    return "\n".join(lines), notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path,
                        help="MyST notebooks to format (default: book/*.md)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a cell would be reformatted")
    parser.add_argument("--all", action="store_true", dest="every_cell",
                        help="reformat every code cell, not only those with a long line")
    args = parser.parse_args(argv)
    files = args.files or sorted((ROOT / "book").glob("*.md"))
    status = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        formatted, notes = format_text(text, args.every_cell)
        for note in notes:
            print(f"{path}: {note}")
        if formatted != text:
            if args.check:
                print(f"{path}: code cells would be reformatted")
                status = 1
            else:
                path.write_text(formatted, encoding="utf-8")
                print(f"{path}: code cells reformatted")
        for number, length, _ in long_lines(formatted if not args.check else text):
            print(f"{path}:{number}: code line of {length} characters (more than "
                  f"{LINE_LENGTH}; split the string or comment by hand)")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
