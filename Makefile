# audio-gateway: `make serve` runs the server, `make test` runs every test.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: setup serve lint test test-main test-pyannote pyannote-venv bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, so the CPU wheel is used where one is available
	$(PIP) install -q --disable-pip-version-check torch==2.13.0
	$(PIP) install -q --disable-pip-version-check -e '.[test]'
	touch $@

setup: $(STAMP)

serve: setup
	$(VENV)/bin/audio-gateway serve --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/system-deps

# the gates: ruff and mypy --strict (configured in pyproject.toml), before any test
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m mypy

test: test-main test-pyannote

test-main: lint setup system-deps
	$(VENV)/bin/python -m pytest -q --ignore=tests/pyannote

pyannote-venv:
	bash scripts/pyannote-venv

# the pyannote.audio adapter, in its own venv (see scripts/pyannote-venv)
test-pyannote: pyannote-venv
	PYTHONPATH=. .venv-pyannote/bin/python -m pytest -q tests/pyannote -m "pyannote and not gpu"

bench: setup
	$(PIP) install -q --disable-pip-version-check -e '.[test,bench]'
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) .venv-pyannote data .pytest_cache
