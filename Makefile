# The two commands of the Quick start: `make run` and `make test`.
PORT ?= 5000
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
MO := portal/translations/zh_Hans_CN/LC_MESSAGES/messages.mo
PO := portal/translations/zh_Hans_CN/LC_MESSAGES/messages.po

.PHONY: run test install install-dev translations extract-messages lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed $(MO)
install-dev: $(VENV)/.installed-dev $(MO)

# The catalogues are compiled at install time; only the .po files are committed.
$(MO): $(PO) | $(VENV)/.installed
	$(VENV)/bin/pybabel compile --use-fuzzy -d portal/translations
translations: $(MO)

extract-messages: | $(VENV)/.installed
	$(VENV)/bin/pybabel extract --ignore-dirs '.* venv' -F babel.cfg -k _l -k lazy_gettext -o messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -i messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete
	rm messages.pot

run: install
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-dev
	$(VENV)/bin/pytest

lint: install-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) instance test-output .pytest_cache
