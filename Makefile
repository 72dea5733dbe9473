# Two commands on a fresh machine: `make run` and `make test`. Both create or reuse
# the virtual environment in .venv, so nothing else needs installing by hand.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BABEL := $(VENV)/bin/pybabel
LANGS := es en pt fr

.PHONY: run test test-services lint i18n diagram chat bench chaos clean lemmas model

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: $(VENV)/.installed
	$(PY) -m bot run

chat: $(VENV)/.installed
	$(PY) -m bot chat

# The suite needs a real Redis and Debian's chromium: `make test` starts a local Redis
# when none answers on 127.0.0.1:6379 and installs chromium when it is missing, and
# fails (never skips) when it cannot. The Redis tests use database 15 (TEST_REDIS_URL).
test: $(VENV)/.installed test-services
	$(PY) -m ruff check .
	REQUIRE_REDIS=1 $(PY) -m pytest

REDIS_PING = $(PY) -c "import redis; redis.Redis(host='127.0.0.1', port=6379, socket_connect_timeout=1).ping()" 2>/dev/null

test-services: $(VENV)/.installed
	@if ! $(REDIS_PING); then \
		command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; } || { echo "make test: cannot install redis-server" >&2; exit 1; }; \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --appendonly yes --dir /tmp >/dev/null; \
		for i in 1 2 3 4 5 6 7 8 9 10; do $(REDIS_PING) && break; sleep 0.5; done; \
		$(REDIS_PING) || { echo "make test: Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }; \
	fi
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || { echo "make test: cannot install chromium" >&2; exit 1; }

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
	$(PY) -m bot.engine.langguess_tools

# Regenerate the flow diagram in flows/DIAGRAM.md and README.md (a test checks both).
diagram: $(VENV)/.installed
	$(PY) -m bot.engine.diagram

# Expand the risk lexicon's ~lemma entries into their word forms (a test checks them).
lemmas: $(VENV)/.installed
	$(PY) -m bot.risk.lemma_tools

# Train the risk detector's second opinion on the labelled corpus (a test checks that
# bot/risk/learned/weights.json.gz was trained on the corpus as it is now), and count the
# language guesser's letter groups (also after `make i18n`: the catalogues teach it).
model: $(VENV)/.installed
	$(PY) -m bot.risk.model_tools train
	$(PY) -m bot.engine.langguess_tools

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Benchmarks print ratios against baselines measured in the same run, a table with the
# agreed goals, and one JSON object as the last line (benchmarks/__main__.py). Needs Redis.
bench: $(VENV)/.installed test-services
	$(PY) -m benchmarks

# The delivery guarantees under real faults, both configurations; the last line is JSON
# and the exit status is non-zero on any broken guarantee. `make test` runs --short.
chaos: $(VENV)/.installed test-services
	$(PY) -m benchmarks.chaos
