# Two commands do everything on a fresh machine:
#   make figures   execute every notebook in order with papermill (PROFILE=small by default)
# The profile reaches the notebooks through REPRO_PROFILE (read by each parameters cell) rather than
# papermill's -p, so executed notebooks keep no injected-parameters cell and nbval (smoke) is not
# overridden by a stored PROFILE = "small".
#   make test      unit tests + nbval over every notebook in the smoke profile
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= small
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: figures test test-fast bases bench sanity clean-runs

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# the local CPU build first, so nothing below pulls the CUDA wheels
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

figures: $(VENV)/.installed
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb ($(PROFILE))"; \
	  REPRO_PROFILE=$(PROFILE) $(VENV)/bin/papermill -k python3 --cwd notebooks $$nb $$nb || exit 1; \
	  $(PY) -m helpers.clean_notebook $$nb || exit 1; \
	done
	$(PY) -m helpers.report --profile $(PROFILE)

# Unit tests, doctests, and nbval over every notebook in the smoke profile (outputs tagged
# NBVAL_CHECK_OUTPUT are compared; figures go to figures/smoke/, never over the committed ones).
test: $(VENV)/.installed
	REPRO_PROFILE=smoke $(PY) -m pytest tests helpers notebooks --nbval-lax -p no:cacheprovider

test-fast: $(VENV)/.installed
	$(PY) -m pytest tests -m "not slow"

# Retrain the committed base models from scratch (same code, config and seed: same weights on CPU).
bases: $(VENV)/.installed
	$(PY) -m helpers.bases --profile $(PROFILE) --retrain

bench: $(VENV)/.installed
	$(PY) -m helpers.bench

# 1,000,000 samples of each task against the oracle (slow; not in CI).
sanity: $(VENV)/.installed
	$(PY) -m helpers.sanity --n 1000000

clean-runs:
	rm -rf runs
