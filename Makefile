# gail-cli: every target sets up what it needs. CPU torch comes from the local wheel
# cache when the machine has one (no multi-GB CUDA download on a machine without a GPU).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_SPEC ?= torch==2.13.0
export MUJOCO_GL ?= egl

.PHONY: install test lint train bench docs results results-quick tensorboard clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@if $(PY) -c "import torch" 2>/dev/null; then echo "torch already installed"; \
	elif command -v nvidia-smi >/dev/null 2>&1; then $(PY) -m pip install -q torch; \
	else $(PY) -m pip install -q "$(TORCH_SPEC)" || $(PY) -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu; fi
	$(PY) -m pip install -q -e ".[dev,sweeps,video,export]"
	@# Hydra's own Optuna sweeper (optuna<3) defines the same sampler options as ours
	$(PY) -m pip uninstall -y -q hydra-optuna-sweeper 2>/dev/null || true
	touch $(STAMP)

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check gail_cli hydra_plugins tests benchmarks
	$(VENV)/bin/ruff format --check gail_cli hydra_plugins tests benchmarks
	$(VENV)/bin/mypy gail_cli

train: install
	$(VENV)/bin/gail-train

bench: install
	$(PY) benchmarks/throughput.py
	$(PY) benchmarks/throughput.py --env-defaults

# conf/<group>/*.yaml and the key tables of docs/configuration.md and README.md, from the
# settings dataclasses (gail_cli/settings.py)
docs: install
	$(PY) -m gail_cli.run.settings_docs

# the learning benchmark on the current code, its tables into docs/results.md (hours on a
# CPU); RESULTS_QUICK=1 or results-quick: one env and seed on a tiny budget, written to
# multirun/results-quick.md. RESULTS_ARGS passes more, e.g. "--algorithm <option>".
results: install
	$(PY) benchmarks/results_tables.py $(RESULTS_ARGS)

results-quick: install
	$(PY) benchmarks/results_tables.py --quick $(RESULTS_ARGS)

tensorboard: install
	$(VENV)/bin/tensorboard --logdir outputs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
