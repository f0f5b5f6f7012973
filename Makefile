# The two things anyone does on a fresh machine. `.ci/run` runs `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install system-deps

$(BIN)/sheetcrm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/sheetcrm

# Exit 1 from validate or overdue means "look at this" (errors found, complaints
# breached), not a failed step: say so and go on. Exit 2 or 3 still stops the demo.
# $(call findings,COMMAND ARGS,what exit 1 means)
findings = @echo '$(BIN)/sheetcrm $(1)'; $(BIN)/sheetcrm $(1); rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "$(firstword $(1)): $(2) (exit 1)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

DEMO_BOOK := -w sample_workbook.xlsx --as-of "2026-11-20 15:00"

# The main job on the bundled sample workbook: the weekly report, written to reports/.
demo: install
	$(call findings,validate $(DEMO_BOOK),errors found)
	$(BIN)/sheetcrm report $(DEMO_BOOK)
	$(call findings,overdue $(DEMO_BOOK),breaches found)
	$(BIN)/sheetcrm followups $(DEMO_BOOK)

# Real clients the tests drive: LibreOffice (opens what we write), Chromium (renders
# the report), poppler (reads their PDFs) and Dovecot (the IMAP server `inbox` reads).
system-deps:
	@command -v soffice >/dev/null && command -v pdftoppm >/dev/null && \
	  command -v chromium >/dev/null && command -v setfacl >/dev/null && \
	  { command -v dovecot >/dev/null || test -x /usr/sbin/dovecot; } && \
	  /usr/bin/python3 -c "import uno" 2>/dev/null || { \
	  echo "installing LibreOffice (with python3-uno), Chromium, poppler-utils, acl and Dovecot (needed by the tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    libreoffice-calc libreoffice-writer python3-uno chromium poppler-utils acl \
	    dovecot-imapd >/dev/null; }

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest
