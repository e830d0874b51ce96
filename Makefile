# Escalation Desk: `make run` serves the app, `make test` runs every test.
# Both set up what they need on a fresh machine (Python 3.11, git, make, root).

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
STAMP  := $(VENV)/.installed
# Debian's Noto fonts, which the PDF exports print in (core/report/pdf_fonts.py names each file's package).
FONT_PACKAGES := fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji

.PHONY: run test test-fast lint bench setup init fonts browser-deps postgres clean help

help:
	@echo "make run    - set up, migrate, seed demo data, create first admin, serve on http://127.0.0.1:$(PORT)"
	@echo "make test   - set up test tools (Debian chromium, PostgreSQL when none answers) and run the whole suite"
	@echo "make test-fast - rules and core on SQLite, without the tests marked slow (day-to-day, under a minute)"
	@echo "make lint   - ruff, mypy and import-linter (CI runs it before the tests)"
	@echo "make fonts  - install Debian's Noto fonts the PDF exports print in (run and test do it)"
	@echo "make bench  - build realistic datasets and time every page, writes and the scheduler (SIZES=10000,100000;"
	@echo "              BENCH_ARGS='--engines sqlite --runs 3 --sections pages,writes,fresh,alerts')"

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found). Set PYTHON=/path/to/python3.11"; exit 1; }
	@echo "Creating the virtual environment $(VENV)..."
	@$(PYTHON) -m venv $(VENV)

# pip's output goes to a log, shown only when it fails: the set-up must not bury the closing block.
$(STAMP): $(VENV)/bin/python requirements.txt requirements-dev.txt
	@echo "Installing the Python packages (a few minutes the first time; log: $(VENV)/install.log)..."
	@{ $(PY) -m pip install --disable-pip-version-check --progress-bar off --upgrade pip \
	   && $(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt; } \
		>$(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; echo; echo "pip install failed: the whole log is $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

setup: $(STAMP)

init: setup
	@$(PY) -m core init

# init ends with the framed block (address, first admin, demo logins); the server then prints only
# warnings and errors, so that block stays the last thing on the screen.
run: fonts setup
	@$(PY) -m core init --url http://127.0.0.1:$(PORT)
	@$(PY) -m streamlit run server.py --server.address=127.0.0.1 --server.port=$(PORT) \
		--server.headless=true --browser.gatherUsageStats=false \
		--logger.hideWelcomeMessage=true --logger.level=warning

fonts:
	@dpkg -s $(FONT_PACKAGES) >/dev/null 2>&1 || { \
		echo "Installing the fonts PDF exports print in ($(FONT_PACKAGES))..."; \
		log=$$(mktemp); \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(FONT_PACKAGES); } >$$log 2>&1 \
		|| { tail -n 20 $$log; echo; \
		     echo "Could not install $(FONT_PACKAGES) with apt-get (run make as root on Debian or Ubuntu)."; \
		     echo "Without them PDF exports print emoji, Japanese, Chinese and Korean text as '?'."; \
		     exit 1; }; \
		rm -f $$log; }

browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian chromium for the browser tests..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; }

postgres:
	@bash scripts/ensure_postgres.sh

test: setup fonts browser-deps postgres
	$(PY) -m pytest

test-fast: setup fonts
	$(PY) -m pytest tests/core -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: setup postgres
	$(PY) scripts/bench.py $(if $(SIZES),--sizes $(SIZES)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
