# mfcredit: two commands do everything, each creating the environment it needs.
#   make figures   every figure at paper scale (QUICK=1: a small, fast version; RETRAIN=1: empty the
#                  training cache first, so every run trains from scratch)
#   make test      unit tests + nbval over the notebooks in quick mode
#   make lab       JupyterLab on the notebooks; make notebooks: .ipynb from notebooks/src (jupytext)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
QUICK ?= 0
RETRAIN ?= 0
# batch runs: text progress bars at most every 30 s, on the terminal (the pipeline sets
# MFCREDIT_PROGRESS=terminal for its kernels: never in the notebooks); notebook kernels plot inline
# (figures in the outputs); training runs use every core (MFCREDIT_JOBS workers, default one per core)
export TQDM_MININTERVAL ?= 30
INLINE := module://matplotlib_inline.backend_inline
export PYTHONHASHSEED := 0

.PHONY: venv test unit nbval figures notebooks lab bench clean clean-cache

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

test: unit nbval

unit: $(STAMP)
	$(PY) -m pytest -q tests

nbval: $(STAMP)
	@if [ -n "$(NOTEBOOKS)" ]; then \
	  MPLBACKEND=$(INLINE) MFCREDIT_QUICK=1 MFCREDIT_PROGRESS=0 MFCREDIT_CACHE=$(CURDIR)/cache/quick $(PY) -m pytest -q --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=600 -p no:cacheprovider -p nbval_memory $(NOTEBOOKS); \
	else echo "no notebooks yet"; fi

# notebooks/NN-name.ipynb from notebooks/src/NN-name.py (jupytext keeps the outputs and cell ids)
notebooks: $(STAMP)
	@for f in notebooks/src/[0-9]*.py; do \
	  $(VENV)/bin/jupytext --quiet --update --set-kernel python3 --to ipynb --output notebooks/$$(basename $$f .py).ipynb $$f || exit 1; \
	done

figures: $(STAMP)
	$(PY) -m mfcredit.pipeline --quick $(QUICK) --retrain $(RETRAIN) $(NOTEBOOKS)

# JupyterLab on the notebooks, from the project's environment and kernel
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks 00-index.ipynb

bench: $(STAMP)
	$(PY) bench/bench.py

clean-cache:
	rm -rf cache

clean:
	rm -rf $(VENV) cache
