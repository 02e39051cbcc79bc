# The two commands a newcomer runs: `make demo` and `make test`. Each builds .venv from nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU wheel of torch first, so the project's own torch range is already met.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	# Debian's chromium for the dashboard's browser test (needs apt-get and root; else skipped).
	command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
	  && (apt-get update -qq && apt-get install -y -qq chromium) \
	  || echo "chromium not installed (no apt-get or not root): the browser test will skip"; }
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hybridrisk validate --family volatility --dataset sp500 --out reports/sp500

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) benchmarks/lnn_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
