# mfcredit: two commands do everything, each creating the environment it needs.
#   make figures   every figure at paper scale (QUICK=1: a small, fast version)
#   make test      unit tests + nbval over the notebooks in quick mode
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
QUICK ?= 0
# batch runs: text progress bars at most every 30 s; plots off-screen
export TQDM_MININTERVAL ?= 30
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: venv test unit nbval figures bench clean clean-cache

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
	  MFCREDIT_QUICK=1 MFCREDIT_PROGRESS=0 MFCREDIT_CACHE=$(CURDIR)/cache/quick $(PY) -m pytest -q --nbval-lax --nbval-current-env \
	    --nbval-cell-timeout=600 -p no:cacheprovider $(NOTEBOOKS); \
	else echo "no notebooks yet"; fi

figures: $(STAMP)
	$(PY) -m mfcredit.pipeline --quick $(QUICK) $(NOTEBOOKS)

bench: $(STAMP)
	$(PY) bench/bench.py

clean-cache:
	rm -rf cache

clean:
	rm -rf $(VENV) cache
