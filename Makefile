# partnercredit: `make run` to try it, `make test` to check it.
VENV ?= .venv
PY := $(VENV)/bin/python
CELERY := $(VENV)/bin/celery
HOST ?= 127.0.0.1:8000
MO := locale/it/LC_MESSAGES/django.mo

.PHONY: run test lint check install install-test lock worker bench clean

## The exact versions of requirements.lock (what CI tested), then the project itself.
## `pip check` fails when pyproject.toml needs something the lock lacks: run `make lock`.
$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	$(VENV)/bin/pip check
	touch $@

## The lock holds the test tools too, so this adds only what the browser tests need.
$(VENV)/.installed-test: $(VENV)/.installed
	@# Browser tests drive Debian's chromium; install it when we may (root) and it is missing.
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null; fi
	touch $@

## The Italian catalogue, compiled (the .mo is git-ignored). compilemessages needs GNU gettext's
## msgfmt: install Debian's when we may (root) and it is missing.
$(MO): locale/it/LC_MESSAGES/django.po $(VENV)/.installed
	@if ! command -v msgfmt >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext) >/dev/null; fi
	$(PY) manage.py compilemessages -v0 --ignore=var --ignore=.venv

install: $(VENV)/.installed $(MO)
install-test: $(VENV)/.installed-test $(MO)

## Set up, load the demo world and serve it with a Celery worker and beat.
run: install
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo
	@# The e-mails due today (the demo partner admins' weekly digest), printed by the console backend.
	$(PY) manage.py send_notifications
	@bash -c 'trap "kill 0" EXIT; \
		$(CELERY) -A partnercredit worker --beat --loglevel=info --concurrency=2 & \
		$(PY) manage.py runserver $(HOST)'

## Install the test dependencies and run the whole suite.
test: install-test
	$(VENV)/bin/pytest

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The formatter's layout is the layout: no `# fmt: skip` / `# fmt: off` (issue 17.5).
	@! git grep -n -E '#[[:space:]]*fmt:[[:space:]]*(skip|off)' -- '*.py'
	$(VENV)/bin/mypy

check: install
	$(PY) manage.py makemigrations --check --dry-run

worker: install
	$(CELERY) -A partnercredit worker --beat --loglevel=info

bench: install-test
	$(PY) manage.py bench

## Pin the dependencies of pyproject.toml (the app and its test extra) into requirements.lock:
## pins still allowed are kept, new or changed requirements resolved. To move on to the newest
## releases: `make lock LOCK_ARGS=--upgrade` (or `LOCK_ARGS="--upgrade-package django"`).
## pip-tools runs in a venv of its own under var/, so it never lands in the project's.
LOCK_ARGS ?=
lock:
	python3 -m venv var/pip-tools
	var/pip-tools/bin/pip install -q pip-tools==7.6.2
	CUSTOM_COMPILE_COMMAND="make lock" var/pip-tools/bin/pip-compile --quiet --extra test --strip-extras --no-emit-index-url \
		--no-emit-find-links $(LOCK_ARGS) --output-file requirements.lock pyproject.toml

clean:
	rm -rf var/ $(VENV)
