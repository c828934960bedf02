# Two commands matter: `make sandbox` (the demo on embedded defaults) and `make test` (everything).
# Both create .venv and install what they need; torch is pinned by constraints.txt to the local CPU wheel.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PO      := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO      := $(PO:.po=.mo)
CODE    := core gpu ml bot sandbox

.PHONY: test sandbox lint typecheck pytest services locales bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel -q compile -i $< -o $@

locales: $(MO)

services:
	@scripts/ensure_services.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy $(CODE)

pytest: $(STAMP) locales services
	$(VENV)/bin/pytest -n 2 --dist loadfile -q -rs

test: lint typecheck pytest

sandbox: $(STAMP) locales
	$(PY) run_bot.py sandbox

bench: $(STAMP)
	$(PY) bench/indicators.py --quick
	$(PY) bench/backtest.py --quick
	$(PY) bench/ml.py
	$(PY) bench/cycle.py --users 100,1000

clean:
	rm -rf $(VENV) var/sandbox .mypy_cache .ruff_cache .pytest_cache
