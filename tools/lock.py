"""Write constraints.txt: every package of the resolved .venv pinned to its exact version.

``requirements.txt`` names what the project uses; pip resolves the ~180 packages those
pull in, and without a lock each fresh install takes the newest of each (a theme release
once changed the rendered book without a line of ours changing). ``make lock`` installs
``requirements.txt`` into ``.venv`` and runs this script, which writes ``pip freeze`` of
that environment (the editable ``companion`` left out) to ``constraints.txt``; the
Makefile then installs with ``pip install -r requirements.txt -c constraints.txt``, so a
fresh machine gets exactly the versions CI tested.

Local version labels are dropped (``torch==2.13.0+cpu`` is written ``torch==2.13.0``,
as requirements.txt asks for it): the label names the index a wheel came from, and the
CPU wheel is what these machines install for ``torch==2.13.0``.

Usage: ``python tools/lock.py [--output constraints.txt]`` (``make lock`` runs it).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# The whole environment, pinned: written by `make lock` (tools/lock.py) from the .venv
# that `pip install -r requirements.txt` resolved, and applied by the Makefile as
# `pip install -r requirements.txt -c constraints.txt`. Do not edit by hand: change
# requirements.txt, then run `make lock` and commit both files.
"""
# Versions the project must never move away from (see requirements.txt).
REQUIRED = {"torch": "2.13.0", "shap": "0.51.0"}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;+]+)(\+\S+)?$")


def normalise(name: str) -> str:
    """The package name as pip compares names (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_lines(freeze: str) -> list[str]:
    """`pip freeze` output as sorted `name==version` lines, local labels dropped.

    Raises ValueError on a line that is not an exact pin (a direct URL or a VCS
    install), since a constraints file cannot reproduce it, and when a package of
    REQUIRED has another version.
    """
    pins = {}
    for line in freeze.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if not match:
            raise ValueError(f"cannot lock {line!r}: install it from the package index "
                             "with an exact version, or add it to requirements.txt")
        pins[normalise(match["name"])] = (match["name"], match["version"])
    for name, version in REQUIRED.items():
        found = pins.get(name, (name, None))[1]
        if found != version:
            raise ValueError(f"{name} is {found} in .venv, the project requires {version}: "
                             f"`pip install {name}=={version}` before locking")
    return [f"{name}=={version}" for _, (name, version) in sorted(pins.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "constraints.txt")
    args = parser.parse_args(argv)
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True, text=True, check=True).stdout
    lines = lock_lines(freeze)
    args.output.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(lines)} packages pinned")
    return 0


if __name__ == "__main__":
    sys.exit(main())
