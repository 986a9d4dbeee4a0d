# snnc: two commands.  `make setup` prepares both environments; `make test` runs the whole suite.
# Setup is idempotent: stamps record what was installed, so a second run returns at once.

PYTHON311 ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV      := .venv
LAVA_VENV := .venv-lava
PY        := $(VENV)/bin/python
LAVA_PY   := $(LAVA_VENV)/bin/python

.PHONY: setup setup-main setup-lava test bench demo clean-venvs
setup: setup-main setup-lava

setup-main: $(VENV)/.snnc-stamp
setup-lava: $(LAVA_VENV)/.snnc-stamp

$(VENV)/.snnc-stamp: pyproject.toml scripts/setup-main.sh
	@scripts/setup-main.sh "$(PYTHON311)" "$(VENV)"
	@touch $@

$(LAVA_VENV)/.snnc-stamp: pyproject.toml scripts/setup-lava.sh
	@scripts/setup-lava.sh "$(LAVA_VENV)"
	@touch $@

test: setup
	@scripts/test.sh

# the whole job on the pretrained ECG fixture: compile to every target, verify on the test set, energy report
demo: setup
	@scripts/demo.sh

# the peers (JAX, Spyx) come from the bench extra, installed here and not by CI's setup
bench: setup
	@$(PY) -m pip install -q --disable-pip-version-check -e ".[bench]" 2>&1 | grep -v "^WARNING: Location .* is ignored" || true
	$(PY) bench/suite.py --markdown bench/results.md
	$(PY) bench/bench_loihi.py
	$(PY) bench/bench_training.py
	$(PY) bench/bench_partition.py
	$(PY) bench/bench_lava.py

clean-venvs:
	rm -rf $(VENV) $(LAVA_VENV)
