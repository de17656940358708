#!/usr/bin/env bash
# `make test`: lint, migration and deploy checks, then the whole pytest suite (`make test-fast`: FAST_LANE=1).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
# Bytecode caches on, whatever the environment says: with PYTHONDONTWRITEBYTECODE every process of the run (each
# pytest worker, the sandboxes it starts, the checks below) compiles every module it imports from source again,
# and pytest rewrites the asserts of every test module again: about 12 s of CPU per pytest process, each run.
unset PYTHONDONTWRITEBYTECODE

echo "== ruff"
$BIN/ruff check .

if [ -n "${FAST_LANE:-}" ]; then
  # make test-fast: tests/tools/test_migrations.py runs the same check in the suite.
  echo "== migrations are up to date: checked by tests/tools/test_migrations.py"
else
  echo "== migrations are up to date"
  DEBUG=true $BIN/python manage.py makemigrations --check --dry-run
fi

echo "== deploy check (production settings)"
DEBUG=false SECRET_KEY="deploy-check-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" \
  MIGRATOR_ENCRYPTION_KEY="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')" ALLOWED_HOSTS=migrator.example.com \
  MIGRATOR_RECEIPT_KEY="receipt-$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')" \
  MIGRATOR_DATA_DIR="$(mktemp -d)" $BIN/python manage.py check --deploy --fail-level WARNING

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium: browser tests will be skipped"
fi

echo "== pytest"
set +e
$BIN/pytest "$@"
code=$?
set -e
# pytest exits 5 when it collected nothing; that must not pass silently.
if [ $code -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
exit $code
