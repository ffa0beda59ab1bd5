# Two commands from a fresh clone: `make demo` and `make test`.
# Each creates/updates .venv from the pinned requirements.txt first (skipped when unchanged).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: venv demo test test-fast bench gallery train-demo clean

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing requirements into $(VENV) (first time takes a few minutes)"
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q --no-build-isolation -r requirements.txt
	$(PY) -m pip check
	@echo "compiling the postprocess kernels (once, about 15 s)"
	$(PY) -m postprocess.warmup
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) pixelize.py

test: $(STAMP)
	$(PY) -m pytest -q -rs $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_postprocess.py
	$(PY) benchmarks/bench_tradeoffs.py
	$(PY) benchmarks/bench_video.py
	$(PY) benchmarks/bench_generator.py
	$(PY) benchmarks/bench_train.py

# README gallery: docs/gallery/*.png + gallery.md (deterministic; commit the result)
gallery: $(STAMP)
	$(PY) benchmarks/make_gallery.py

train-demo: $(STAMP)
	$(PY) -m datasets.train_demo

clean:
	rm -rf results .pytest_cache
