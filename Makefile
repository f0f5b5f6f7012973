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

# The main job on the bundled sample workbook: the weekly report, written to reports/.
demo: install
	$(BIN)/sheetcrm validate -w sample_workbook.xlsx --as-of "2026-11-20 15:00"
	$(BIN)/sheetcrm report -w sample_workbook.xlsx --as-of "2026-11-20 15:00"
	-$(BIN)/sheetcrm overdue -w sample_workbook.xlsx --as-of "2026-11-20 15:00"
	$(BIN)/sheetcrm followups -w sample_workbook.xlsx --as-of "2026-11-20 15:00"

# Real clients the tests drive: LibreOffice (opens what we write), Chromium (renders
# the report) and poppler (reads their PDFs).
system-deps:
	@command -v soffice >/dev/null && command -v pdftoppm >/dev/null && \
	  command -v chromium >/dev/null && command -v setfacl >/dev/null && \
	  /usr/bin/python3 -c "import uno" 2>/dev/null || { \
	  echo "installing LibreOffice (with python3-uno), Chromium, poppler-utils and acl (needed by the tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    libreoffice-calc libreoffice-writer python3-uno chromium poppler-utils acl >/dev/null; }

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest
