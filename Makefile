# The course's commands. `make book` and `make test` set everything up by themselves on a machine
# with Python 3.11+, pip and make (npm, for the site's offline MathJax, is installed when missing).
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
ASSETS := node_modules/.ready
PORT ?= 8000
# The site build and what it is built from: `make site-check` rebuilds only when a source is newer.
SITE_STAMP := _build/.site-built
SITE_SOURCES := _config.yml _toc.yml $(wildcard references.bib _static/* _ext/*.py) \
  $(shell find book minigrad -type f \( -name '*.md' -o -name '*.ipynb' -o -name '*.py' \
  -o -name '*.png' -o -name '*.svg' \) -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)
BUILD_SITE = $(BIN)/jupyter-book build . -W -n --keep-going --all && touch $(SITE_STAMP)
CHROMIUM ?= /usr/bin/chromium
# The printed book and the lecture slides, both also copied into the site, which links them.
PDF := _build/pdf/rnn-course.pdf
SLIDES := _build/slides
# The grader runs every notebook in a bubblewrap sandbox (see book/grading.md).
BWRAP ?= $(or $(shell command -v bwrap 2>/dev/null),/usr/bin/bwrap)

# One BLAS thread: steady timings on small machines, and the same sums from run to run on one
# machine (other machines round differently: see `make test-portable`).
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Matplotlib's font cache lives with the environment that built it: a cache in the home folder,
# shared with other environments, can name fonts that are gone (each then warns in a cell's output).
export MPLCONFIGDIR := $(CURDIR)/$(VENV)/matplotlib

NOTEBOOK_DIRS := book exercises solutions
# Lax mode: every cell must run (the hidden claim cells assert each result), and only the cells
# tagged `nbval-check-output` are compared with their stored outputs (see the README's contract).
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
NOTEBOOK_TESTS = $(BIN)/python -m pytest -q -n 2 --dist loadfile $(NBVAL) $(NOTEBOOK_DIRS)
SEEDS ?= 2 3 4

.PHONY: help book pdf slides test test-portable reseed models site-check exercises gradescope outputs lab serve clean

help:  ## List the commands.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(READY): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(ASSETS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: installing Debian's nodejs and npm"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

book: $(READY) $(ASSETS)  ## Build the whole site into _build/html (every notebook executed, warnings are errors).
	$(BUILD_SITE)

$(SITE_STAMP): $(READY) $(ASSETS) $(SITE_SOURCES)
	$(BUILD_SITE)

$(CHROMIUM):
	@echo "Chromium not found at $@: installing Debian's chromium package (needs root)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

pdf: $(SITE_STAMP) $(ASSETS) $(CHROMIUM)  ## The whole book as one PDF, _build/pdf/rnn-course.pdf (printed by Chromium), also put in the site.
	$(BIN)/jupyter-book build . --builder singlehtml -W -n --keep-going
	CHROMIUM=$(CHROMIUM) node site/print_pdf.mjs _build/singlehtml $(PDF)
	$(BIN)/python site/check_pdf.py $(PDF)
	cp $(PDF) _build/html/rnn-course.pdf

slides: $(READY) $(ASSETS)  ## One reveal.js deck per chapter in _build/slides/ (from book/slides/), also put in the site.
	$(BIN)/python site/slides.py $(SLIDES)
	@if [ -d _build/html ]; then rm -rf _build/html/slides && cp -r $(SLIDES) _build/html/slides; fi

site-check: $(SITE_STAMP) $(ASSETS) $(CHROMIUM) pdf slides  ## Open every page and slide deck of the site in headless Chromium and check it (builds what is stale).
	CHROMIUM=$(CHROMIUM) node tests/site/check_site.mjs _build/html _build/site-check
	CHROMIUM=$(CHROMIUM) node tests/site/check_slides.mjs _build/html/slides _build/site-check/slides

$(BWRAP):
	@echo "bubblewrap not found at $@: installing Debian's bubblewrap package (needs root)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null

test: $(READY) $(BWRAP)  ## Run every test: the package's tests, then every notebook (its claims, and the outputs that are the same on every machine).
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests
	$(NOTEBOOK_TESTS)

test-portable: $(READY)  ## Run the notebook tests again under another floating-point dispatch (as on another CPU).
	$(BIN)/python tests/portability.py differs
	$(BIN)/python tests/portability.py run $(NOTEBOOK_TESTS)

reseed: $(READY)  ## Execute notebooks with other seeds, claims included: make reseed NB="book/NN_slug.ipynb" SEEDS="2 3 4".
	@test -n "$(NB)" || { echo 'Name the notebooks: make reseed NB="book/NN_slug.ipynb"'; exit 2; }
	$(BIN)/python tests/reseed.py $(NB) --seeds $(SEEDS)

models: $(READY)  ## Run every heavy script in scripts/ in full (long): it rewrites the results in book/results/.
	@for script in scripts/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

gradescope: $(READY)  ## Gradescope's autograder zip for one chapter: make gradescope CHAPTER=04 (into _build/gradescope/).
	@test -n "$(CHAPTER)" || { echo 'usage: make gradescope CHAPTER=NN [PENALTY_PER_DAY=0.1 MAX_DAYS_LATE=3]'; exit 2; }
	$(BIN)/python -m minigrad.grading.gradescope $(CHAPTER) --out _build/gradescope \
		$(if $(PENALTY_PER_DAY),--penalty-per-day $(PENALTY_PER_DAY)) $(if $(MAX_DAYS_LATE),--max-days-late $(MAX_DAYS_LATE))

exercises: $(READY)  ## Generate exercises/ from solutions/, then execute both and store their outputs.
	$(BIN)/python -m minigrad.grading.generate --exercises-dir exercises solutions/*.ipynb

outputs: $(READY)  ## Re-execute notebooks and store their outputs: make outputs NB="book/NN_slug.ipynb ...".
	@test -n "$(NB)" || { echo 'Name the notebooks: make outputs NB="book/NN_slug.ipynb"'; exit 2; }
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace $(NB)

lab: $(READY)  ## Open the course in JupyterLab.
	$(BIN)/jupyter lab --ip=127.0.0.1

serve:  ## Serve the built site on http://127.0.0.1:$(PORT) (run `make book` first).
	@test -f _build/html/index.html || { echo "No site in _build/html: run 'make book' first."; exit 1; }
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

clean:  ## Remove the built site and caches (keeps .venv and node_modules).
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +
