# mfcredit: two commands do everything, each creating the environment it needs.
#   make figures   every figure at paper scale (QUICK=1: a small, fast version; RETRAIN=1: empty the
#                  training cache first, so every run trains from scratch)
#   make test      unit tests + nbval over the notebooks in quick mode (and their key numbers against
#                  tests/data/quick_reference.json) + the browser test
#   make lab       JupyterLab on the notebooks; make notebooks: .ipynb from notebooks/src (jupytext)
#   make site      HTML pages of the committed notebooks and docs in build/site (nothing re-executed)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP := $(VENV)/bin/pip --disable-pip-version-check
# torch comes from PyTorch's own index: by default its CPU build, the pin in requirements.txt. Another
# build replaces both, in a new .venv, e.g.
#   rm -rf .venv && make venv TORCH_INDEX=https://download.pytorch.org/whl/cu126 TORCH=torch==2.13.0+cu126
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH ?=
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
QUICK ?= 0
RETRAIN ?= 0
# batch runs: text progress bars at most every 30 s, on the terminal (the pipeline sets
# MFCREDIT_PROGRESS=terminal for its kernels: never in the notebooks); notebook kernels plot inline
# (figures in the outputs); training runs use every core (MFCREDIT_JOBS workers, default one per core)
export TQDM_MININTERVAL ?= 30
INLINE := module://matplotlib_inline.backend_inline
export PYTHONHASHSEED := 0

.PHONY: venv test unit nbval browser site figures notebooks lab bench clean clean-cache

venv: $(STAMP)

# torch is installed alone first, without its dependencies, and only that call asks TORCH_INDEX:
# pip asks every index for every package, and an index it cannot reach costs it about 8 s a package
# with its default retries (the whole environment: many minutes). --retries 1 --timeout 30 keep one
# unreachable index to seconds; torch's dependencies and the rest come from PyPI in the second call.
$(STAMP): requirements.txt pyproject.toml binder/overrides.json
	@$(PYTHON) -c 'import re, sys; need = tuple(map(int, re.search(r"requires-python = \">=(\d+)\.(\d+)", open("pyproject.toml").read()).groups())); sys.version_info >= need or sys.exit(f"mfcredit needs Python >= {need[0]}.{need[1]} (requires-python in pyproject.toml); $(PYTHON) is {sys.version.split()[0]}: run make PYTHON=python3.{need[1]} (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(if $(TORCH),echo '$(TORCH)',grep -E '^torch[=;[:space:]]' requirements.txt) > $(VENV)/requirements-torch.txt
	grep -vE '^torch[=;[:space:]]' requirements.txt > $(VENV)/requirements-rest.txt
	$(PIP) install --quiet --no-deps --retries 1 --timeout 30 --extra-index-url $(TORCH_INDEX) -r $(VENV)/requirements-torch.txt
	$(PIP) install --quiet -r $(VENV)/requirements-torch.txt -r $(VENV)/requirements-rest.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@# JupyterLab's defaults for this environment: no news prompt, no update check (make lab, Binder)
	mkdir -p $(VENV)/share/jupyter/lab/settings && cp binder/overrides.json $(VENV)/share/jupyter/lab/settings/
	touch $(STAMP)

test: unit nbval browser

# the unit tests in TEST_JOBS pytest-xdist workers (default one per core), a test file per worker at a
# time (tests of one file share fixtures and may rely on their order)
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
unit: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile -m "not browser and not quick_numbers" tests

# JupyterLab and the built site in headless Chromium (tests/test_browser.py; skipped without Chromium)
browser: site
	$(PY) -m pytest -q -rs -m browser tests

# HTML pages of the README, the committed notebooks (not executed) and docs/ in build/site
# (docs/site/conf.py). -E reads every page afresh (an incremental build keeps stale sidebars and
# misses changes made by conf.py); -W: any warning (a broken link, a missing image) fails the build.
site: $(STAMP)
	$(PY) -m sphinx -b html -E -W --keep-going -q -c docs/site -d build/site-doctrees . build/site
	@echo "site: build/site/index.html"

nbval: $(STAMP)
	@if [ -n "$(NOTEBOOKS)" ]; then \
	  MPLBACKEND=$(INLINE) MFCREDIT_QUICK=1 MFCREDIT_PROGRESS=0 MFCREDIT_CACHE=$(CURDIR)/cache/quick $(PY) -m pytest -q --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=600 -p no:cacheprovider -p nbval_memory $(NOTEBOOKS) && \
	  $(PY) -m pytest -q -m quick_numbers tests/test_quick_numbers.py; \
	else echo "no notebooks yet"; fi

# notebooks/NN-name.ipynb from notebooks/src/NN-name.py (jupytext keeps the outputs and cell ids)
notebooks: $(STAMP)
	@for f in notebooks/src/[0-9]*.py; do \
	  $(VENV)/bin/jupytext --quiet --update --set-kernel python3 --to ipynb --output notebooks/$$(basename $$f .py).ipynb $$f || exit 1; \
	done

figures: $(STAMP)
	$(PY) -m mfcredit.pipeline --quick $(QUICK) --retrain $(RETRAIN) $(NOTEBOOKS)

# JupyterLab on the notebooks, from the project's environment and kernel (LAB_ARGS: more options,
# e.g. LAB_ARGS=--no-browser; as root, Jupyter needs --allow-root, added here)
LAB_ARGS ?=
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS) $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/00-index.ipynb

bench: $(STAMP)
	$(PY) bench/bench.py

clean-cache:
	rm -rf cache

clean:
	rm -rf $(VENV) cache
