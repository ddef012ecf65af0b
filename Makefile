# Two commands do everything on a fresh machine:
#   make figures   execute every notebook in order with papermill (PROFILE=small by default), from the
#                  committed bases and LoRA runs (models/lora-runs/); RETRAIN=1 trains every LoRA run instead
# The profile reaches the notebooks through REPRO_PROFILE (read by each parameters cell) rather than
# papermill's -p, so executed notebooks keep no injected-parameters cell and nbval (smoke) is not
# overridden by a stored PROFILE = "small".
#   make test      unit tests + nbval over every notebook in the smoke profile
#   make lab       JupyterLab on notebooks/ with the project's environment
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= small
RETRAIN ?= 0
ifeq ($(filter $(RETRAIN),0 1),)
$(error RETRAIN: allowed values are 0 and 1, got '$(RETRAIN)')
endif
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

.PHONY: figures test test-fast bases bench sanity clean-runs lab dryrun

# Which torch build to install. Default: no NVIDIA GPU here (no nvidia-smi) -> the CPU build from
# PyTorch's CPU index (a few hundred MB, no CUDA libraries); a GPU -> PyPI's default build (CUDA on
# Linux). Pick one yourself with e.g. `make test TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126`,
# or TORCH_INDEX_URL= (empty) for PyPI's default. Where that index is unreachable, pip still finds a
# local wheel (--find-links) or the command falls back to the default index.
TORCH_INDEX_URL ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,https://download.pytorch.org/whl/cpu)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, from TORCH_INDEX_URL, so nothing below pulls another build
	$(PY) -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL) --retries 1) \
	  || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

figures: $(VENV)/.installed
	@for nb in $(NOTEBOOKS); do \
	  echo "== $$nb ($(PROFILE))"; \
	  REPRO_PROFILE=$(PROFILE) REPRO_RETRAIN=$(RETRAIN) $(VENV)/bin/papermill -k python3 --cwd notebooks $$nb $$nb || exit 1; \
	  $(PY) -m helpers.clean_notebook $$nb || exit 1; \
	done
	$(PY) -m helpers.report --profile $(PROFILE)

# Unit tests, doctests, and nbval over every notebook in the smoke profile (the smoke outputs cannot
# match the committed small-profile ones, so only execution is checked; figures go to figures/smoke/).
test: $(VENV)/.installed
	REPRO_PROFILE=smoke $(PY) -m pytest tests helpers tools/bench.py tools/arm_seeds.py tools/whole_mlp_grid.py tools/base_variants.py notebooks --nbval-lax -p no:cacheprovider
	# notebooks 01-02 in the small profile (they start from the committed models: about 30 s), every
	# output compared with the committed one, up to notebooks/nbval_sanitize.cfg; their figures and
	# results go to a temporary folder, never over the committed ones
	tmp=$$(mktemp -d) && REPRO_PROFILE=small REPRO_OUTPUTS=$$tmp REPRO_RUNS=$$tmp/runs $(PY) -m pytest --nbval \
	  --nbval-sanitize-with notebooks/nbval_sanitize.cfg -p no:cacheprovider notebooks/01_tasks.ipynb notebooks/02_base_model.ipynb; \
	  status=$$?; rm -rf $$tmp; exit $$status

test-fast: $(VENV)/.installed
	$(PY) -m pytest tests -m "not slow"

# Retrain the committed base models from scratch (same code, config and seed: same weights on CPU).
bases: $(VENV)/.installed
	$(PY) -m helpers.bases --profile $(PROFILE) --retrain

# Every stage at the profile's real shapes for a few steps (the paper profile: about a minute on a 2-core CPU).
dryrun: $(VENV)/.installed
	$(PY) -m helpers.dryrun --profile $(PROFILE)

bench: $(VENV)/.installed
	$(PY) -m tools.bench

# 1,000,000 samples of each task against the oracle (slow; not in CI).
sanity: $(VENV)/.installed
	$(PY) -m helpers.sanity --n 1000000

clean-runs:
	rm -rf runs

# JupyterLab from the project's .venv: its python3 kernel is that environment's Python.
lab: $(VENV)/.installed
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks
