# The two commands of the README: `make book` and `make test`.
# Each creates .venv from requirements.txt on first use (or when requirements change).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: book test bench notebooks lab format lock pdf clean

# constraints.txt pins every package of the environment (make lock writes it).
$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $(STAMP)

# tools/site_cache.py first drops executed chapters older than a file they read (companion/...).
book: $(STAMP)
	$(PY) tools/site_cache.py
	$(VENV)/bin/jupyter-book build . --all -W -n --keep-going

test: $(STAMP)
	$(PY) -m pytest --numprocesses=auto --maxprocesses=4 --dist loadfile

# Every chapter as a notebook, instructor and student (solutions removed) variants, zipped,
# in _build/notebooks/; also refreshes the committed book/*.ipynb copies that the Colab
# and Binder buttons open (commit them; tests/test_notebooks.py fails when they are stale).
# Each chapter is run once (cached in _build/notebooks/.executed); see tools/make_notebooks.py.
notebooks: $(STAMP)
	$(PY) tools/make_notebooks.py --out _build/notebooks --sync book

# JupyterLab on the repository; book/*.md chapters open as notebooks on a double click
# (jupytext, binder/overrides.json). Nothing is paired: saving writes the .md back.
lab: $(STAMP)
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp binder/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	$(VENV)/bin/jupyter lab

bench: $(STAMP)
	$(PY) -m benchmarks

# The whole book as one PDF, without TeX: a single-page build printed by headless Chromium
# (Debian's chromium and chromium-driver). Writes _build/pdf/ and copies the PDF next to
# _build/html/index.html, where every page's footer links it; run after `make book`.
pdf: $(STAMP)
	$(PY) tools/make_pdf.py

# Wrap the code cells of book/*.md that hold a line over 88 characters (ruff format);
# lists the strings and comments left to split by hand (tests/test_style.py checks).
format: $(STAMP)
	$(PY) tools/format_cells.py

# Refresh constraints.txt after changing requirements.txt: install what requirements.txt
# asks for (without the old lock, which may conflict), then pin everything .venv holds.
# Commit requirements.txt and constraints.txt together.
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) tools/lock.py
	touch $(STAMP)

clean:
	rm -rf _build .pytest_cache .hypothesis
