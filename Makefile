# partnercredit: `make run` to try it, `make test` to check it.
VENV ?= .venv
PY := $(VENV)/bin/python
CELERY := $(VENV)/bin/celery
HOST ?= 127.0.0.1:8000
MO := locale/it/LC_MESSAGES/django.mo

.PHONY: run test lint check install install-test worker bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(VENV)/bin/pip install -q -e '.[test]'
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

check: install
	$(PY) manage.py makemigrations --check --dry-run

worker: install
	$(CELERY) -A partnercredit worker --beat --loglevel=info

bench: install-test
	$(PY) manage.py bench

clean:
	rm -rf var/ $(VENV)
