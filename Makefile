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
# otherwise the tests that need them are skipped with a message saying why, and with
# TFSCOURSE_STRICT=1 (set by .ci/run) the run fails instead (see tests/system_groups.py).
SYSTEM_PACKAGES := chromium bubblewrap postgresql
WITHOUT_PACKAGES := the tests that need them will be skipped
# The demo needs only the grading sandbox (util-linux brings setpriv and prlimit); where they
# cannot be installed, or bubblewrap cannot run, it grades the bundled examples unsandboxed.
DEMO_PACKAGES := bubblewrap util-linux

.PHONY: demo test lint release examples clean system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$(TORCH_REQUIREMENT)"
	$(BIN)/python -m pip install --quiet -e ".[instructor,dev,scale]"
	rm -f $(VENV)/.installed-*
	touch $@

# The instructor's full cycle on the bundled example submissions:
# release -> autograde -> feedback -> grades table. It installs the sandbox's packages where it may;
# when that fails (no root, no apt-get, no network), `tfscourse demo` says what it does instead.
demo: $(STAMP)
	-@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES="$(DEMO_PACKAGES)" \
		WITHOUT_PACKAGES="tfscourse demo says what it does without them"
	$(BIN)/tfscourse demo

# The course's own test suite (lint, build, known-wrong answers, real autograde, Colab emulation,
# benchmark smoke runs). pytest's exit code 5 ("no tests collected") counts as a failure. The run
# ends with a "system test groups" section: which of the browser, sandbox and PostgreSQL groups ran.
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
	elif [ -n "$$TFSCOURSE_STRICT" ] && [ "$$TFSCOURSE_STRICT" != 0 ]; then \
		echo "missing system packages:$$missing, and no root + apt-get to install them (TFSCOURSE_STRICT is set: failing)"; exit 1; \
	else echo "note: missing system packages:$$missing (installing needs root and apt-get); $(WITHOUT_PACKAGES)"; fi

lint: $(STAMP)
	$(BIN)/ruff check src tests tools benchmarks course

release: $(STAMP)
	$(BIN)/tfscourse release

examples: $(STAMP)
	$(BIN)/python tools/make_examples.py

clean:
	rm -rf autograded/*/ feedback gradebook.db grades.csv grading_summary.csv .cache
