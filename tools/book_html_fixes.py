"""Sphinx fix for the rendered book: one copy of each inline script per page.

Sphinx 7.4 adds an inline script that an extension registers after the builder starts
(``app.add_js_file(None, body=...)``, as sphinx-thebe and sphinx-togglebutton do) twice:
once from the extension's call and once when it re-reads the registry before writing.
sphinx-thebe's script declares ``const THEBE_JS_URL``, so the second copy throws
"Identifier 'THEBE_JS_URL' has already been declared" in every reader's console. This
extension drops the repeated copies from each page.

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        book_html_fixes: tools/
"""

from __future__ import annotations

from typing import Any


def dedupe_inline_scripts(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    """Keep the first copy of every inline script (same body) in ``script_files``."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[str] = set()
    unique = []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body")
        if body and getattr(script, "filename", None) in (None, "", "_static/"):
            if body in seen:
                continue
            seen.add(body)
        unique.append(script)
    scripts[:] = unique


def setup(app) -> dict[str, Any]:
    app.connect("html-page-context", dedupe_inline_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
