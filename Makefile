# Two commands on a fresh machine: `make run` and `make test`. Both create or reuse
# the virtual environment in .venv, so nothing else needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BABEL := $(VENV)/bin/pybabel
LANGS := es en pt fr

.PHONY: run test lint i18n diagram chat bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: $(VENV)/.installed
	$(PY) -m bot run

chat: $(VENV)/.installed
	$(PY) -m bot chat

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Refresh the template and the four catalogs after editing flow text or Python strings.
# Changed strings come back fuzzy: the tests fail until a translator reviews them.
i18n: $(VENV)/.installed
	$(BABEL) -q extract -F babel.cfg --no-location --sort-output --add-comments=TRANSLATORS: \
		--no-wrap --project=bot -o locales/messages.pot .
	for lang in $(LANGS); do \
		if [ -f locales/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BABEL) -q update -i locales/messages.pot -d locales -D messages -l $$lang --no-wrap --ignore-obsolete; \
		else \
			$(BABEL) -q init -i locales/messages.pot -d locales -D messages -l $$lang --no-wrap; \
		fi; \
	done
	$(PY) -m bot.engine.catalog_tools fill-source locales/es/LC_MESSAGES/messages.po

# Regenerate the flow diagram in flows/DIAGRAM.md and README.md (a test checks both).
diagram: $(VENV)/.installed
	$(PY) -m bot.engine.diagram

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Benchmarks print ratios against a baseline measured in the same run (no thresholds).
bench: $(VENV)/.installed
	$(PY) -m benchmarks.bench_search
