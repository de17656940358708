#!/usr/bin/env bash
# `make run`: migrate, seed the demo, start the sandbox, a Celery worker and the web server. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-8765}
export DEBUG=${DEBUG:-true}
export SANDBOX_URL=${SANDBOX_URL:-http://127.0.0.1:${SANDBOX_PORT}/v1}
LOGS=${MIGRATOR_DATA_DIR:-var}
mkdir -p "$LOGS"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT" "$SANDBOX_PORT"; do
  if port_busy "$p"; then echo "Port $p is already in use; stop what uses it or set PORT=/SANDBOX_PORT=." >&2; exit 1; fi
done

# Web and worker must use the same broker: decide once, here.
if [ -z "${MIGRATOR_BROKER:-}" ]; then
  if $PY -c "from migrator.celery import redis_answers; import os, sys; sys.exit(0 if redis_answers(os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0')) else 1)"; then
    export MIGRATOR_BROKER=redis
  else
    export MIGRATOR_BROKER=filesystem
  fi
fi
echo "Task broker: $MIGRATOR_BROKER"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

$PY manage.py migrate --noinput

$PY manage.py sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" --seed demo > "$LOGS/sandbox.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  if $PY -c "import urllib.request,sys; urllib.request.urlopen(urllib.request.Request('$SANDBOX_URL/models', headers={'Authorization': 'Bearer sk-sandbox'}), timeout=1)" 2>/dev/null; then break; fi
  sleep 0.3
done
echo "Sandbox: $SANDBOX_URL (log: $LOGS/sandbox.log)"

$PY manage.py seed_demo --sandbox-url "$SANDBOX_URL"

# The queue is unique to this installation (derived from its database unless CELERY_QUEUE is set), so two
# `make run`s sharing one Redis never take each other's jobs. Web and worker derive the same name.
QUEUE=$($PY manage.py job_queue)
echo "Job queue: $($PY manage.py job_queue --explain)"
# Supervised: a worker that exits (it lost Redis or the database, or was killed) is started again, instead of
# `make run` stopping everything; Ctrl-C still stops it with the rest.
supervise_worker() {
  local child="" code
  trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' INT TERM
  while true; do
    .venv/bin/celery -A migrator worker -l INFO -c 2 -Q "$QUEUE" -n "$QUEUE@%h" >> "$LOGS/worker.log" 2>&1 &
    child=$!
    code=0
    wait "$child" || code=$?  # (set -e must not end the supervisor when the worker fails)
    echo "$(date '+%H:%M:%S') the Celery worker exited ($code); starting it again in 2 s (log: $LOGS/worker.log)" >&2
    sleep 2
  done
}
: > "$LOGS/worker.log"
supervise_worker &
pids+=($!)
echo "Celery worker started on queue $QUEUE (log: $LOGS/worker.log)"
# Beat sends the daily model catalogue sync and autopilot run (migrator.celery's beat_schedule) to that queue.
.venv/bin/celery -A migrator beat -l INFO -s "${MIGRATOR_DATA_DIR:-var}/celerybeat-schedule" > "$LOGS/beat.log" 2>&1 &
pids+=($!)

echo
echo "  migrator is running at http://$HOST:$PORT/  — log in with the demo accounts above. Ctrl-C stops everything."
echo
$PY manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}" || true
