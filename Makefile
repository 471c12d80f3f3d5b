# Transformers from scratch: the two set-up commands are `make demo` and `make test`.
# Each creates the virtual environment .venv on first use; nobody activates anything by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The tested torch release. Where a CPU build of it lies on disk (this project's machines),
# pip takes that; elsewhere pip installs the normal build for the platform.
TORCH_REQUIREMENT ?= torch==2.13.0
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
# nbgrader calls helper programs such as `alembic` by name: put the environment's scripts first.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test lint release examples clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_REQUIREMENT)"
	$(BIN)/python -m pip install --quiet -e ".[instructor,dev]"
	rm -f $(VENV)/.installed-*
	touch $@

# The instructor's full cycle on the bundled example submissions:
# release -> autograde -> feedback -> grades table.
demo: $(STAMP)
	$(BIN)/tfscourse demo

# The course's own test suite (lint, build, known-wrong answers, real autograde, Colab emulation).
# pytest's exit code 5 ("no tests collected") counts as a failure.
test: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS); \
	status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks

release: $(STAMP)
	$(BIN)/tfscourse release

examples: $(STAMP)
	$(BIN)/python tools/make_examples.py

clean:
	rm -rf autograded/*/ feedback gradebook.db grades.csv grading_summary.csv .cache
