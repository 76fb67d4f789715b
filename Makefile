# Koepon: `make run` serves the embedded platform with demo data; `make test` runs every test.
SHELL := /bin/bash
PY ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup bytecode web-assets run test test-fast lint bench services browser media clean

.tools/bin/uv:
	$(PY) -m venv .tools && .tools/bin/pip install --quiet uv

# Bytecode is compiled here because this machine's environment sets PYTHONDONTWRITEBYTECODE:
# without .pyc files every Python process (the tests start hundreds) compiles each module it
# imports again, ~10 s of CPU for `import koepon.app` against ~3 s from bytecode.
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --quiet --compile-bytecode
	touch $@

setup: .venv/.synced web-assets bytecode

# Our own modules, recompiled when they change (compileall skips what is up to date).
bytecode: .venv/.synced
	.venv/bin/python -m compileall -q -j 0 src tests bench > /dev/null

# The web app's stylesheet and vendored scripts from package-lock.json (docs/WEB.md, "Assets");
# the script itself skips whatever is up to date, so this stays phony.
web-assets:
	bash scripts/build-web-assets

run: setup media
	.venv/bin/koepon serve --seed --host $(HOST) --port $(PORT)

# PostgreSQL, Redis, RabbitMQ, a hot standby of that PostgreSQL on :5433
# (tests/kernel/test_read_replica.py), and Debian's nginx (tests/deploy/test_nginx_edge.py).
services:
	bash scripts/ensure-services
	bash scripts/ensure-pg-replica
	bash scripts/sweep-test-queues
	bash scripts/ensure-nginx

browser:
	bash scripts/ensure-chromium

# ffmpeg from Debian: audio excerpts and video frames of uploaded contents.
media:
	bash scripts/ensure-ffmpeg

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/lint-imports
	.venv/bin/mypy src

test: setup services browser media lint
	@# One test process: with two (`-n 2 --dist loadgroup`, ready in tests/worker_share.py) a
	@# machine at half its usual speed overloaded both and timing tests failed (docs/DEVELOPING.md).
	.venv/bin/pytest -q -p no:cacheprovider --durations=25 $(PYTEST_ARGS)
	@# The operator commands on a freshly seeded embedded platform: the ledger audit must pass.
	rm -rf .test-data
	KOEPON_DATA_DIR=.test-data .venv/bin/koepon seed
	KOEPON_DATA_DIR=.test-data .venv/bin/koepon audit ledger
	rm -rf .test-data

test-fast: setup
	KOEPON_TEST_BACKENDS=embedded .venv/bin/pytest -q -x -m "not browser"

# Every benchmark (ledger, http, draws), or some: `make bench BENCH=http`.
bench: setup services
	.venv/bin/python -m bench $(BENCH)

clean:
	rm -rf .venv .tools data .pytest_cache
