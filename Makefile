# Two commands: `make run` (serve the demo on SQLite) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run PORT=8100`: every link the site makes (demo printout, wallet buttons, e-mails, pass.json)
# follows HOST and PORT, unless SITE_URL is set in the environment, on make's command line or in .env.
SITE_URL_IN_ENV_FILE := $(shell test -f .env && grep -Eq '^[[:space:]]*(export[[:space:]]+)?SITE_URL=' .env && echo yes)
ifeq ($(origin SITE_URL)$(SITE_URL_IN_ENV_FILE),undefined)
RUN_ENV := SITE_URL=http://$(HOST):$(PORT)
endif

.PHONY: run test bench venv deps dev-deps translations messages migrate demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.deps: requirements.txt | $(PY)
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt $(VENV)/.deps
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

deps: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps

# The compiled .mo files are committed, so a machine without gettext works as is;
# where msgfmt exists they are rebuilt from the .po catalogs.
translations: deps
	@if command -v msgfmt >/dev/null 2>&1; then $(PY) manage.py compilemessages --ignore=.venv -v0; \
	else echo "msgfmt not found: using the committed .mo files"; fi

# Refresh the catalogs from the code (needs gettext): new strings arrive empty or fuzzy
# in fr/de/lb (tests/test_translations.py fails until they are translated);
# English is the source language: locale/fill_english.py copies each msgid into
# its msgstr (in every locale/ directory, app catalogs such as wallet/google/locale too).
messages: dev-deps
	$(PY) manage.py makemessages -l en -l fr -l de -l lb --ignore=.venv --ignore=tests --ignore=var --no-obsolete --no-wrap
	$(PY) locale/fill_english.py
	$(PY) manage.py compilemessages --ignore=.venv -v0

migrate: deps
	$(PY) manage.py migrate --noinput -v0

demo: migrate
	$(PY) manage.py wallet_dev_certs
	$(RUN_ENV) $(PY) manage.py loyalty_demo

run: translations demo
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

test: dev-deps translations
	$(PY) -m tests.run

# Issue #10's benchmark (not part of `make test`): PostgreSQL at BENCH_DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/loyalty_bench, dropped and made again), gunicorn with
# 2 workers on 127.0.0.1:8765, about 3 minutes. Results: bench/results/latest.json and .md.
# BENCH_ARGS="--quick" for a smoke run; see `python -m bench.run --help`.
bench: dev-deps
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
