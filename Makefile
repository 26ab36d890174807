# The two commands of the Quick start: `make run` and `make test`.
# `make run HOST=0.0.0.0` serves the local network (a phone on the same Wi-Fi can try it).
HOST ?= 127.0.0.1
PORT ?= 5000
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --no-input
MO := portal/translations/zh_Hans_CN/LC_MESSAGES/messages.mo
PO := portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po
# Runs a command quietly: its output is shown only when it fails.
QUIET = sh -c 'out=$$("$$@" 2>&1) || { status=$$?; printf "%s\n" "$$out"; exit $$status; }' quiet

.PHONY: run test install install-dev translations extract-messages lint bench clean

$(PY):
	@echo "==> Creating the virtual environment $(VENV)"
	@$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	@echo "==> Installing the portal and its libraries into $(VENV) (the first time takes a few minutes)"
	@$(PIP) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	@echo "==> Installing the test tools into $(VENV)"
	@$(PIP) -e '.[dev]'
	@touch $@

install: $(VENV)/.installed $(MO)
install-dev: $(VENV)/.installed-dev $(MO)

# The catalogues are compiled at install time; only the .po files are committed.
$(MO): $(PO) | $(VENV)/.installed
	@echo "==> Compiling the translations"
	@$(QUIET) $(VENV)/bin/pybabel compile --use-fuzzy -d portal/translations
translations: $(MO)

extract-messages: | $(VENV)/.installed
	$(VENV)/bin/pybabel extract --ignore-dirs '.* venv' -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -o messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -i messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete
	rm messages.pot

run: install
	@echo "==> Checking this machine"
	@$(FLASK) doctor
	@echo "==> Creating or upgrading the database"
	@$(QUIET) $(FLASK) db upgrade
	@echo "==> Loading the demo estate (once; the first time takes about half a minute)"
	@$(FLASK) demo
	@if [ "$(HOST)" = "0.0.0.0" ]; then \
	  ip=$$(hostname -I 2>/dev/null | cut -d' ' -f1); \
	  echo "==> Serving the local network: on a phone on the same network open http://$${ip:-this-machine's-address}:$(PORT)"; \
	else \
	  echo "==> Serving http://$(HOST):$(PORT) (Ctrl-C stops it; make run HOST=0.0.0.0 serves the local network)"; \
	fi
	@$(FLASK) run --host $(HOST) --port $(PORT)

test: install-dev
	$(VENV)/bin/pytest

lint: install-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) instance test-output .pytest_cache
