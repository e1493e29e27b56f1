# 便民服务前台 — `make demo` to try it, `make test` to check it. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080

.PHONY: demo test install system-deps bench check-kb clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's packages the tests use, installed only when missing: Chromium and CJK fonts for the
# browser tests, PostgreSQL's and Redis's servers for the throw-away instances of the store tests.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || missing="$$missing fonts-noto-cjk"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(STAMP)
	$(BIN)/frontdesk demo --port $(PORT)

test: $(STAMP) system-deps
	$(BIN)/frontdesk check-kb knowledge
	FRONTDESK_REQUIRE_POSTGRES=1 FRONTDESK_REQUIRE_REDIS=1 $(BIN)/python -m pytest -q

# docs/dashboard.png and docs/reports.png, from a demo with its month of work (README's tour)
screenshots: $(STAMP) system-deps
	$(BIN)/python docs/screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/load.py

check-kb: $(STAMP)
	$(BIN)/frontdesk check-kb knowledge

clean:
	rm -rf $(VENV) data .pytest_cache
