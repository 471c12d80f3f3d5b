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

# Debian packages the tests use: Chromium (browser tests), bubblewrap (grading sandbox),
# PostgreSQL (gradebook on a real server). Installed when missing and we may (root + apt-get);
# otherwise the tests that need them are skipped with a message saying why.
SYSTEM_PACKAGES := chromium bubblewrap postgresql

.PHONY: demo test lint release examples clean system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_REQUIREMENT)"
	$(BIN)/python -m pip install --quiet -e ".[instructor,dev,scale]"
	rm -f $(VENV)/.installed-*
	touch $@

# The instructor's full cycle on the bundled example submissions:
# release -> autograde -> feedback -> grades table.
demo: $(STAMP)
	$(BIN)/tfscourse demo

# The course's own test suite (lint, build, known-wrong answers, real autograde, Colab emulation).
# pytest's exit code 5 ("no tests collected") counts as a failure.
test: $(STAMP) system-packages
	$(BIN)/ruff check src tests tools benchmarks course
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS); \
	status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing system packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "note: missing system packages:$$missing; the tests that need them will be skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks course

release: $(STAMP)
	$(BIN)/tfscourse release

examples: $(STAMP)
	$(BIN)/python tools/make_examples.py

clean:
	rm -rf autograded/*/ feedback gradebook.db grades.csv grading_summary.csv .cache
