# nnrecipe: `make demo` and `make test` are all a newcomer needs; each target sets itself up.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# the venv is (re)installed whenever the dependency list changes: its stamp is named after pyproject.toml's hash
HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
STAMP := $(VENV)/.nnrecipe-$(HASH)

.PHONY: venv demo test lab tensorboard docs bench clean-venv

venv: $(STAMP)
	@# a venv shared between clones (CI) must import this clone's package: re-point the editable install if not
	@$(PY) -c "import nnrecipe,os,sys; sys.exit(os.path.dirname(os.path.realpath(nnrecipe.__file__)) != os.path.realpath('nnrecipe'))" 2>/dev/null \
	  || $(PY) -m pip install -q --no-deps -e .
	@echo "venv ready: $(VENV)"

$(STAMP):
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.nnrecipe-*
	@touch $@

demo: venv
	$(VENV)/bin/nnrecipe demo --out runs/demo

test: venv
	PATH="$(abspath $(VENV))/bin:$$PATH" bash tools/check_sync.sh
	@# every notebook in nbs/ runs once, as a test: tests/test_docs.py executes each as nbdev-test does (same skipped
	@# cells, same folder, any cell error fails) and builds the docs site from that run; running nbdev-test as well
	@# would execute them all a second time (3-4 of CI's minutes). `nbdev-test` alone stays the quick loop while editing.
	$(VENV)/bin/pytest tests --durations=15 --timeout 900

lab: venv
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser --notebook-dir recipe_nb

# raw, unsmoothed loss: set TensorBoard's Smoothing slider to 0 (the curves nnrecipe plots are never smoothed)
tensorboard: venv
	$(VENV)/bin/tensorboard --logdir runs --host 127.0.0.1

docs: venv
	$(PY) -m pip install -q -e '.[docs]'
	$(PY) tools/build_docs.py

bench: venv
	$(PY) bench/run.py

clean-venv:
	rm -rf $(VENV)
