"""Text of tiny MyST notebooks, for tests of the notebook tooling."""

from __future__ import annotations

#: The front matter of a MyST text notebook, as every chapter starts.
MYST_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
    jupytext_version: 1.19.6
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter
"""


def code_cell(source: str) -> str:
    """A MyST code cell holding ``source``."""
    return f"\n```{{code-cell}} ipython3\n{source}\n```\n"
